/**
 * The fields qmail-inject adds when they are missing (notqmail newfield.c
 * and finishmft): Date, Message-ID and Mail-Followup-To. Strings hold one
 * char per byte (0–255). Pure.
 */
import { utf8ByteString } from "../bytes.ts";
import { formatDate822 } from "../date822.ts";
import { quoteAddress } from "../quote_address.ts";

function twoDigits(n: number): string {
  return String(n).padStart(2, "0");
}

/** `Date: 26 Sep 1995 04:46:53 -0000` plus LF (newfield.c). */
export function formatDateField(now: Date): string {
  return `Date: ${formatDate822(now)}\n`;
}

/** `Message-ID: <19950926044653.12345.qmail@idhost>` plus LF (newfield.c). */
export function formatMessageIdField(now: Date, pid: number | string, idhost: string): string {
  const stamp = `${now.getUTCFullYear()}${twoDigits(now.getUTCMonth() + 1)}` +
    `${twoDigits(now.getUTCDate())}${twoDigits(now.getUTCHours())}` +
    `${twoDigits(now.getUTCMinutes())}${twoDigits(now.getUTCSeconds())}`;
  return `Message-ID: <${stamp}.${pid}.qmail@${idhost}>\n`;
}

/**
 * Mail-Followup-To for mail to a list named in $QMAILMFTFILE (finishmft):
 * `toCc` are the To and Cc addresses as rewritten, `seen` the known fields
 * the header has. Undefined when no field is due.
 */
export function formatFollowup(
  toCc: readonly string[],
  lists: readonly string[] | undefined,
  seen: ReadonlySet<string>,
): string | undefined {
  if (!lists || seen.has("mail-followup-to")) return undefined;
  const known = new Set(lists.map(utf8ByteString));
  if (!toCc.some((address) => known.has(address))) return undefined;
  return `Mail-Followup-To: ${[...toCc].reverse().map(quoteAddress).join(",\n  ")}\n`;
}
