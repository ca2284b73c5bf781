/**
 * qmail-remote as I/O (docs/queue-format.md §5.8), one recipient per job as
 * qmail-rspawn runs it: the route (config/remote.ts: smtproutes, smtprelays,
 * qmtproutes) with the default smtproutes relay as the fallback, the
 * addresses to try (mx_choice.ts), the tcpto table (tcpto_table.ts), an
 * attempt on each address in turn (smtp_attempt.ts, qmtp_attempt.ts; with
 * control/qmtpc QMTP first on each MX address, SMTP when port 209 does not
 * answer) and the report as qmail-rspawn makes it (§5.7). The other texts come from
 * appliance/send/remote_report.ts (REMOTE_TEXTS, formatRemoteReport).
 *
 * An address that greets with 4xx/5xx (docs/patches.md seed 002) passes the message to the
 * next one; when every one did, the result is the patch's "Sorry, I wasn't able to establish
 * an SMTP connection", a temporary failure, with the last greeting after it.
 */
import { findRoute, type RemoteControls, type Route } from "../../config/remote.ts";
import { byteStringText } from "../bytes.ts";
import { dnsName } from "../dns/idna.ts";
import type { DeliveryJob, DeliveryReport } from "../ipc.ts";
import { formatRemoteReport, REMOTE_TEXTS, type RemoteRecord } from "../send/remote_report.ts";
import type { OutgoingMessage, TargetResult } from "./attempt.ts";
import { withDkimSignature } from "./dkim_sign.ts";
import { envelopeSender } from "./envelope_sender.ts";
import { measureMessage } from "./message_measure.ts";
import { type MessageSource, openMessageSource } from "./message_source.ts";
import { findTargets, type Target } from "./mx_choice.ts";
import { qmtpFirstRoute, tryQmtpTarget } from "./qmtp_attempt.ts";
import type { RemoteContext } from "./remote_context.ts";
import { trySmtpTarget } from "./smtp_attempt.ts";
import { allSkippedText, securityFor, type TargetTls, targetTls } from "./target_tls.ts";
import { recordSkipped, recordTlsSession } from "./tls_session_report.ts";

/**
 * One remote delivery (one recipient, as qmail-rspawn runs qmail-remote):
 * the report qmail-rspawn would send to qmail-send.
 */
export async function deliverRemote(job: DeliveryJob, ctx: RemoteContext): Promise<DeliveryReport> {
  const records = await deliverRecords(job, ctx);
  const { status, text } = formatRemoteReport(records);
  return { delivery: job.delivery, status, text };
}

/**
 * Where one qmail-remote run delivers (qmail-remote(8): `host sender recip [recip ...]`): `host`
 * chooses the route and the MX, the recipients go in one envelope, in order.
 */
export interface RemoteTargets {
  host: string;
  recipients: string[];
}

/** A queued job's targets: its one recipient, at its domain (as qmail-rspawn calls it). */
function jobTargets(job: DeliveryJob): RemoteTargets {
  const at = job.recipient.lastIndexOf("@");
  return { host: at >= 0 ? job.recipient.slice(at + 1) : "", recipients: [job.recipient] };
}

/**
 * The qmail-remote records (r/h/s per recipient, then K/Z/D) for one job.
 * The message is the job's mess/NN/ID, or the file at `messagePath` when it
 * is not in the queue (`qmd remote` reads it from stdin, and gives its
 * host and recipients as `targets`).
 */
export async function deliverRecords(
  job: DeliveryJob,
  ctx: RemoteContext,
  messagePath = ctx.layout.messFromName(job.mess),
  targets: RemoteTargets = jobTargets(job),
): Promise<RemoteRecord[]> {
  const domain = targets.host;
  const helo = ctx.controls.helohost;
  if (helo === null) return [REMOTE_TEXTS.noControls];
  // Control files are UTF-8 text: a UTF-8 domain or sender is looked up as the same text.
  const route = findRoute(ctx.controls, byteStringText(domain), byteStringText(job.sender));
  const first = await deliverByRoute(job, messagePath, targets, route, helo, ctx);
  // The fallback (docs/patches.md seed 001): the default smtproutes entry ":relay" takes the
  // message when a more specific route could not be reached, and with
  // straightfallback also after a temporary failure that no recipient got past
  // (a message some recipient took is not sent again).
  const fallback = fallbackRoute(ctx.controls, route);
  if (fallback === undefined) return first.records;
  const temporary = formatRemoteReport(first.records).status === "Z" &&
    !first.records.some((record) => record.kind === "K");
  if (first.unreached || (temporary && ctx.controls.straightFallback)) {
    return (await deliverByRoute(job, messagePath, targets, fallback, helo, ctx)).records;
  }
  return first.records;
}

/** smtproutes' default entry as a route, unless it is the route already taken. */
function fallbackRoute(controls: RemoteControls, taken: Route): Route | undefined {
  const entry = controls.smtproutes.find((candidate) => candidate.key === "");
  if (entry === undefined || entry.relay === "") return undefined;
  if (taken.relay === entry.relay && taken.port === entry.port) return undefined;
  return {
    kind: "smtp",
    relay: entry.relay,
    port: entry.port,
    ...(entry.auth ? { auth: entry.auth } : {}),
    source: "smtproutes",
  };
}

/** One route's attempt; `unreached` when no host of it could be connected to. */
async function deliverByRoute(
  job: DeliveryJob,
  messagePath: string,
  { host: domain, recipients }: RemoteTargets,
  route: Route,
  helo: string,
  ctx: RemoteContext,
): Promise<{ records: RemoteRecord[]; unreached: boolean }> {
  // DNS holds an internationalized domain by its A-labels (and findTargets compares its CNAME).
  const list = await findTargets(dnsName(domain), route, ctx);
  if (!list.ok) return { records: [list.record], unreached: false };
  // MTA-STS (RFC 8461 §5) and DANE (RFC 7672): the recipient domain's policies, for MX delivery.
  const security = await securityFor(domain, route, ctx);
  let source: MessageSource;
  try {
    source = openMessageSource(messagePath);
  } catch {
    return { records: [REMOTE_TEXTS.unreadable], unreached: false };
  }
  try {
    // DKIM (dkim_sign.ts): the signature fields in front of the file when a key of ours signs.
    // By name: FsFile.stat would resolve the path for the permission check again.
    const info = Deno.statSync(messagePath);
    const outgoing = await withDkimSignature(
      source.file,
      source.size,
      job.sender,
      ctx.dkimKeys ?? [],
      new Date(ctx.now()),
      `${messagePath} ${info.ino} ${info.size} ${info.ctime?.getTime()}`,
    );
    if ("failed" in outgoing) {
      const text = `DKIM signing failed: ${outgoing.failed}. (#4.3.0)\n`;
      return { records: [{ kind: "Z", text }], unreached: false };
    }
    const message: OutgoingMessage = {
      job,
      sender: envelopeSender(job.sender, domain, ctx.controls, ctx.now()),
      recipients,
      file: outgoing.file,
      size: outgoing.size,
    };
    // SIZE= and BODY=8BITMIME for SMTP, measured on the very bytes streamed after DATA.
    if (route.kind === "smtp") message.wire = await measureMessage(message.file);
    // The records of the last host that greeted with 4xx/5xx (docs/patches.md seed 002), told
    // after the no-connection text when no later host takes the message.
    let greetingFailed: RemoteRecord[] | undefined;
    const skipped: string[] = [];
    /** The last host whose TLS the domain's policy refused. */
    let policyFailed: RemoteRecord[] | undefined;
    for (const target of list.targets) {
      const tls = await targetTls(target, security, ctx);
      if ("skip" in tls) {
        skipped.push(tls.skip);
        if (tls.report) {
          await recordSkipped(tls.report.policy, tls.report.resultType, target, tls.skip, ctx);
        }
        continue;
      }
      if (await ctx.tcpto.isDead(target.ip)) continue;
      const result = await tryTarget(target, route, message, helo, ctx, tls);
      await recordTlsSession(tls.report, target, result, ctx);
      if (result === "next") continue;
      if (result.nextMx) {
        greetingFailed = result.records;
        continue;
      }
      // MTA-STS or DANE refused this host's TLS: the next MX may do better (RFC 8461 §5.1).
      if (tls.policy.mode === "verified" && tls.report?.outcome?.ok !== true) {
        policyFailed = result.records;
        continue;
      }
      return { records: result.records, unreached: false };
    }
    if (greetingFailed === undefined && policyFailed !== undefined) {
      return { records: policyFailed, unreached: false };
    }
    if (greetingFailed === undefined && skipped.length === list.targets.length) {
      return { records: [{ kind: "Z", text: allSkippedText(skipped) }], unreached: false };
    }
    if (greetingFailed === undefined) {
      return { records: [REMOTE_TEXTS.noConnection], unreached: true };
    }
    const last = greetingFailed.map((record) => record.text).join("");
    return {
      records: [{ kind: "Z", text: REMOTE_TEXTS.noConnection.text + last }],
      unreached: true,
    };
  } finally {
    source.close();
  }
}

/**
 * One address by the route's protocol; with qmtpc (qmtpFirstRoute), QMTP on
 * its port first and SMTP when nothing answered there.
 */
async function tryTarget(
  target: Target,
  route: Route,
  message: OutgoingMessage,
  helo: string,
  ctx: RemoteContext,
  tls: TargetTls,
): Promise<TargetResult> {
  if (route.kind === "qmtp") return await tryQmtpTarget(target, route, message, ctx);
  // QMTP has no TLS: a host that MTA-STS, DANE or a pin holds to TLS gets SMTP only.
  const tlsWanted = tls.policy.mode === "required" || tls.policy.mode === "verified";
  const qmtpFirst = tlsWanted ? undefined : qmtpFirstRoute(route, target, ctx);
  if (qmtpFirst !== undefined) {
    const result = await tryQmtpTarget(target, qmtpFirst, message, ctx, true);
    if (result !== "next") return result;
  }
  return await trySmtpTarget(target, route, message, helo, ctx, tls);
}
