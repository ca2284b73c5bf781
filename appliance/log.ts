/**
 * Log events. Roles call one function per event; the record travels to the
 * supervisor (postMessage), which writes it to stdout either as qmail's text
 * line, prefixed with a `seconds.micros` timestamp as accustamp/splogger do so
 * qmailanalog-style tools keep working, or as one JSON object per line.
 *
 * Untrusted text is made safe the way qmail-send does it: LF becomes `/`, and
 * bytes below 33, above 126 and `%` become `_` (docs/queue-format.md §4.13).
 * Every other record's text has its control characters shown as escapes
 * (`\r`, `\x1b`), so nothing a client sends can split a log line or reach
 * the terminal of whoever reads the log; spaces stay readable.
 */
import { escapeLogText, safeLogText } from "./log_text.ts";
import { byteStringText } from "./bytes.ts";

// The text filters are pure and live apart, so pure modules can use them.
export { escapeLogText, safeLogText } from "./log_text.ts";

export interface LogRecord {
  /** Unix milliseconds. */
  time: number;
  /** The role that logged it: send, local, smtpd, supervisor, ... */
  role: string;
  /** Machine name of the event, e.g. "new_msg", "delivery_success". */
  event: string;
  /** qmail's wording for text logs. */
  text: string;
  /** Structured fields for JSON logs. Never secrets. */
  fields: Record<string, string | number | boolean | null>;
}

export type LogFormat = "text" | "json";

export type LogSink = (record: LogRecord) => void;

let sink: LogSink = (record) => console.log(formatLogRecord(record, "text"));
let roleName = "main";
let pressure: () => Promise<void> | undefined = () => undefined;

/**
 * Directs this isolate's log records somewhere (a worker posts them to the
 * supervisor). `backpressure` says when the writer is behind (LogBacklog).
 */
export function setLogSink(
  next: LogSink,
  role: string,
  backpressure?: () => Promise<void> | undefined,
): void {
  sink = next;
  roleName = role;
  pressure = backpressure ?? (() => undefined);
}

/**
 * Undefined while the log writer keeps up; else a promise to await before
 * taking more input from a client (appliance/log_backlog.ts).
 */
export function logPressure(): Promise<void> | undefined {
  return pressure();
}

/** Emits one event. Prefer the named event functions below. */
export function logEvent(
  event: string,
  text: string,
  fields: LogRecord["fields"] = {},
): void {
  sink({ time: Date.now(), role: roleName, event, text: escapeLogText(text), fields });
}

export function formatLogRecord(record: LogRecord, format: LogFormat): string {
  if (format === "json") {
    const json = JSON.stringify({
      time: new Date(record.time).toISOString(),
      role: record.role,
      event: record.event,
      ...record.fields,
      text: record.text,
    });
    // JSON.stringify escapes C0 controls; DEL and C1 (a terminal's CSI) it leaves raw.
    return WIDE_CONTROL.test(json) ? json.replace(WIDE_CONTROLS, jsonEscape) : json;
  }
  const seconds = Math.floor(record.time / 1000);
  const micros = String((record.time % 1000) * 1000).padStart(6, "0");
  return `${seconds}.${micros} ${record.text}`;
}

const WIDE_CONTROL = /[\x7f-\x9f]/;
const WIDE_CONTROLS = /[\x7f-\x9f]/g;

function jsonEscape(ch: string): string {
  return `\\u${ch.charCodeAt(0).toString(16).padStart(4, "0")}`;
}

// --- qmail-send events (docs/queue-format.md §4.13) ---

export function logStatus(
  local: number,
  localMax: number,
  remote: number,
  remoteMax: number,
  exiting = false,
): void {
  logEvent(
    "status",
    `status: local ${local}/${localMax} remote ${remote}/${remoteMax}${exiting ? " exitasap" : ""}`,
    { local, localMax, remote, remoteMax },
  );
}

export function logExiting(): void {
  logEvent("exiting", "status: exiting");
}

export function logNewMessage(id: bigint): void {
  logEvent("new_msg", `new msg ${id}`, { msg: Number(id) });
}

export function logMessageInfo(
  id: bigint,
  bytes: number,
  sender: string,
  qp: string,
  uid: string,
): void {
  logEvent(
    "info_msg",
    `info msg ${id}: bytes ${bytes} from <${safeLogText(sender)}> qp ${safeLogText(qp)} uid ${
      safeLogText(uid)
    }`,
    { msg: Number(id), bytes, sender: byteStringText(sender), qp, uid },
  );
}

export function logDeliveryStarted(
  delivery: number,
  id: bigint,
  channel: "local" | "remote",
  recipient: string,
): void {
  logEvent(
    "starting_delivery",
    `starting delivery ${delivery}: msg ${id} to ${channel} ${safeLogText(recipient)}`,
    deliveryFields(delivery, { id, channel, recipient }),
  );
}

export type DeliveryOutcome = "success" | "deferral" | "failure";

/** Which message and recipient a delivery is for: JSON fields only, the text stays qmail's. */
export interface DeliveryTarget {
  id: bigint;
  channel: "local" | "remote";
  recipient: string;
}

function deliveryFields(delivery: number, target: DeliveryTarget): LogRecord["fields"] {
  return {
    delivery,
    msg: Number(target.id),
    channel: target.channel,
    // Queue addresses are byte strings: JSON carries a UTF-8 address (SMTPUTF8) as its text.
    recipient: byteStringText(target.recipient),
  };
}

export function logDeliveryResult(
  delivery: number,
  outcome: DeliveryOutcome,
  report: string,
  target: DeliveryTarget,
): void {
  logEvent(`delivery_${outcome}`, `delivery ${delivery}: ${outcome}: ${safeLogText(report)}`, {
    ...deliveryFields(delivery, target),
    outcome,
    report,
  });
}

export function logReportMangled(delivery: number, target: DeliveryTarget): void {
  logEvent(
    "delivery_mangled",
    `delivery ${delivery}: report mangled, will defer`,
    deliveryFields(delivery, target),
  );
}

export function logBounced(id: bigint, qp: string): void {
  logEvent("bounce_msg", `bounce msg ${id} qp ${qp}`, { msg: Number(id), qp });
}

export function logTripleBounce(id: bigint): void {
  logEvent("triple_bounce", `triple bounce: discarding bounce/${id}`, { msg: Number(id) });
}

export function logEndMessage(id: bigint): void {
  logEvent("end_msg", `end msg ${id}`, { msg: Number(id) });
}

export function logWarning(text: string, fields: LogRecord["fields"] = {}): void {
  logEvent("warning", `warning: ${text}`, fields);
}

export function logAlert(text: string, fields: LogRecord["fields"] = {}): void {
  logEvent("alert", `alert: ${text}`, fields);
}

export function logInfo(text: string, fields: LogRecord["fields"] = {}): void {
  logEvent("info", text, fields);
}
