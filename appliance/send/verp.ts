/**
 * Address helpers of qmail-send: quoting for generated headers (qmail's
 * quote.c, qmail-formats.md §4.10), VERP sender expansion (§4.6) and the
 * removal of the VERP marker before a bounce (§4.8 step 2).
 *
 * Addresses are "byte strings" here: one char (code 0–255) per byte, as
 * bytesToString/stringToBytes in bytes.ts convert them. Pure.
 */

import { bytesToString } from "../bytes.ts";

/** The VERP marker a sender ends in to ask for per-recipient senders (§4.6). */
export const VERP_MARKER = "-@[]";

/** The double-bounce sender (§4.8): a bounce of a bounce is sent from it. */
export const DOUBLE_BOUNCE_SENDER = "#@[]";

// quote.c's `ok` table: bytes that may stand bare in a local part.
const BARE = new Set(
  "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789!#$%&'*+-/=?^_`{|}~.",
);

/** Whether a local part must be quoted (quote.c's quote_need; §4.10). */
export function needsQuoting(localPart: string): boolean {
  if (localPart === "") return true;
  for (const ch of localPart) if (!BARE.has(ch)) return true;
  return localPart.startsWith(".") || localPart.endsWith(".") || localPart.includes("..");
}

/**
 * A local part as qmail's quote() writes it: bare when it can be, otherwise
 * in double quotes with a backslash before CR, LF, `"` and `\` (§4.10).
 */
export function quoteLocalPart(localPart: string): string {
  if (!needsQuoting(localPart)) return localPart;
  return `"${localPart.replace(/[\r\n"\\]/g, (ch) => `\\${ch}`)}"`;
}

/**
 * A whole address as qmail's quote2() writes it: the part before the last
 * `@` is quoted when needed, the domain never; an empty address stays empty
 * (§4.10).
 */
export function quoteAddress(address: string): string {
  if (address === "") return "";
  const at = address.lastIndexOf("@");
  if (at < 0) return quoteLocalPart(address);
  return quoteLocalPart(address.slice(0, at)) + address.slice(at);
}

/**
 * The envelope sender qmail-send hands to a spawner (senderadd, §4.6): a
 * sender `P@H-@[]` becomes `P` + recipient-local + `=` + recipient-domain +
 * `@` + `H` when the recipient has an `@`; any other sender is unchanged.
 * Example: `list-owner-@example.org-@[]` to `joe@x.com` gives
 * `list-owner-joe=x.com@example.org`.
 */
export function expandVerp(sender: string, recipient: string): string {
  if (!sender.endsWith(VERP_MARKER)) return sender;
  const prefix = sender.slice(0, -VERP_MARKER.length);
  const senderAt = prefix.lastIndexOf("@");
  const recipientAt = recipient.lastIndexOf("@");
  if (senderAt < 0 || recipientAt < 0) return sender;
  return prefix.slice(0, senderAt) + recipient.slice(0, recipientAt) + "=" +
    recipient.slice(recipientAt + 1) + "@" + prefix.slice(senderAt + 1);
}

/** The sender a bounce goes back to: a trailing `-@[]` removed (`P@H-@[]` → `P@H`, §4.8 step 2). */
export function stripVerpMarker(sender: string): string {
  return sender.endsWith(VERP_MARKER) ? sender.slice(0, -VERP_MARKER.length) : sender;
}

/**
 * A JS string (e.g. a control file value, decoded from UTF-8) as the byte
 * string of its UTF-8 bytes, so that it compares with address bytes the way
 * qmail's byte-wise code does.
 */
export function utf8ByteString(text: string): string {
  return bytesToString(new TextEncoder().encode(text));
}
