/**
 * What the SMTP session core (session.ts) hands its role: a step of replies,
 * a pause and effects to run, and what the role reports back after DATA.
 */
import type { Credentials } from "../auth/sasl_server.ts";
import type { FilterRequest, Lookup, Verdict } from "../filters/filter.ts";

/** Accept a message: stream the body, then call dataFinished(). */
export interface SmtpDataEffect {
  kind: "data";
  /** MAIL FROM address, exact bytes (empty for `<>`). */
  sender: Uint8Array;
  /** RCPT TO addresses, exact bytes, RELAYCLIENT already appended. */
  recipients: Uint8Array[];
  /** qmail-smtpd's Received line (two lines, each LF-terminated), to write before the body. */
  received: string;
  /** The size limit for this message; 0 = none. */
  databytes: number;
  /** Received/Delivered lines that mean a loop. */
  maxHops: number;
  /**
   * Header lines the filter chain's passing checks added (Received-SPF, X-...), without line
   * ends, written at the top of the message before `received`.
   */
  headers: string[];
  /** What the session knows at DATA, for the content scans the driver begins (filter.ts). */
  request: FilterRequest;
}

/**
 * A check asked for something outside (filter.ts Lookup): run it and call
 * lookupAnswered() with the answer. No command line is read meanwhile.
 */
export interface SmtpLookupEffect {
  kind: "lookup";
  lookup: Lookup;
}

/**
 * The end-of-DATA checks passed: commit the message the driver holds to the
 * queue and call dataFinished(). A step after bodyReceived() without this
 * effect refused the message: the driver aborts it.
 */
export interface SmtpCommitEffect {
  kind: "commit";
}

/** Flush the replies, drop any input already read, then start TLS and call tlsStarted(). */
export interface SmtpStartTlsEffect {
  kind: "starttls";
}

/** Check these credentials and call authVerified() with the answer. */
export interface SmtpAuthEffect {
  kind: "auth";
  credentials: Credentials;
}

/**
 * Something for the session log; never holds a secret. `tarpit` and
 * `relay-refused` only when control/log/tarpitting and orchecks ask for them;
 * `reject` (rejection.ts, or a filter check's own line) always; `filter` a
 * note about the filter chain (a verdict qmd could not follow), always. `fields` go into JSON logs as they are.
 */
export interface SmtpLogEffect {
  kind: "log";
  event: "tarpit" | "relay-refused" | "reject" | "filter";
  text: string;
  fields?: Record<string, string | null>;
}

export type SmtpEffect =
  | SmtpDataEffect
  | SmtpStartTlsEffect
  | SmtpAuthEffect
  | SmtpLogEffect
  | SmtpLookupEffect
  | SmtpCommitEffect;

/** A content scan's verdict at the end of DATA, reported with bodyReceived(). */
export interface ScanResult {
  /** The content check's name (clamd, signatures). */
  check: string;
  verdict: Verdict;
}

export interface SmtpStep {
  /** Reply lines without CRLF; a multi-line reply is several strings. */
  replies: string[];
  effects: SmtpEffect[];
  /** Close the connection after writing the replies. */
  close: boolean;
  /** Seconds to pause before writing the replies (tarpits and delays); 0 = none. */
  delay: number;
}

/** How the DATA section ended, as the role saw it. */
export type DataOutcome =
  /** Committed to the queue: TIME is Unix seconds, QP the queue writer's pid. */
  | { kind: "queued"; time: number; qp: string }
  /** maxhops or more Received/Delivered header lines. */
  | { kind: "hops" }
  /** More than the size limit. */
  | { kind: "toobig" }
  /** A bare LF: 451 and disconnect. */
  | { kind: "barelf" }
  /** The queue failed: qmail_close text starting with D (permanent) or Z (temporary). */
  | { kind: "queue-error"; text: string };

/** A step; options default to no effects, no close, no pause. */
export function step(
  replies: string[],
  options: { close?: boolean; effects?: SmtpEffect[]; delay?: number } = {},
): SmtpStep {
  return {
    replies,
    effects: options.effects ?? [],
    close: options.close ?? false,
    delay: options.delay ?? 0,
  };
}

/**
 * A step paused by tarpitdelay, with a `tarpit` log line (docs/patches.md seed 000
 * control/log/tarpitting), when tarpitting is on (tarpitcount > 0 and no
 * NO_TARPITTING); else a plain step.
 */
export function tarpitStep(
  tarpit: { count: number; delaySeconds: number } | undefined,
  replies: string[],
  why: string,
): SmtpStep {
  const delay = tarpit === undefined || tarpit.count <= 0 ? 0 : tarpit.delaySeconds;
  return step(replies, {
    delay,
    effects: delay > 0 ? [{ kind: "log", event: "tarpit", text: `TARPIT: ${why}` }] : [],
  });
}
