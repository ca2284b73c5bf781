/**
 * Sending TLS-RPT reports (RFC 8460 §5.3): once a UTC day is over, each
 * policy domain that was recorded (tls_report.ts) and publishes
 * `_smtp._tls.DOMAIN` TXT with rua=mailto: addresses gets one aggregate
 * report for the day, a multipart/report (report-type "tlsrpt") with the
 * JSON gzipped as application/tlsrpt+gzip, queued as an ordinary message
 * from the null sender (no bounce loops) for the send role to deliver. A day
 * whose lookups failed temporarily is kept and tried again at the next round;
 * a domain without a usable record gets no report. Only with
 * control/tlsrpt set; the counts are kept either way.
 */
import { gzipSync } from "node:zlib";
import { formatDate822 } from "../date822.ts";
import { stringToBytes } from "../bytes.ts";
import { injectMessage } from "../queue/qmail_queue.ts";
import type { RemoteContext } from "./remote_context.ts";
import {
  domainsOf,
  formatTlsReport,
  parseTlsRptRecord,
  policiesOf,
  reportDay,
} from "./tls_report.ts";

/** How often the remote role looks for a finished day (the report goes within the hour). */
export const TLS_REPORT_CHECK_MS = 60 * 60 * 1000;

/** What one round did. */
export interface ReportRound {
  queued: { domain: string; day: string; recipients: string[]; id: bigint }[];
  /** Days kept for the next round (a lookup failed temporarily). */
  kept: string[];
}

/** Queues the reports of every finished day; the test hook passes a later `now`. */
export async function sendDueTlsReports(ctx: RemoteContext, now: number): Promise<ReportRound> {
  const round: ReportRound = { queued: [], kept: [] };
  const book = ctx.security?.tlsReports;
  if (book === undefined || ctx.security?.sendTlsReports !== true) return round;
  const me = ctx.controls.helohost ?? "localhost";
  for (const day of book.daysBefore(reportDay(now))) {
    const counts = book.counts(day);
    let temporary = false;
    for (const domain of domainsOf(counts)) {
      const txt = await ctx.resolver.records(`_smtp._tls.${domain}`, "TXT");
      if (!txt.ok) {
        temporary ||= txt.temporary;
        continue;
      }
      const recipients = parseTlsRptRecord(txt.value.records);
      if (recipients.length === 0) continue;
      const reportId = `${day}.${domain}@${me}`;
      const json = formatTlsReport({
        organization: me,
        contact: `postmaster@${me}`,
        reportId,
        day,
        policies: policiesOf(counts, domain),
      });
      const message = formatReportMessage({ me, domain, day, reportId, json, recipients, now });
      const queued = await injectMessage(
        ctx.layout,
        stringToBytes(message),
        new Uint8Array(0),
        recipients.map((address) => stringToBytes(address)),
        { who: "for TLS report" },
      );
      round.queued.push({ domain, day, recipients, id: queued.id });
    }
    if (temporary) round.kept.push(day);
    else await book.forget(day);
  }
  return round;
}

/** The report mail (§5.3), LF line ends as the queue keeps them. */
export function formatReportMessage(options: {
  me: string;
  domain: string;
  day: string;
  reportId: string;
  json: string;
  recipients: string[];
  now: number;
}): string {
  const start = Date.parse(`${options.day}T00:00:00Z`) / 1000;
  const end = start + 86400 - 1;
  const filename = `${options.me}!${options.domain}!${start}!${end}.json.gz`;
  const boundary = `tlsrpt-${start}-${options.domain.replace(/[^a-z0-9]/gi, "")}`;
  const gzipped = gzipSync(new TextEncoder().encode(options.json));
  let binary = "";
  for (const byte of gzipped) binary += String.fromCharCode(byte);
  const base64 = btoa(binary).replace(/.{1,76}/g, "$&\n");
  return [
    `From: TLS reporting <postmaster@${options.me}>`,
    `To: ${options.recipients.join(", ")}`,
    `Subject: Report Domain: ${options.domain} Submitter: ${options.me} Report-ID: <${options.reportId}>`,
    `Date: ${formatDate822(new Date(options.now))}`,
    `Message-ID: <${options.reportId}>`,
    `TLS-Report-Domain: ${options.domain}`,
    `TLS-Report-Submitter: ${options.me}`,
    "MIME-Version: 1.0",
    `Content-Type: multipart/report; report-type="tlsrpt"; boundary="${boundary}"`,
    "",
    `--${boundary}`,
    "Content-Type: text/plain; charset=us-ascii",
    "",
    `The TLS report (RFC 8460) of ${options.me} for ${options.domain} on ${options.day}.`,
    "",
    `--${boundary}`,
    "Content-Type: application/tlsrpt+gzip",
    "Content-Transfer-Encoding: base64",
    `Content-Disposition: attachment; filename="${filename}"`,
    "",
    base64.trimEnd(),
    `--${boundary}--`,
    "",
  ].join("\n");
}
