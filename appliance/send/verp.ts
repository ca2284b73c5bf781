/**
 * VERP in qmail-send (docs/queue-format.md §4.6, §4.8 step 2): a sender ending
 * in `-@[]` is expanded per recipient, and the marker is removed before a
 * bounce goes back to it.
 *
 * Addresses are "byte strings" here: one char (code 0–255) per byte, as
 * bytesToString/stringToBytes in bytes.ts convert them. Pure.
 */

/** The VERP marker a sender ends in to ask for per-recipient senders (§4.6). */
export const VERP_MARKER = "-@[]";

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
