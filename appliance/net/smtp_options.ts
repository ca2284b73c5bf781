/**
 * Builds one SMTP session's options from the controls and what is known of
 * the connection, the same way for the appliance's sockets and for
 * tcpserver's environment (TCPREMOTEIP, TCPLOCALHOST, RELAYCLIENT, ...).
 */
import type { SmtpdControls } from "../../config/smtpd.ts";
import { CdbReader } from "../../config/cdb.ts";
import type { SmtpSessionOptions } from "../smtp/session.ts";

export interface ConnectionFacts {
  remoteIp: string;
  remoteHost?: string;
  remoteInfo?: string;
  localIp?: string;
  /** TCPLOCALHOST; the appliance uses control/me. */
  localHost?: string;
  relayClient?: string;
}

const encoder = new TextEncoder();

/**
 * Recipients accepted per message. qmail has no limit, which lets one client
 * hold any amount of memory (reliability catalogue L4, CVE-1999-0144); 1000
 * is Postfix's and mox's figure. control/maxrcpt (a later issue) will set it.
 */
export const DEFAULT_MAX_RECIPIENTS = 1000;

/** Loads control/morercpthosts.cdb when the controls name one. */
export function loadMoreRcptHosts(controls: SmtpdControls): CdbReader | null {
  return controls.moreRcptHostsCdb === null
    ? null
    : new CdbReader(Deno.readFileSync(controls.moreRcptHostsCdb));
}

/** rcpthosts as a set, built once per loaded controls rather than once per connection. */
const rcptHostSets = new WeakMap<SmtpdControls, Set<string>>();
function rcptHostSet(controls: SmtpdControls): Set<string> {
  let set = rcptHostSets.get(controls);
  if (set === undefined) {
    set = new Set(controls.rcptHosts ?? []);
    rcptHostSets.set(controls, set);
  }
  return set;
}

export function buildSessionOptions(
  controls: SmtpdControls,
  moreRcptHosts: CdbReader | null,
  facts: ConnectionFacts,
): SmtpSessionOptions {
  const rcptHosts = rcptHostSet(controls);
  const isRcptHost = (domain: string) =>
    rcptHosts.has(domain) || moreRcptHosts?.get(encoder.encode(domain)) !== undefined;
  const localIp = (facts.localIp ?? "").replace(/^::ffff:/, "");
  return {
    greeting: controls.greeting,
    localHost: facts.localHost ?? controls.me,
    remoteIp: facts.remoteIp.replace(/^::ffff:/, ""),
    remoteHost: facts.remoteHost ?? "unknown",
    remoteInfo: facts.remoteInfo,
    relayClient: facts.relayClient,
    rcptHosts: controls.rcptHosts === null && moreRcptHosts === null ? null : isRcptHost,
    databytes: controls.databytes,
    badMailFrom: controls.badMailFrom,
    localIpHost: controls.localIpHost,
    localIps: localIp === "" ? [] : [localIp],
    maxRecipients: DEFAULT_MAX_RECIPIENTS,
  };
}
