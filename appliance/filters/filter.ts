/**
 * The seam between the SMTP session and the anti-spam and policy checks of
 * the seed patches (docs/patches.md seeds 000–004: badmailfrom and the other
 * bmchecks lists, realrcptto, rcptcheck, DNSBL, SPF, mfcheck, clamd,
 * signatures, ...). Pure types and helpers: no I/O.
 *
 * The session asks the chain at each phase of a conversation (the phase
 * names are Haraka's hook names). A check answers with a verdict; a check
 * that needs the outside world (a DNS answer, a program's exit code, another
 * role's lookup) answers with a `lookup`, which the session hands to its
 * driver as an effect; the driver runs it (filters/lookups.ts) and the answer
 * comes back to the same check's `resume`. So the session stays pure and
 * every check can be tested from a transcript with canned answers.
 *
 * Content checks (clamd, executable signatures) see the message while DATA
 * streams, never the whole message at once: they are ContentChecks, run by
 * the driver beside the queue writer.
 *
 * Every verdict is recorded as a Decision (check, phase, input, rule, verdict,
 * reply), which the log and `qmd explain` show.
 */

/** When the session asks: after the greeting, HELO/EHLO, MAIL, each RCPT, DATA, end of DATA. */
export type FilterPhase = "connect" | "helo" | "mail" | "rcpt" | "data" | "end";

/** What the session knows of its client when it asks. Plain data. */
export interface FilterRequest {
  phase: FilterPhase;
  /** TCPREMOTEIP. */
  remoteIp: string;
  /** TCPREMOTEHOST, or undefined when not known. */
  remoteHost?: string;
  /** TCPLOCALIP. */
  localIp?: string;
  /** The per-client environment (process environment layered with tcp.smtp). */
  env: Readonly<Record<string, string>>;
  /** RELAYCLIENT set, a successful AUTH, or a tlsclients certificate. */
  relaying: boolean;
  /** The AUTH user, once authenticated. */
  authUser?: string;
  tls: boolean;
  /** The last HELO/EHLO argument. */
  helo?: string;
  /** MAIL FROM, one char per byte ("" for `<>`). */
  sender?: string;
  /** The recipient this RCPT asks for (phase "rcpt"). */
  recipient?: string;
  /** Recipients accepted so far in this transaction. */
  recipients: readonly string[];
  /** Unix ms, from the session's clock. */
  now: number;
  /**
   * The MAIL or RCPT argument as the client sent it, after the verb (phases
   * mail and rcpt): reqbrackets looks for the `<`.
   */
  argument?: string;
  /**
   * Recipients refused so far in this transaction, each with the check that
   * refused it ("rcpthosts" for the session's own relay refusal): seed 003's
   * whole-message refusal at DATA (filters/whole_message.ts).
   */
  refusedRecipients?: readonly RefusedRecipient[];
  /** The session id the log lines carry, for checks that log themselves (clamd's `CLAMD:`). */
  sessionId?: string;
}

/** A recipient the session refused at RCPT, and which check refused it. */
export interface RefusedRecipient {
  recipient: string;
  /** The refusing check's name (RuleRef.check), or "rcpthosts". */
  check: string;
}

/** Where a decision came from: the check and, for list files, the file and line that matched. */
export interface RuleRef {
  /** The check's name, e.g. "badmailfrom", "rbl", "spf", "realrcptto". */
  check: string;
  /** The control file (relative to the home) or environment variable. */
  source?: string;
  /** 1-based line of `source` that matched. */
  line?: number;
  /** The matching entry as written, or what was looked up (zone, program). */
  entry?: string;
}

/**
 * A check's answer:
 * - pass: nothing to say, ask the next check; `headers` are header lines (without the line
 *   end) to add at the top of the message, before qmail-smtpd's Received line
 *   (Received-SPF, X-... marks), kept until the transaction ends;
 * - accept: stop asking for this phase and accept (a whitelist hit: goodmailfrom, an anti-list);
 * - refuse: answer with these reply lines (code and text, no CRLF); `close` ends the session
 *   after them; `scope` "transaction" refuses what is left of the transaction (seed 003's
 *   whole-message refusal), "session" every later command (rblsmtpd's conversation);
 * - tarpit: pause this many seconds before the next reply, then go on;
 * - blacklist: mark the session BLACKLISTED (seed 000's spam catcher) and go on;
 * refuse, tarpit and accept may carry `log`, the exact log line text a seed
 * prescribes for them (the session logs one line per refusal: this text, or a
 * default naming the check, its rule and the client);
 * - lookup: ask the driver, then call the same check's `resume` with the answer.
 */
export type Verdict =
  /** `log`: what the check found, for the trace (auth results' one-line summary). */
  | { kind: "pass"; headers?: readonly string[]; log?: string }
  | { kind: "accept"; rule: RuleRef; log?: string }
  | {
    kind: "refuse";
    reply: readonly string[];
    rule: RuleRef;
    close?: boolean;
    scope?: "command" | "transaction" | "session";
    /**
     * Seconds to pause before this reply (seed 001's recipientchkdelay, seed
     * 000's "tarpitted with"): the chain adds them to the phase's tarpit.
     */
    tarpitSeconds?: number;
    /** Scope "session": end the conversation after this many seconds (rblsmtpd's -t). */
    sessionSeconds?: number;
    /**
     * Seed 000 "tarpits" the client before this refusal: the session pauses
     * tarpitdelay seconds first, with a `TARPIT:` line, when tarpitting is on
     * (tarpitcount above 0 and no NO_TARPITTING), as for its other tarpits.
     */
    tarpitted?: boolean;
    /** The exact log line the seeds prescribe (bmchecks, `CLAMD:`, rblsmtpd); else a default. */
    log?: string;
  }
  | { kind: "tarpit"; seconds: number; rule: RuleRef; log?: string }
  /** `recipient`: where the messages go from now on (BLACKLISTED's address). */
  | { kind: "blacklist"; rule: RuleRef; recipient?: string }
  | { kind: "lookup"; lookup: Lookup };

/** What a driver can look up for a check (filters/lookups.ts runs each kind). */
export type Lookup =
  /** DNS records of one type; answers as strings (A/AAAA addresses, MX "pref host", TXT joined). */
  | {
    kind: "dns";
    name: string;
    type: "A" | "AAAA" | "MX" | "TXT" | "PTR";
    timeoutSeconds?: number;
  }
  /** An SPF evaluation (RFC 7208) of this client, HELO and sender. */
  | { kind: "spf"; ip: string; helo: string; sender: string; timeoutSeconds?: number }
  /** A program run with this environment; the answer is its exit code (rcptcheck). */
  | {
    kind: "program";
    argv: readonly string[];
    env: Readonly<Record<string, string>>;
    timeoutSeconds: number;
  }
  /** Whether local delivery would take this address (realrcptto), asked of a role that may read homes. */
  | { kind: "recipient"; address: string }
  /**
   * An SMTP callback to the sender's MX (mfcheck 2); MX hosts at the
   * `mxBlacklist` addresses are never asked (seed 000's control/mxblacklist).
   */
  | {
    kind: "callback";
    sender: string;
    timeoutSeconds: number;
    mxBlacklist?: readonly string[];
  }
  /**
   * A greylisting triplet, first seen and passed times kept by the accounts
   * database. With delaySeconds and lifetimeSeconds the store also decides
   * (filters/greylist.ts greylistStep): a triplet seen again after the delay
   * has passed, and one not seen for the lifetime starts over.
   */
  | {
    kind: "greylist";
    ip: string;
    sender: string;
    recipient: string;
    delaySeconds?: number;
    lifetimeSeconds?: number;
    /** Unix seconds of the try, from the session's clock (the store's own clock otherwise). */
    now?: number;
  };

/** The driver's answer to a lookup: `temporary` when it could not be had (timeout, SERVFAIL). */
export type LookupAnswer =
  | { kind: "dns"; records: readonly string[]; nxdomain?: boolean }
  /**
   * `domain`: the domain SPF was evaluated for (the sender's, else the HELO's),
   * `info`: mailauth's Authentication-Results entry for it (RFC 8601 §2.7.2).
   */
  | {
    kind: "spf";
    result: SpfResult;
    explanation?: string;
    header?: string;
    domain?: string;
    info?: string;
  }
  | { kind: "program"; exitCode: number; output?: string }
  | { kind: "recipient"; deliverable: boolean }
  /** `blacklisted`: every address of the sender's MX is in mxBlacklist, nothing was asked. */
  | { kind: "callback"; accepted: boolean; reply?: string; blacklisted?: boolean }
  | { kind: "greylist"; firstSeen: number; passed: boolean }
  | { kind: "temporary"; reason: string };

/** RFC 7208 §2.6 results. */
export type SpfResult =
  | "none"
  | "neutral"
  | "pass"
  | "fail"
  | "softfail"
  | "temperror"
  | "permerror";

/**
 * One check in the chain. `check` must be pure; settings (the control files
 * and environment switches it reads) come in resolved, as plain data.
 */
export interface FilterCheck<S = unknown> {
  readonly name: string;
  readonly phases: readonly FilterPhase[];
  check(request: FilterRequest, settings: S): Verdict;
  /**
   * The answer to a lookup this check asked for. Required when check can answer `lookup`.
   * `lookup` is the question asked, so a check that asks several in turn (one
   * DNSBL zone after another) knows where it is without keeping state.
   */
  resume?(request: FilterRequest, settings: S, answer: LookupAnswer, lookup: Lookup): Verdict;
}

/** A content check: sees the body while DATA streams (I/O allowed: the driver runs it). */
export interface ContentCheck {
  readonly name: string;
  /** A scan of one message, or undefined when this check is off for this client. */
  begin(request: FilterRequest): ContentScan | undefined;
}

export interface ContentScan {
  /** Body bytes as they arrive, in order. */
  write(chunk: Uint8Array): Promise<void>;
  /** The verdict once the message is complete (pass, refuse or tarpit). */
  finish(): Promise<Verdict>;
  /** The message was not completed; release what the scan holds. */
  abort(): Promise<void>;
  /**
   * A scan that changes the message's head (auth results) has this: the
   * driver then spools the body (appliance/net/message_spool.ts) so that
   * the scan's lines can go first, and asks it after finish() what to change.
   */
  edit?(): MessageEdit;
}

/** What a scan changes in a message it let through. */
export interface MessageEdit {
  /** Header lines (LF inside for folding, no final line end) written above every other line. */
  prepend: readonly string[];
  /** Whether a field of the client's header (one char per byte, LF line ends) is removed. */
  drops(field: string): boolean;
}

/** What a content scan may use besides the request: the role's resolver and lookups. */
export interface ScanContext {
  /**
   * The role's DNS resolver (control/dnsservers) in the shape of node's
   * dns.promises.resolve, as npm mailauth asks it (net/spf_lookup.ts mailauthResolver).
   */
  resolve(name: string, type: string): Promise<unknown[]>;
  /**
   * Runs a lookup as the checks' lookups run (filter_lookups.ts), with the
   * session's answers kept: an SPF result the chain had at MAIL is not asked again.
   */
  lookup(lookup: Lookup): Promise<LookupAnswer>;
}

/** One decision in a session's trace. */
export interface Decision {
  /** Unix ms. */
  time: number;
  phase: FilterPhase;
  check: string;
  /** What was checked, e.g. the sender address, the client IP, the zone queried. */
  input: string;
  verdict: Verdict["kind"];
  rule?: RuleRef;
  /** The reply sent because of it, if any. */
  reply?: string;
  /** The verdict's own log line text, if it gave one. */
  log?: string;
}

export const PASS: Verdict = { kind: "pass" };

/** A refusal with one reply line. */
export function refuse(
  reply: string,
  rule: RuleRef,
  options: {
    close?: boolean;
    scope?: "command" | "transaction" | "session";
    log?: string;
    tarpitSeconds?: number;
    tarpitted?: boolean;
  } = {},
): Verdict {
  return { kind: "refuse", reply: [reply], rule, ...options };
}

/** "badmailfrom line 3" style text for logs: the check, its file and line, and the entry. */
export function formatRule(rule: RuleRef): string {
  let text = rule.check;
  if (rule.source !== undefined) {
    text += ` (${rule.source}${rule.line !== undefined ? ` line ${rule.line}` : ""})`;
  }
  if (rule.entry !== undefined) text += `: ${rule.entry}`;
  return text;
}

/**
 * One session's decisions, handed to the trace store at the session's end
 * (`qmd explain SESSION-ID|MESSAGE-ID` reads it back).
 */
export interface SessionTrace {
  /** The session id the log lines carry. */
  sessionId: string;
  /** Unix ms of the connection. */
  start: number;
  remoteIp: string;
  remoteHost?: string;
  /** The last HELO/EHLO argument. */
  helo?: string;
  decisions: Decision[];
  /** Messages queued in this session: the queue id (mess/ inode) and the Message-ID header if any. */
  messages: { queueId: string; messageId?: string; sender: string; recipients: string[] }[];
}
