/**
 * The three lines qmail-local writes in front of a delivered message
 * (qmail-formats.md §6.1): DTLINE (Delivered-To), RPLINE (Return-Path) and
 * UFLINE (the mbox "From " line), plus qmail's address quoting (§4.10).
 *
 * Pure. Addresses are byte strings (one char per byte), so any byte but NUL
 * passes through; the results are byte strings too.
 */

/** Characters a local part may hold without quotes (quote.c's ok[] table). */
const ATOM_OK = /^[A-Za-z0-9!#$%&'*+\-/=?^_`{|}~.]*$/;

/** Whether a local part must be quoted (quote_need in quote.c). */
function needsQuoting(local: string): boolean {
  if (local.length === 0) return true;
  if (!ATOM_OK.test(local)) return true;
  return local.startsWith(".") || local.endsWith(".") || local.includes("..");
}

/**
 * quote2: the text before the last `@` is wrapped in double quotes, with a
 * backslash before CR, LF, `"` and `\`, when it is empty or not a plain
 * dot-atom; the domain is never quoted; an empty address stays empty.
 */
export function quoteAddress(address: string): string {
  if (address === "") return "";
  const at = address.lastIndexOf("@");
  const local = at < 0 ? address : address.slice(0, at);
  const rest = at < 0 ? "" : address.slice(at);
  if (!needsQuoting(local)) return address;
  return `"${local.replace(/[\r\n"\\]/g, (c) => "\\" + c)}"${rest}`;
}

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
