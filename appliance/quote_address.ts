/**
 * qmail's quote.c (docs/queue-format.md §4.10): addresses as qmail writes them
 * into the header fields it generates (bounces, qmail-local's Return-Path,
 * qmail-inject's rewritten fields) and into SMTP's MAIL and RCPT, the local
 * part quoted only when it must be. Used by send/, deliver/, qmail_inject/
 * and smtp/'s client. Addresses are byte strings (one char, code 0–255, per
 * byte). Pure.
 *
 * Departure from quote.c: a local part whose 8-bit bytes are well-formed
 * UTF-8 stands bare, as RFC 6531 §3.3 and RFC 6532 §3.2 add UTF-8 to atext
 * (`jörg@example.org`, not `"jörg"@example.org`), so SMTPUTF8 addresses keep
 * their bytes in MAIL/RCPT, Return-Path and bounces. Other 8-bit bytes are
 * quoted, as qmail quotes them.
 */
import { isUtf8ByteString } from "./bytes.ts";

// quote.c's `ok` table: bytes that may stand bare in a local part.
const BARE = new Set(
  "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789!#$%&'*+-/=?^_`{|}~.",
);

/** Whether a local part must be quoted (quote.c's quote_need; §4.10). */
export function needsQuoting(localPart: string): boolean {
  if (localPart === "") return true;
  let eightBit = false;
  for (const ch of localPart) {
    if (ch >= "\x80") eightBit = true;
    else if (!BARE.has(ch)) return true;
  }
  if (eightBit && !isUtf8ByteString(localPart)) return true;
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
