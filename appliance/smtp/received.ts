/**
 * The Received line qmail-smtpd writes before the message data
 * (docs/queue-format.md §8.7; qmail's received.c). Pure: the date is passed in.
 */
import { formatDate822 } from "../date822.ts";
import { stringToBytes } from "../bytes.ts";
import { asciiLowerCase } from "./mail_rcpt_address.ts";

export interface SmtpReceivedFields {
  /** TCPREMOTEHOST (`unknown` when not known). */
  remoteHost: string;
  /** The HELO/EHLO argument as received (one char per byte); undefined when none was given. */
  helo?: string;
  /** TCPREMOTEINFO; when defined (even empty) it is written as `INFO@`. */
  remoteInfo?: string;
  /** TCPREMOTEIP. */
  remoteIp: string;
  /** TCPLOCALHOST, else TCPLOCALIP, else `unknown`. */
  localHost: string;
  /** `SMTP` for qmail-smtpd. */
  protocol?: string;
}

/** received.c's issafe: `A–Z a–z 0–9 . @ % + / = : -`. */
function isSafeByte(byte: number): boolean {
  return (byte >= 0x61 && byte <= 0x7a) || (byte >= 0x41 && byte <= 0x5a) ||
    (byte >= 0x30 && byte <= 0x39) || byte === 0x2e || byte === 0x40 || byte === 0x25 ||
    byte === 0x2b || byte === 0x2f || byte === 0x3d || byte === 0x3a || byte === 0x2d;
}

/**
 * received.c's safeput: every byte outside the safe set becomes `?`. A string
 * is taken one byte per char when it can be (see stringToBytes), else as UTF-8,
 * so a non-ASCII character becomes one `?` per byte, as in qmail.
 */
export function formatReceivedText(text: string): string {
  let safe = "";
  for (const byte of stringToBytes(text)) {
    safe += isSafeByte(byte) ? String.fromCharCode(byte) : "?";
  }
  return safe;
}

/**
 * ```
 * Received: from RHOST (HELO x) (INFO@IP)\n
 *   by LOCAL with SMTP; DATE822\n
 * ```
 * `(HELO x)` appears only when the HELO argument differs from RHOST, ASCII
 * case-insensitively (qmail's case_diffs).
 */
export function formatSmtpReceived(fields: SmtpReceivedFields, date: Date): string {
  let line = `Received: from ${formatReceivedText(fields.remoteHost)}`;
  if (
    fields.helo !== undefined &&
    asciiLowerCase(fields.helo) !== asciiLowerCase(latin1(fields.remoteHost))
  ) {
    line += ` (HELO ${formatReceivedText(fields.helo)})`;
  }
  line += " (";
  if (fields.remoteInfo !== undefined) line += `${formatReceivedText(fields.remoteInfo)}@`;
  line += `${formatReceivedText(fields.remoteIp)})\n`;
  line += `  by ${formatReceivedText(fields.localHost)} with ${fields.protocol ?? "SMTP"}; `;
  return `${line}${formatDate822(date)}\n`;
}

/** The string as its bytes, one char per byte, so it compares with a HELO argument. */
function latin1(text: string): string {
  let out = "";
  for (const byte of stringToBytes(text)) out += String.fromCharCode(byte);
  return out;
}
