/**
 * qmail-remote as I/O (docs/queue-format.md §5.8), one recipient per job as
 * qmail-rspawn runs it: the route (config/remote.ts: smtproutes, smtprelays,
 * qmtproutes) with the default smtproutes relay as the fallback, the
 * addresses to try (mx_choice.ts), the tcpto table (tcpto_table.ts), an
 * attempt on each address in turn (smtp_attempt.ts, qmtp_attempt.ts) and
 * the report as qmail-rspawn makes it (§5.7). The other texts come from
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
import type { OutgoingMessage } from "./attempt.ts";
import { envelopeSender } from "./envelope_sender.ts";
import { findTargets } from "./mx_choice.ts";
import { tryQmtpTarget } from "./qmtp_attempt.ts";
import type { RemoteContext } from "./remote_context.ts";
import { trySmtpTarget } from "./smtp_attempt.ts";

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
 * The qmail-remote records (r/h/s then K/Z/D) for one job. The message is
 * the job's mess/NN/ID, or the file at `messagePath` when it is not in the
 * queue (`qmd remote` reads it from stdin).
 */
export async function deliverRecords(
  job: DeliveryJob,
  ctx: RemoteContext,
  messagePath = ctx.layout.messFromName(job.mess),
): Promise<RemoteRecord[]> {
  const at = job.recipient.lastIndexOf("@");
  const domain = at >= 0 ? job.recipient.slice(at + 1) : "";
  const helo = ctx.controls.helohost;
  if (helo === null) return [REMOTE_TEXTS.noControls];
  // Control files are UTF-8 text: a UTF-8 domain or sender is looked up as the same text.
  const route = findRoute(ctx.controls, byteStringText(domain), byteStringText(job.sender));
  const first = await deliverByRoute(job, messagePath, domain, route, helo, ctx);
  // The fallback (docs/patches.md seed 001): the default smtproutes entry ":relay" takes the
  // message when a more specific route could not be reached, and with
  // straightfallback also after a temporary failure.
  const fallback = fallbackRoute(ctx.controls, route);
  if (fallback === undefined) return first.records;
  const temporary = formatRemoteReport(first.records).status === "Z";
  if (first.unreached || (temporary && ctx.controls.straightFallback)) {
    return (await deliverByRoute(job, messagePath, domain, fallback, helo, ctx)).records;
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
  domain: string,
  route: Route,
  helo: string,
  ctx: RemoteContext,
): Promise<{ records: RemoteRecord[]; unreached: boolean }> {
  // DNS holds an internationalized domain by its A-labels (and findTargets compares its CNAME).
  const list = await findTargets(dnsName(domain), route, ctx);
  if (!list.ok) return { records: [list.record], unreached: false };
  let file: Deno.FsFile;
  try {
    file = await Deno.open(messagePath, { read: true });
  } catch {
    return { records: [REMOTE_TEXTS.unreadable], unreached: false };
  }
  try {
    const size = (await file.stat()).size;
    const message: OutgoingMessage = {
      job,
      sender: envelopeSender(job.sender, domain, ctx.controls, ctx.now()),
      file,
      size,
    };
    // The records of the last host that greeted with 4xx/5xx (docs/patches.md seed 002), told
    // after the no-connection text when no later host takes the message.
    let greetingFailed: RemoteRecord[] | undefined;
    for (const target of list.targets) {
      if (await ctx.tcpto.isDead(target.ip)) continue;
      const result = route.kind === "qmtp"
        ? await tryQmtpTarget(target, route, message, ctx)
        : await trySmtpTarget(target, route, message, helo, ctx);
      if (result === "next") continue;
      if (result.nextMx) {
        greetingFailed = result.records;
        continue;
      }
      return { records: result.records, unreached: false };
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
    file.close();
  }
}
