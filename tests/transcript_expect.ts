/**
 * A transcript's expectations about what is not on the wire: the queued
 * message (Q, E and R groups) and the reject log (L lines). Pure checks,
 * shared by every way a transcript runs; each throws TranscriptError naming
 * the transcript line.
 */
import { bytesToString } from "../appliance/bytes.ts";
import { TranscriptError, type TranscriptEvent } from "./transcript.ts";

/** A message the server queued, as the transcript's Q, E and R lines see it. */
export interface QueuedMessage {
  sender: Uint8Array;
  recipients: Uint8Array[];
  /** smtpd's Received header, its two lines with their LFs. */
  received: string;
  body: Uint8Array;
}

/**
 * Splits what smtpd handed the queue into its Received header (the two lines
 * formatSmtpReceived writes) and the client's body after it.
 */
export function splitQueuedMessage(
  bytes: Uint8Array,
  sender: Uint8Array,
  recipients: Uint8Array[],
): QueuedMessage {
  const first = bytes.indexOf(0x0a);
  const second = first < 0 ? -1 : bytes.indexOf(0x0a, first + 1);
  const end = second < 0 ? bytes.length : second + 1;
  return {
    sender,
    recipients,
    received: new TextDecoder().decode(bytes.subarray(0, end)),
    body: bytes.subarray(end),
  };
}

/** Whether a transcript lists its reject log lines (then it must list all of them). */
export function checksLogs(events: TranscriptEvent[]): boolean {
  return events.some((event) => event.kind === "log" || event.kind === "log-match");
}

/** Checks the next reject log line (undefined: none was logged) against an L event. */
export function checkLogLine(
  event: TranscriptEvent & { kind: "log" | "log-match" },
  actual: string | undefined,
): void {
  if (actual === undefined) {
    throw new TranscriptError(event.line, "expected a reject log line, none was logged");
  }
  const ok = event.kind === "log" ? actual === event.text : event.pattern.test(actual);
  if (!ok) {
    const expected = event.kind === "log" ? JSON.stringify(event.text) : String(event.pattern);
    throw new TranscriptError(
      event.line,
      `expected log ${expected}, got ${JSON.stringify(actual)}`,
    );
  }
}

/** Throws when the session logged reject lines the transcript did not list. */
export function expectNoMoreLogs(logs: string[], line: number): void {
  if (logs.length > 0) {
    throw new TranscriptError(line, `reject lines nobody expected: ${JSON.stringify(logs)}`);
  }
}

type GroupKind = TranscriptEvent["kind"];

function groupOf(kind: GroupKind): string {
  if (kind === "body-line" || kind === "body") return "body";
  if (kind === "received" || kind === "received-match") return "received";
  return kind;
}

/** Whether two events belong to the same Q, E or R group. */
export function sameGroup(a: GroupKind, b: GroupKind): boolean {
  return groupOf(a) === groupOf(b);
}

/** Checks one Q, E or R group against the last queued message. */
export function checkQueued(group: TranscriptEvent[], message: QueuedMessage | undefined): void {
  const first = group[0];
  if (message === undefined) throw new TranscriptError(first.line, "no message was queued");
  const fail = (line: number, expected: string, actual: string) => {
    throw new TranscriptError(line, `expected ${expected}, got ${actual}`);
  };
  switch (groupOf(first.kind)) {
    case "body": {
      const whole = group.find((event) => event.kind === "body");
      if (whole !== undefined) {
        if (group.length !== 1) throw new TranscriptError(first.line, "Q! cannot be mixed with Q:");
        if (bytesToString(message.body) !== bytesToString(whole.bytes)) {
          fail(
            whole.line,
            JSON.stringify(bytesToString(whole.bytes)),
            JSON.stringify(bytesToString(message.body)),
          );
        }
        return;
      }
      const lines = splitLines(bytesToString(message.body));
      const expected = group.map((event) => event.kind === "body-line" ? event.text : "");
      compareLines(
        group,
        expected.map((text) => (actual) => actual === stringOf(text)),
        lines,
        "body",
      );
      return;
    }
    case "envelope": {
      const actual = [
        "F" + bytesToString(message.sender),
        ...message.recipients.map((recipient) => "T" + bytesToString(recipient)),
      ];
      const expected = group.map((event) => event.kind === "envelope" ? stringOf(event.text) : "");
      compareLines(group, expected.map((text) => (line) => line === text), actual, "envelope");
      return;
    }
    case "received": {
      const lines = splitLines(message.received);
      const matchers = group.map((event) =>
        event.kind === "received-match"
          ? (line: string) => event.pattern.test(line)
          : (line: string) => event.kind === "received" && line === event.text
      );
      compareLines(group, matchers, lines, "Received header");
      return;
    }
    default:
      throw new TranscriptError(first.line, `${first.kind} is not about the queued message`);
  }
}

const encoder = new TextEncoder();

/** A transcript's text as the bytes a UTF-8 client would send, one char per byte. */
function stringOf(text: string): string {
  return bytesToString(encoder.encode(text));
}

function splitLines(text: string): string[] {
  const lines = text.split("\n");
  if (lines.at(-1) === "") lines.pop();
  return lines;
}

function compareLines(
  group: TranscriptEvent[],
  matchers: ((line: string) => boolean)[],
  actual: string[],
  what: string,
): void {
  for (let i = 0; i < Math.max(group.length, actual.length); i++) {
    const event = group[Math.min(i, group.length - 1)];
    if (i >= group.length) {
      throw new TranscriptError(
        event.line,
        `${what} has more lines: ${JSON.stringify(actual.slice(i))}`,
      );
    }
    if (i >= actual.length) {
      throw new TranscriptError(event.line, `${what} has only ${actual.length} lines`);
    }
    if (!matchers[i](actual[i])) {
      throw new TranscriptError(
        event.line,
        `${what} line ${i + 1} is ${JSON.stringify(actual[i])}`,
      );
    }
  }
}
