/**
 * `qmd queue list` and `show` as text: per message its number, sender,
 * size, age and state, then a line per recipient with its next retry or
 * "done" and, under it, the last deferral the send role kept. Pure: the
 * reply (queue/control_request.ts) and the time come in.
 */
import type { MessageDetail, QueuedMessage, QueuedRecipient } from "./control_request.ts";

/** A span of seconds as `45s`, `3m 20s`, `2h 5m` or `3d 4h`. */
export function formatSpan(seconds: number): string {
  const s = Math.max(0, Math.floor(seconds));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m ${s % 60}s`;
  if (s < 86400) return `${Math.floor(s / 3600)}h ${Math.floor((s % 3600) / 60)}m`;
  return `${Math.floor(s / 86400)}d ${Math.floor((s % 86400) / 3600)}h`;
}

/** Unix seconds as `2026-12-02T17:00:00Z`. */
export function formatTime(seconds: number): string {
  return new Date(seconds * 1000).toISOString().replace(/\.\d{3}Z$/, "Z");
}

/** Control characters (a report's LFs among them) shown as one ` / `. */
function oneLine(text: string): string {
  // deno-lint-ignore no-control-regex
  return text.trim().replace(/[\x00-\x1f\x7f]+/g, " / ");
}

/** The first line of a message's listing. */
function formatHead(message: QueuedMessage, now: number): string {
  const state = [
    message.state === "unprocessed" ? "not yet preprocessed" : message.state,
    ...message.held ? ["held"] : [],
    ...message.delivering ? ["delivering"] : [],
  ].join(", ");
  return `#${message.id}  <${oneLine(message.sender)}>  ${message.size} bytes  ` +
    `age ${formatSpan(now - message.birth)}  ${state}`;
}

/** A recipient's line, and its last deferral's under it. */
function formatRecipient(
  message: QueuedMessage,
  recipient: QueuedRecipient,
  now: number,
): string[] {
  const channel = (recipient.channel ?? "todo").padEnd(6);
  let status = "";
  if (recipient.done) status = "  done";
  else if (message.held) status = "  held";
  else if (recipient.channel !== undefined) {
    const due = message.nextRetry[recipient.channel];
    if (due !== undefined) {
      status = due <= now
        ? `  next retry now (${formatTime(due)})`
        : `  next retry in ${formatSpan(due - now)} (${formatTime(due)})`;
    }
  }
  const lines = [`  ${channel}  ${oneLine(recipient.address)}${status}`];
  const deferral = recipient.lastDeferral;
  if (deferral !== undefined && !recipient.done) {
    lines.push(`          last deferral ${formatTime(deferral.at)}: ${oneLine(deferral.text)}`);
  }
  return lines;
}

/** One message as `qmd queue list` shows it. */
export function formatQueuedMessage(message: QueuedMessage, now: number): string {
  return [
    formatHead(message, now),
    ...message.recipients.flatMap((recipient) => formatRecipient(message, recipient, now)),
  ].join("\n");
}

/** `qmd queue list`'s whole text. */
export function formatQueueList(messages: QueuedMessage[], now: number): string {
  if (messages.length === 0) return "the queue is empty";
  const held = messages.filter((message) => message.held).length;
  return [
    ...messages.map((message) => formatQueuedMessage(message, now)),
    `${messages.length} message${messages.length === 1 ? "" : "s"}` +
    (held > 0 ? `, ${held} held` : ""),
  ].join("\n");
}

/** `qmd queue show`: the listing, the birth, then the header block as it is. */
export function formatMessageDetail(message: MessageDetail, now: number): string {
  return [
    formatQueuedMessage(message, now),
    `born ${formatTime(message.birth)}`,
    "",
    message.headers.trimEnd(),
  ].join("\n");
}
