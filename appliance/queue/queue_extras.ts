/**
 * What qmail-queue adds to a message in the seed patches (docs/patches.md):
 * bigbrother's copies (seed 000), extraqueue's recipients (seed 001, a
 * run-time QUEUE_EXTRA) and the X-Originating-IP header (seed 001's
 * originipfield). config/queue_extras.ts reads the control files and picks
 * one message's additions; this module applies them. Pure.
 */
import type { QueueExtras } from "../../config/queue_extras.ts";
import { bytesToString, byteStringText, stringToBytes, utf8ByteString } from "../bytes.ts";

/**
 * The header line written after qmail-queue's own Received line, as the
 * patched qmail-queue does, so it sits above the smtpd's Received line. The
 * address goes bare, as the qmail-queue patches write it.
 */
export function originHeader(extras: QueueExtras | undefined): Uint8Array | undefined {
  if (extras?.originatingIp === undefined) return undefined;
  return stringToBytes(`X-Originating-IP: ${extras.originatingIp}\n`);
}

/**
 * The recipients with bigbrother's copies and extraqueue's addresses after
 * them. A watched address matches the sender or a recipient without regard
 * to case, so a tap cannot be dodged by writing the address differently. An
 * addition already among the recipients is not added again: one copy is
 * enough.
 */
export function withExtraRecipients(
  extras: QueueExtras | undefined,
  sender: Uint8Array,
  recipients: Uint8Array[],
): Uint8Array[] {
  if (extras === undefined) return recipients;
  const added: string[] = [];
  if (extras.bigBrother.length > 0) {
    // Compared as text, any case: a UTF-8 address is not dodged by writing its letters otherwise.
    const seen = new Set(
      [sender, ...recipients].map((each) => byteStringText(bytesToString(each)).toLowerCase()),
    );
    for (const entry of extras.bigBrother) {
      if (seen.has(entry.watched.toLowerCase())) added.push(utf8ByteString(entry.copy));
    }
  }
  // Control files are UTF-8 text; envelopes are bytes.
  added.push(...extras.extraQueue.map(utf8ByteString));
  if (added.length === 0) return recipients;
  const present = new Set(recipients.map(bytesToString));
  const result = [...recipients];
  for (const address of added) {
    if (present.has(address)) continue;
    present.add(address);
    result.push(stringToBytes(address));
  }
  return result;
}
