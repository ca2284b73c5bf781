/**
 * What `qmd rules replay` reads and counts. Pure.
 *
 * Input lines are any mix of
 *  - decision trace lines (HOME/log/trace/*.jsonl, store.ts): the client,
 *    HELO, sender and recipients of the session, from its decisions' inputs
 *    and the messages it queued;
 *  - qmd's log, text or JSON (appliance/log.ts): the `reject` lines
 *    (smtp/rejection.ts) carry the client, HELO, sender and recipients of
 *    each refusal; the lines of one session (until its next `connect` line,
 *    since session ids start over when qmd restarts) become one session.
 *    In text lines the client's words went through qmail's safe filter
 *    (spaces and 8-bit bytes are `_`), so they are replayed as logged.
 * Every other line is skipped. A session is replayed as one transaction:
 * its first sender with every recipient it named.
 */
import type { Decision, SessionTrace } from "../filters/filter.ts";
import { parseTraceLine } from "./trace_format.ts";
import { formatRuleRef } from "./explain_format.ts";

/** One logged session to replay. */
export interface ReplaySession {
  /** Where it came from: "trace 2.17" or "log 2.17". */
  origin: string;
  remoteIp: string;
  remoteHost?: string;
  helo?: string;
  sender?: string;
  recipients: string[];
  /** Unix ms when known. */
  time?: number;
}

function addUnique(list: string[], values: readonly string[]): void {
  for (const value of values) if (value !== "" && !list.includes(value)) list.push(value);
}

/** The session a decision trace records. */
export function sessionFromTrace(trace: SessionTrace): ReplaySession {
  const session: ReplaySession = {
    origin: `trace ${trace.sessionId}`,
    remoteIp: trace.remoteIp,
    recipients: [],
    time: trace.start,
  };
  if (trace.remoteHost !== undefined) session.remoteHost = trace.remoteHost;
  if (trace.helo !== undefined) session.helo = trace.helo;
  // A lookup's decision has the lookup appended to its input; the verdicts' inputs are clean.
  const plain = (decision: Decision) => decision.verdict !== "lookup";
  const sender = trace.decisions.find((d) => d.phase === "mail" && plain(d))?.input ??
    trace.messages[0]?.sender;
  if (sender !== undefined) session.sender = sender;
  addUnique(
    session.recipients,
    trace.decisions.filter((d) => d.phase === "rcpt" && plain(d)).map((d) => d.input),
  );
  for (const message of trace.messages) addUnique(session.recipients, message.recipients);
  return session;
}

/** A `reject` log line's facts, from either log format. */
interface Rejection {
  session: string;
  remoteIp: string;
  helo?: string;
  sender?: string;
  recipients: string[];
  time?: number;
}

/** `<a>,<b>` as the reject line writes its recipients. */
function splitAngles(text: string): string[] {
  return [...text.matchAll(/<([^>]*)>/g)].map((match) => match[1]);
}

/**
 * A text reject line: `SECS.MICROS smtpd ID: reject: CMD [MECH] from IP
 * helo=<H>: REPLY[; from=<S>][ to=<R>,<R2>]`.
 */
function parseTextRejection(line: string): Rejection | undefined {
  const head = /^(\d+)\.\d+ smtpd (\S+): reject: [A-Z-]+(?: \S+)? from (\S+) helo=<([^>]*)>: /
    .exec(line);
  if (head === null) return undefined;
  const rest = line.slice(head[0].length);
  const rejection: Rejection = {
    session: head[2],
    remoteIp: head[3],
    recipients: [],
    time: Number(head[1]) * 1000,
  };
  if (head[4] !== "") rejection.helo = head[4];
  const envelope = /; (from=<[^>]*>)?(?: ?to=((?:<[^>]*>,?)+))?$/.exec(rest);
  if (envelope !== null) {
    if (envelope[1] !== undefined) rejection.sender = envelope[1].slice(6, -1);
    if (envelope[2] !== undefined) rejection.recipients = splitAngles(envelope[2]);
  }
  return rejection;
}

/** A JSON log line's `reject` record (event smtp_reject). */
function parseJsonRejection(value: Record<string, unknown>): Rejection | undefined {
  if (value.event !== "smtp_reject" || typeof value.remote !== "string") return undefined;
  const rejection: Rejection = {
    session: typeof value.session === "string" ? value.session : "",
    remoteIp: value.remote,
    recipients: typeof value.recipient === "string" && value.recipient !== ""
      ? value.recipient.split(",")
      : [],
  };
  if (typeof value.helo === "string" && value.helo !== "") rejection.helo = value.helo;
  if (typeof value.sender === "string") rejection.sender = value.sender;
  if (typeof value.time === "string" && !Number.isNaN(Date.parse(value.time))) {
    rejection.time = Date.parse(value.time);
  }
  return rejection;
}

/** Reads replay input line by line; `sessions()` gives what it gathered. */
export class ReplayReader {
  #done: ReplaySession[] = [];
  #open = new Map<string, ReplaySession>();
  /** Lines that were neither a trace nor a reject or connect line. */
  skipped = 0;

  add(line: string): void {
    const trimmed = line.trim();
    if (trimmed === "") return;
    if (trimmed.startsWith("{")) {
      let value: unknown;
      try {
        value = JSON.parse(trimmed);
      } catch {
        this.skipped++;
        return;
      }
      if (typeof value !== "object" || value === null) {
        this.skipped++;
        return;
      }
      const record = value as Record<string, unknown>;
      if ("sessionId" in record && "decisions" in record) {
        const trace = parseTraceLine(trimmed);
        if (trace === undefined) this.skipped++;
        else this.#done.push(sessionFromTrace(trace));
        return;
      }
      if (record.event === "smtp_connect" && typeof record.session === "string") {
        this.#close(record.session);
        return;
      }
      const rejection = parseJsonRejection(record);
      if (rejection === undefined) this.skipped++;
      else this.#merge(rejection);
      return;
    }
    const connect = /^\d+\.\d+ smtpd (\S+): connect /.exec(trimmed);
    if (connect !== null) {
      this.#close(connect[1]);
      return;
    }
    const rejection = parseTextRejection(trimmed);
    if (rejection === undefined) this.skipped++;
    else this.#merge(rejection);
  }

  #close(session: string): void {
    const open = this.#open.get(session);
    if (open === undefined) return;
    this.#done.push(open);
    this.#open.delete(session);
  }

  #merge(rejection: Rejection): void {
    let session = this.#open.get(rejection.session);
    if (session === undefined || session.remoteIp !== rejection.remoteIp) {
      this.#close(rejection.session);
      session = {
        origin: `log ${rejection.session}`,
        remoteIp: rejection.remoteIp,
        recipients: [],
      };
      if (rejection.time !== undefined) session.time = rejection.time;
      this.#open.set(rejection.session, session);
    }
    if (rejection.helo !== undefined) session.helo = rejection.helo;
    if (session.sender === undefined && rejection.sender !== undefined) {
      session.sender = rejection.sender;
    }
    addUnique(session.recipients, rejection.recipients);
  }

  /** Every session read, in the order they ended. */
  sessions(): ReplaySession[] {
    for (const session of [...this.#open.keys()]) this.#close(session);
    return this.#done;
  }
}

/** Hits of one rule. */
export interface RuleHits {
  /** The check, its verdict and its rule as `qmd explain` writes it. */
  check: string;
  verdict: Decision["verdict"];
  rule: string;
  sessions: number;
}

/** The counts `qmd rules replay` prints. */
export interface ReplayReport {
  sessions: number;
  /** Sessions the current rules would refuse somewhere. */
  refused: number;
  /** Sessions with a lookup that needed DNS (replay without --dns). */
  needsDns: number;
  hits: RuleHits[];
  /** Sessions per check whose verdict rested on a lookup answered "needs DNS". */
  undecided: { check: string; sessions: number }[];
}

/** Adds up the decisions of replayed sessions. */
export class ReplayTally {
  #sessions = 0;
  #refused = 0;
  #needsDns = 0;
  #hits = new Map<string, RuleHits>();
  #undecided = new Map<string, number>();

  /**
   * One session's decisions; `needsDns` names the checks whose lookups were
   * answered without DNS: their rule verdicts are counted as undecided.
   */
  add(decisions: readonly Decision[], refused: boolean, needsDns: ReadonlySet<string>): void {
    this.#sessions++;
    if (refused) this.#refused++;
    if (needsDns.size > 0) this.#needsDns++;
    const seen = new Set<string>();
    for (const decision of decisions) {
      if (decision.rule === undefined) continue;
      if (needsDns.has(decision.check)) {
        const key = `undecided ${decision.check}`;
        if (seen.has(key)) continue;
        seen.add(key);
        this.#undecided.set(decision.check, (this.#undecided.get(decision.check) ?? 0) + 1);
        continue;
      }
      const rule = formatRuleRef(decision.rule);
      const key = `${decision.check}\0${decision.verdict}\0${rule}`;
      if (seen.has(key)) continue;
      seen.add(key);
      const hits = this.#hits.get(key) ??
        { check: decision.check, verdict: decision.verdict, rule, sessions: 0 };
      hits.sessions++;
      this.#hits.set(key, hits);
    }
  }

  report(): ReplayReport {
    return {
      sessions: this.#sessions,
      refused: this.#refused,
      needsDns: this.#needsDns,
      hits: [...this.#hits.values()].sort((a, b) =>
        b.sessions - a.sessions || a.check.localeCompare(b.check) || a.rule.localeCompare(b.rule)
      ),
      undecided: [...this.#undecided].map(([check, sessions]) => ({ check, sessions }))
        .sort((a, b) => b.sessions - a.sessions || a.check.localeCompare(b.check)),
    };
  }
}

/** The report as text lines. */
export function formatReplayReport(report: ReplayReport, dns: boolean): string[] {
  const lines = [
    `${report.sessions} sessions replayed against the current control files; ` +
    `${report.refused} would be refused`,
  ];
  if (report.hits.length === 0) {
    lines.push("no rule matched");
  } else {
    lines.push("sessions  verdict    check         rule");
    for (const hit of report.hits) {
      lines.push(
        `${String(hit.sessions).padStart(8)}  ${hit.verdict.padEnd(9)}  ${
          hit.check.padEnd(12)
        }  ${hit.rule}`,
      );
    }
  }
  if (report.needsDns > 0) {
    lines.push(
      dns
        ? `${report.needsDns} sessions had lookups answered temporary`
        : `${report.needsDns} sessions need DNS (replay with --dns IP:PORT to decide them):`,
    );
    for (const each of report.undecided) {
      lines.push(`${String(each.sessions).padStart(8)}  ${each.check}`);
    }
  }
  return lines;
}
