/**
 * HELO and EHLO (RFC 5321 §4.1.1.1, docs/queue-format.md §8): the reply naming
 * this host and, for EHLO, the service extensions qmd offers, in the order
 * the qmail-md patch lists them (docs/patches.md seed 000).
 */
import { offeredMechanisms } from "./auth_exchange.ts";
import type { Conversation, SessionView } from "./conversation.ts";
import type { SmtpSessionOptions } from "./session_options.ts";
import { type SmtpStep, step } from "./session_step.ts";
import { REPLY_NEED_HOSTNAME } from "./replies.ts";

/**
 * HELO/EHLO: reply with the first greeting line and forget any MAIL.
 * Departure (qmail-md, docs/patches.md seed 000): an argument is required; a refused HELO
 * changes nothing.
 */
export function heloCommand(
  view: SessionView,
  conversation: Conversation,
  argument: string,
  extended: boolean,
): SmtpStep {
  if (argument === "") return step([REPLY_NEED_HOSTNAME]);
  conversation.helo = argument;
  conversation.transaction = undefined;
  const name = view.options.greeting[0];
  const delay = view.options.delays?.helo ?? 0;
  if (!extended) return step([`250 ${name}`], { delay });
  const lines = [name, ...ehloKeywords(view)];
  return step(lines.map((line, i) => `250${i === lines.length - 1 ? " " : "-"}${line}`), {
    delay,
  });
}

/** The EHLO lines after the host name, one extension each. */
function ehloKeywords(view: SessionView): string[] {
  const options = view.options;
  const lines: string[] = [];
  const mechanisms = offeredMechanisms(view);
  if (mechanisms.length > 0) {
    if (options.auth?.oldAuth && mechanisms.includes("LOGIN")) lines.push("AUTH=LOGIN");
    lines.push(`AUTH ${mechanisms.join(" ")}`);
  }
  lines.push("ENHANCEDSTATUSCODES", "PIPELINING");
  if (options.tls?.offered && !view.tlsActive) lines.push("STARTTLS");
  const size = advertisedSize(options);
  // RFC 1870 §4: SIZE without a number means no fixed limit (docs/patches.md seed 000 dropped "SIZE
  // 0").
  if (size !== undefined) lines.push(size > 0 ? `SIZE ${size}` : "SIZE");
  lines.push("8BITMIME", "SMTPUTF8");
  return lines;
}

/**
 * The SIZE limit for EHLO; undefined when databytesmf/databytesrcpt make it per message
 * (docs/patches.md seed 001).
 */
function advertisedSize(options: SmtpSessionOptions): number | undefined {
  if (options.databytesForSender !== undefined || options.databytesForRecipient !== undefined) {
    return undefined;
  }
  return options.databytes;
}
