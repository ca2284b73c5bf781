/**
 * Builds one SMTP session's options from the controls, the per-connection
 * policy (controls + environment + tcprules) and what is known of the
 * connection, the same way for the appliance's sockets and for tcpserver's
 * environment (TCPREMOTEIP, TCPLOCALHOST, RELAYCLIENT, ...).
 */
import type { SizeTable, SmtpdControls, SmtpdPolicy } from "../../config/smtpd.ts";
import { CdbReader } from "../../config/cdb.ts";
import { byteStringText, stringToBytes, utf8ByteString } from "../bytes.ts";
import type { SmtpSessionOptions } from "../smtp/session.ts";
import {
  type ChallengeAuthSupport,
  mechanismsFromMask,
  usableMechanisms,
} from "../auth/mechanisms.ts";
import { authFailureDelaySeconds } from "./auth_failures.ts";
import { batvDay, checkBatvAddress } from "../send/batv.ts";
import type { ServerTls } from "../tls/server_tls.ts";
import type { SmtpConnectionOptions } from "./smtp_connection.ts";
import {
  activeChecks,
  FILTER_MODULES,
  type FilterControls,
  type FilterModule,
} from "../policy/filter_modules.ts";

export interface ConnectionFacts {
  remoteIp: string;
  remoteHost?: string;
  remoteInfo?: string;
  localIp?: string;
  /** TCPLOCALHOST; the appliance uses control/me. */
  localHost?: string;
}

/** What the listener and the role add to the policy. */
export interface SessionExtras {
  /** A server certificate is loaded (control/servercert.pem). */
  tlsAvailable: boolean;
  /** The connection is TLS from the first byte (SMTPS). */
  tlsActive: boolean;
  /** Credentials can be checked (accounts database or checkpassword). */
  authAvailable: boolean;
  /**
   * Which challenge mechanisms can succeed (auth_capabilities.ts); the others
   * are not advertised. Undefined: unknown, the control/auth masks apply.
   */
  challengeAuth?: ChallengeAuthSupport;
  /** Submission port: AUTH before MAIL. */
  authRequired: boolean;
  /** A fresh CRAM challenge and DIGEST-MD5 nonce. */
  newChallenge: () => { challenge: string; nonce: string };
  /** Unix milliseconds, for BATV's day number (default the clock). */
  nowMs?: number;
  /**
   * The filter chain for this client: every check's controls as the role
   * loaded them (loadFilterControls), the client's layered environment and
   * its listener; absent = no checks.
   */
  filters?: SessionFilterFacts;
}

/** What picks a client's checks (appliance/policy/filter_modules.ts activeChecks). */
export interface SessionFilterFacts {
  controls: FilterControls;
  /** Process environment layered with the listener's and tcp.smtp's variables. */
  env: Record<string, string>;
  /** smtp, submission or smtps. */
  listener: string;
  /** Default FILTER_MODULES (tests pass their own). */
  modules?: readonly FilterModule[];
}

/** The BATV check for smtpd (docs/patches.md seed 001), or undefined without control/signkey. */
function batvOptions(controls: SmtpdControls, remoteHost: string | undefined, nowMs: number) {
  const { key, staleDays, noSignMyDoms, noSignHosts } = controls.batv;
  if (key === null) return undefined;
  const today = batvDay(nowMs);
  return {
    check: (address: string) => checkBatvAddress(address, key, today, staleDays),
    exempt: (recipient: string, helo: string | undefined) => {
      // The recipient is a byte string, the list UTF-8 text: a UTF-8 domain is compared as text.
      const domain = byteStringText(recipient.slice(recipient.lastIndexOf("@") + 1)).toLowerCase();
      if (noSignMyDoms.includes(domain)) return true;
      return [remoteHost, helo].some((host) =>
        host !== undefined && noSignHosts.includes(host.toLowerCase())
      );
    },
  };
}

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
    // Domains arrive as byte strings (a UTF-8 domain as its bytes): the lines are kept the same way.
    set = new Set((controls.rcptHosts ?? []).map(utf8ByteString));
    rcptHostSets.set(controls, set);
  }
  return set;
}

/** A databytesmf/databytesrcpt lookup: the whole address, then `@domain` (lower case). */
function sizeLookup(
  table: SizeTable | null,
): ((address: string) => number | undefined) | undefined {
  if (table === null) return undefined;
  return (address) => {
    const lower = byteStringText(address).toLowerCase();
    const exact = table[lower];
    if (exact !== undefined) return exact;
    const at = lower.lastIndexOf("@");
    return at < 0 ? undefined : table[lower.slice(at)];
  };
}

export function buildSessionOptions(
  controls: SmtpdControls,
  moreRcptHosts: CdbReader | null,
  policy: SmtpdPolicy,
  facts: ConnectionFacts,
  extras: SessionExtras,
): SmtpSessionOptions {
  const rcptHosts = rcptHostSet(controls);
  const isRcptHost = (domain: string) =>
    rcptHosts.has(domain) || moreRcptHosts?.get(stringToBytes(domain)) !== undefined;
  const localIp = (facts.localIp ?? "").replace(/^::ffff:/, "");
  const remoteIp = facts.remoteIp.replace(/^::ffff:/, "");
  const filters = extras.filters;
  return {
    checks: filters === undefined ? undefined : activeChecks(
      filters.controls,
      { env: filters.env, remoteIp, listener: filters.listener },
      filters.modules ?? FILTER_MODULES,
    ),
    env: filters?.env,
    blacklistDatabytes: policy.databytesPlus > 0 ? policy.databytesPlus : policy.databytes,
    greeting: policy.smtpGreeting === undefined ? controls.greeting : [policy.smtpGreeting],
    localHost: facts.localHost ?? controls.me,
    remoteIp,
    remoteHost: facts.remoteHost ?? "unknown",
    remoteInfo: facts.remoteInfo,
    relayClient: policy.relayClient,
    rcptHosts: controls.rcptHosts === null && moreRcptHosts === null ? null : isRcptHost,
    databytes: policy.databytes,
    databytesForSender: sizeLookup(policy.databytesMf),
    databytesForRecipient: sizeLookup(policy.databytesRcpt),
    localIpHost: controls.localIpHost,
    localIps: localIp === "" ? [] : [localIp],
    maxRecipients: policy.maxRecipients,
    maxUnauthRecipients: policy.maxRcpt,
    maxAddressLength: controls.maxAddrLen - 1,
    maxHops: controls.maxHops,
    tarpit: { count: policy.tarpitCount, delaySeconds: policy.tarpitDelay },
    delays: {
      greet: policy.greetDelay,
      helo: policy.heloDelay,
      mail: policy.mfDelay,
      rcpt: policy.rcptDelay,
    },
    tls: { offered: extras.tlsAvailable && policy.tlsOffered, active: extras.tlsActive },
    auth: extras.authAvailable
      ? {
        plainMechanisms: usableMechanisms(
          mechanismsFromMask(controls.authSmtp),
          extras.challengeAuth,
        ),
        tlsMechanisms: usableMechanisms(
          mechanismsFromMask(controls.authSmtps),
          extras.challengeAuth,
        ),
        oldAuth: controls.oldAuth,
        requireTls: policy.secAuth,
        failDelaySeconds: Math.max(controls.authDelay, policy.authFailDelay),
        required: extras.authRequired,
        hostname: controls.me,
        newChallenge: extras.newChallenge,
        failureDelay: authFailureDelaySeconds,
      }
      : undefined,
    batv: batvOptions(controls, facts.remoteHost, extras.nowMs ?? Date.now()),
    rcptToFixed: policy.rcptToFixed,
    blacklisted: policy.blacklisted === undefined ? undefined : {
      recipient: policy.blacklisted,
      databytes: policy.databytesPlus > 0 ? policy.databytesPlus : policy.databytes,
    },
  };
}

/** The connection driver's TLS hooks from the server certificate (STARTTLS, SMTPS, tlsclients). */
export function tlsHooks(
  serverTls: ServerTls,
): Pick<SmtpConnectionOptions, "tls" | "tlsClientRelays"> {
  return {
    tls: () => serverTls.startOptions(true),
    tlsClientRelays: async (socket) => await serverTls.clientCertificateEmail(socket) !== undefined,
  };
}
