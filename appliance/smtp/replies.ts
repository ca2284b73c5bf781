/**
 * qmail-smtpd's replies, byte for byte (qmail-formats.md §8.3), each without
 * its CRLF. The few replies qmail does not have are marked as qmd's own and
 * keep qmail's style: lower case text, then the enhanced status code as
 * `(#x.y.z)`.
 */

export const REPLY_OK = "250 ok";
export const REPLY_FLUSHED = "250 flushed";
export const REPLY_GO_AHEAD = "354 go ahead";
export const REPLY_VRFY = "252 send some mail, i'll try my best";
/** qmail 1.03's wording; netqmail and notqmail print their own home page here. */
export const REPLY_HELP = "214 qmail home page: http://pobox.com/~djb/qmail.html";

export const REPLY_MAIL_FIRST = "503 MAIL first (#5.5.1)";
export const REPLY_RCPT_FIRST = "503 RCPT first (#5.5.1)";
export const REPLY_UNIMPLEMENTED = "502 unimplemented (#5.5.1)";
/** Address syntax: qmail sends this for addresses of 900 bytes or more (§8.4). */
export const REPLY_SYNTAX = "555 syntax error (#5.5.4)";
export const REPLY_BAD_MAIL_FROM =
  "553 sorry, your envelope sender is in my badmailfrom list (#5.7.1)";
export const REPLY_NO_GATEWAY =
  "553 sorry, that domain isn't in my list of allowed rcpthosts (#5.7.1)";

export const REPLY_TOO_MANY_HOPS = "554 too many hops, this message is looping (#5.4.6)";
export const REPLY_TOO_BIG = "552 sorry, that message size exceeds my databytes limit (#5.3.4)";
/** Any bare LF inside DATA; qmail disconnects after it (§8.7, smtplf). */
export const REPLY_BARE_LF = "451 See http://pobox.com/~djb/docs/smtplf.html.";
export const REPLY_TIMEOUT = "451 timeout (#4.4.2)";

/** HELO/EHLO without an argument: the wording of the qmail-md patch (seed 000). */
export const REPLY_NEED_HOSTNAME = "501 5.5.4 syntax error, I need your hostname";

/**
 * qmd's own: a command line holding a NUL byte. qmail's C strings would cut
 * the line at the NUL and act on the rest (reliability catalogue P3); qmd
 * refuses the whole line instead, in qmail's syntax-error wording.
 */
export const REPLY_NUL_IN_COMMAND = "501 syntax error (#5.5.4)";

/**
 * qmd's own: the role cut a command line at its length limit. qmail has no
 * limit (it answers `421 out of memory` once malloc fails); RFC 5321 §4.2.4
 * names 500 for "command line too long".
 */
export const REPLY_LINE_TOO_LONG = "500 sorry, that command line is too long (#5.5.2)";

/**
 * qmd's own, used only when `maxRecipients` is configured (vanilla qmail has
 * no limit): RFC 5321 §4.5.3.1.10 asks for 452 so the client retries the rest.
 */
export const REPLY_TOO_MANY_RECIPIENTS = "452 sorry, too many recipients (#4.5.3)";

/** `250 ok TIME qp QP` once qmail-queue committed the message (§8.3). */
export function formatAcceptedReply(time: number, qp: string): string {
  return `250 ok ${time} qp ${qp}`;
}

/**
 * A queue failure: qmail_close's text (§3.4) starts with D (permanent) or Z
 * (temporary); the reply is `554 ` or `451 ` and the text without that letter.
 * Anything not starting with D is treated as temporary.
 */
export function formatQueueErrorReply(text: string): string {
  return (text.startsWith("D") ? "554 " : "451 ") + text.slice(1);
}
