/**
 * SMTPUTF8 (RFC 6531): internationalized addresses in MAIL and RCPT. Pure.
 *
 * Addresses stay byte strings (one char per byte, mail_rcpt_address.ts), so
 * a UTF-8 address is carried as its raw UTF-8 bytes from the command line to
 * the queue's envelope, as qmail carries any byte but NUL. What SMTPUTF8 adds
 * is the rule for when such bytes are allowed:
 *
 * - an address with a byte at or above 0x80 must be well-formed UTF-8
 *   (RFC 6531 §3.3, RFC 3629); anything else is refused, declared or not;
 * - a well-formed non-ASCII address needs the SMTPUTF8 parameter on this
 *   transaction's MAIL FROM (RFC 6531 §3.4): without it, 553 5.6.7
 *   (§3.5, RFC 5248 X.6.7 "non-ASCII addresses not permitted").
 *
 * Departure from qmail: qmail-smtpd takes 8-bit addresses without asking;
 * qmd refuses them unless the client declared SMTPUTF8, as RFC 6531 asks and
 * docs/reliability.md P4 allows ("a defined 5xx").
 *
 * Which messages need SMTPUTF8 later on (the remote role's question) is
 * decided from the envelope alone: qmail's queue has no flag for it, so a
 * message needs SMTPUTF8 when its sender or the recipient being delivered
 * has a byte at or above 0x80 (needsSmtpUtf8). 8-bit header fields alone do
 * not count: they go out as 8BITMIME mail, as qmail sends them.
 */
import { hasEightBit, isUtf8ByteString } from "../bytes.ts";
import type { RemoteRecord } from "../send/remote_report.ts";

/** MAIL or RCPT with a well-formed non-ASCII address, without SMTPUTF8 (RFC 6531 §3.5). */
export const REPLY_UTF8_NOT_DECLARED =
  "553 5.6.7 sorry, a non-ASCII address needs MAIL FROM with SMTPUTF8";
/** MAIL with an address holding 8-bit bytes that are not UTF-8 (RFC 3463 X.1.7). */
export const REPLY_MAIL_NOT_UTF8 = "553 5.1.7 sorry, that address is not valid UTF-8";
/** RCPT with an address holding 8-bit bytes that are not UTF-8 (RFC 3463 X.1.3). */
export const REPLY_RCPT_NOT_UTF8 = "553 5.1.3 sorry, that address is not valid UTF-8";
/** `SMTPUTF8=value`: the parameter takes no value (RFC 6531 §3.4; RFC 5321 §4.2.3 555). */
export const REPLY_SMTPUTF8_VALUE = "555 5.5.4 sorry, SMTPUTF8 takes no value";

/** What MAIL FROM's parameters say about SMTPUTF8. */
export type SmtpUtf8Parameter = "absent" | "declared" | "invalid";

/** The SMTPUTF8 keyword among MAIL FROM's parameters (case-insensitive, RFC 5321 §2.4). */
export function parseSmtpUtf8Parameter(parameters: readonly string[]): SmtpUtf8Parameter {
  let found: SmtpUtf8Parameter = "absent";
  for (const word of parameters) {
    const keyword = word.split("=", 1)[0].toUpperCase();
    if (keyword !== "SMTPUTF8") continue;
    if (word.includes("=")) return "invalid";
    found = "declared";
  }
  return found;
}

export { hasEightBit };

/** Whether a byte string is well-formed UTF-8 (RFC 3629: no overlongs, no surrogates). */
export const isUtf8 = isUtf8ByteString;

/**
 * The refusal for an address of MAIL or RCPT under RFC 6531, or undefined
 * when it may go on: ASCII always; UTF-8 when the transaction declared
 * SMTPUTF8; malformed UTF-8 never.
 */
export function utf8AddressRefusal(
  address: string,
  declared: boolean,
  command: "MAIL" | "RCPT",
): string | undefined {
  if (!hasEightBit(address)) return undefined;
  if (!isUtf8(address)) return command === "MAIL" ? REPLY_MAIL_NOT_UTF8 : REPLY_RCPT_NOT_UTF8;
  return declared ? undefined : REPLY_UTF8_NOT_DECLARED;
}

/**
 * Whether a delivery needs SMTPUTF8 from the next hop: its sender or one of
 * its recipients has a byte at or above 0x80 (see the module comment).
 */
export function needsSmtpUtf8(
  sender: string | Uint8Array,
  recipients: readonly (string | Uint8Array)[],
): boolean {
  return hasEightBit(sender) || recipients.some(hasEightBit);
}

/**
 * The remote record when a message that needs SMTPUTF8 meets a server that
 * does not offer it: permanent (RFC 6531 §3.2 leaves downgrading out, so the
 * message bounces), with RFC 5248's X.6.7 in qmail's `(#x.y.z)` form.
 */
export function smtpUtf8Refused(ip: string): RemoteRecord {
  return {
    kind: "D",
    text: `Connected to ${ip} but it does not offer SMTPUTF8, which a non-ASCII address ` +
      `of this message needs.\n553 5.6.7 non-ASCII addresses not permitted for that ` +
      `recipient (#5.6.7)\n`,
  };
}
