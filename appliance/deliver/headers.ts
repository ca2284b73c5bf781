/**
 * The three lines qmail-local writes in front of a delivered message
 * (docs/queue-format.md §6.1): DTLINE (Delivered-To), RPLINE (Return-Path) and
 * UFLINE (the mbox "From " line), plus qmail's address quoting (§4.10).
 *
 * Pure. Addresses are byte strings (one char per byte), so any byte but NUL
 * passes through; the results are byte strings too.
 */

import { quoteAddress } from "../quote_address.ts";

/** qmail's quote2 (§4.10), shared with qmail-send's bounces and qmail-inject. */
export { quoteAddress };

/** `Delivered-To: LOCAL@DOMAIN\n`, LF inside replaced by `_` (no quoting). */
export function formatDeliveredTo(local: string, domain: string): string {
  return `Delivered-To: ${local}@${domain}`.replaceAll("\n", "_") + "\n";
}

/** `Return-Path: <SENDER>\n` with the sender quoted and LF → `_`. */
export function formatReturnPath(sender: string): string {
  return `Return-Path: <${quoteAddress(sender)}`.replaceAll("\n", "_") + ">\n";
}

const DAYS = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];
const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

const two = (n: number) => String(n).padStart(2, "0");

/** qmail's myctime: `Www Mmm DD HH:MM:SS YYYY` in UTC, day zero-padded (unlike asctime). */
export function formatCtime(date: Date): string {
  return `${DAYS[date.getUTCDay()]} ${MONTHS[date.getUTCMonth()]} ${two(date.getUTCDate())} ` +
    `${two(date.getUTCHours())}:${two(date.getUTCMinutes())}:${two(date.getUTCSeconds())} ` +
    `${date.getUTCFullYear()}`;
}

/** `From SENDER DATE\n`: space, tab and LF in the sender become `-`; empty → MAILER-DAEMON. */
export function formatFromLine(sender: string, date: Date): string {
  const who = sender === "" ? "MAILER-DAEMON" : sender.replace(/[ \t\n]/g, "-");
  return `From ${who} ${formatCtime(date)}\n`;
}
