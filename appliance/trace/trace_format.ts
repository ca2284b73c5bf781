/**
 * The decision trace's file format (HOME/log/trace/YYYY-MM-DD.jsonl, one
 * SessionTrace per line) and how a session is found in it. Pure: the store
 * (store.ts) does the I/O.
 *
 * A line is written from the trace's known fields only, copied one by one:
 * whatever else a caller hangs on the object (an environment, an AUTH user)
 * never reaches the file, so no secret can. Client text stays as the session
 * saw it (one character per byte); JSON escaping keeps it on its line, and
 * `qmd explain` escapes control characters before printing.
 */
import type { Decision, FilterPhase, RuleRef, SessionTrace, Verdict } from "../filters/filter.ts";

/** Bumped when the line format changes incompatibly; lines of other versions are skipped. */
export const TRACE_FORMAT_VERSION = 1;

/** A trace file's name for the UTC day of `time` (Unix ms): 2026-12-02.jsonl. */
export function traceFileName(time: number): string {
  return `${new Date(time).toISOString().slice(0, 10)}.jsonl`;
}

/** Whether `name` is a trace file's name; its day as YYYY-MM-DD if so. */
export function traceFileDay(name: string): string | undefined {
  return /^(\d{4}-\d{2}-\d{2})\.jsonl$/.exec(name)?.[1];
}

function copyRule(rule: RuleRef): RuleRef {
  const copy: RuleRef = { check: String(rule.check) };
  if (rule.source !== undefined) copy.source = String(rule.source);
  if (rule.line !== undefined) copy.line = Number(rule.line);
  if (rule.entry !== undefined) copy.entry = String(rule.entry);
  return copy;
}

function copyDecision(decision: Decision): Decision {
  const copy: Decision = {
    time: Number(decision.time),
    phase: decision.phase,
    check: String(decision.check),
    input: String(decision.input),
    verdict: decision.verdict,
  };
  if (decision.rule !== undefined) copy.rule = copyRule(decision.rule);
  if (decision.reply !== undefined) copy.reply = String(decision.reply);
  if (decision.log !== undefined) copy.log = String(decision.log);
  return copy;
}

/** The trace with its known fields only (see the module comment). */
export function sanitizeTrace(trace: SessionTrace): SessionTrace {
  const copy: SessionTrace = {
    sessionId: String(trace.sessionId),
    start: Number(trace.start),
    remoteIp: String(trace.remoteIp),
    decisions: trace.decisions.map(copyDecision),
    messages: trace.messages.map((message) => {
      const each: SessionTrace["messages"][number] = {
        queueId: String(message.queueId),
        sender: String(message.sender),
        recipients: message.recipients.map(String),
      };
      if (message.messageId !== undefined) each.messageId = String(message.messageId);
      return each;
    }),
  };
  if (trace.remoteHost !== undefined) copy.remoteHost = String(trace.remoteHost);
  if (trace.helo !== undefined) copy.helo = String(trace.helo);
  return copy;
}

/** One line of a trace file, without the line end. */
export function formatTraceLine(trace: SessionTrace): string {
  return JSON.stringify({ v: TRACE_FORMAT_VERSION, ...sanitizeTrace(trace) });
}

const PHASES: readonly FilterPhase[] = ["connect", "helo", "mail", "rcpt", "data", "end"];
const VERDICTS: readonly Verdict["kind"][] = [
  "pass",
  "accept",
  "refuse",
  "tarpit",
  "blacklist",
  "lookup",
];

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function isDecision(value: unknown): value is Decision {
  return isRecord(value) && typeof value.time === "number" &&
    PHASES.includes(value.phase as FilterPhase) && typeof value.check === "string" &&
    typeof value.input === "string" && VERDICTS.includes(value.verdict as Verdict["kind"]) &&
    (value.rule === undefined || (isRecord(value.rule) && typeof value.rule.check === "string"));
}

function isMessage(value: unknown): value is SessionTrace["messages"][number] {
  return isRecord(value) && typeof value.queueId === "string" &&
    typeof value.sender === "string" && Array.isArray(value.recipients) &&
    value.recipients.every((recipient) => typeof recipient === "string");
}

/** A trace file's line read back, or undefined when it is not one (torn, another version). */
export function parseTraceLine(line: string): SessionTrace | undefined {
  if (line.trim() === "") return undefined;
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    return undefined;
  }
  if (
    !isRecord(value) || value.v !== TRACE_FORMAT_VERSION ||
    typeof value.sessionId !== "string" || typeof value.start !== "number" ||
    typeof value.remoteIp !== "string" || !Array.isArray(value.decisions) ||
    !value.decisions.every(isDecision) || !Array.isArray(value.messages) ||
    !value.messages.every(isMessage)
  ) {
    return undefined;
  }
  return sanitizeTrace(value as unknown as SessionTrace);
}

/** A Message-ID with its angle brackets, as the header has it. */
function bracketed(id: string): string {
  const trimmed = id.trim();
  return trimmed.startsWith("<") ? trimmed : `<${trimmed}>`;
}

/**
 * Whether `id` names this session: its session id, the queue id of a
 * message it queued, or that message's Message-ID (with or without the
 * angle brackets).
 */
export function traceMatches(trace: SessionTrace, id: string): boolean {
  if (trace.sessionId === id) return true;
  return trace.messages.some((message) =>
    message.queueId === id ||
    (message.messageId !== undefined && bracketed(message.messageId) === bracketed(id))
  );
}
