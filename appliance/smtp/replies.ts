/**
 * qmail-smtpd's replies (docs/queue-format.md §8.3) with the RFC 3463 enhanced
 * status codes the qmail-md patch puts after the reply code (docs/patches.md seed 000,
 * README.status: `250 2.1.0 ok`, `553 5.1.1 sorry, ...`). The code moves
 * from qmail's trailing `(#x.y.z)` to the front, as qmail-md does; the text
 * is otherwise qmail's. Replies without an enhanced code are the 220
 * greeting, the EHLO lines and 354 (RFC 2034 §3). Each constant is one line
 * without its CRLF.
 */

import { parseStatusText } from "../mail_error.ts";

export const REPLY_OK = "250 2.0.0 ok";
export const REPLY_MAIL_OK = "250 2.1.0 ok";
export const REPLY_RCPT_OK = "250 2.1.5 ok";
/** MAIL and RCPT of a BLACKLISTED client, as seed 000's sample log shows them. */
export const REPLY_MAIL_BLACKLISTED = "250 2.1.0 welcome spammer :)";
export const REPLY_RCPT_BLACKLISTED = "250 2.1.5 I feed spamassassin now!";
export const REPLY_FLUSHED = "250 2.0.0 flushed";
export const REPLY_GO_AHEAD = "354 go ahead";
export const REPLY_VRFY = "252 2.1.5 send some mail, i'll try my best";
/** qmail 1.03's wording; netqmail and notqmail print their own home page here. */
export const REPLY_HELP = "214 2.0.0 qmail home page: http://pobox.com/~djb/qmail.html";

export const REPLY_MAIL_FIRST = "503 5.5.1 MAIL first";
export const REPLY_RCPT_FIRST = "503 5.5.1 RCPT first";
export const REPLY_UNIMPLEMENTED = "502 5.5.1 unimplemented";
/** Address syntax, and addresses of maxaddrlen bytes or more (§8.4). */
export const REPLY_SYNTAX = "555 5.5.4 syntax error";
export const REPLY_BAD_MAIL_FROM =
  "553 5.7.1 sorry, your envelope sender is in my badmailfrom list";
export const REPLY_NO_GATEWAY =
  "553 5.7.1 sorry, that domain isn't in my list of allowed rcpthosts";

export const REPLY_TOO_MANY_HOPS = "554 5.4.6 too many hops, this message is looping";
export const REPLY_TOO_BIG = "552 5.3.4 sorry, that message size exceeds my databytes limit";
/** Any bare LF inside DATA; qmail disconnects after it (§8.7, smtplf). */
export const REPLY_BARE_LF = "451 4.5.0 See http://pobox.com/~djb/docs/smtplf.html.";
export const REPLY_TIMEOUT = "451 4.4.2 timeout";

/** HELO/EHLO without an argument: the wording of the qmail-md patch (docs/patches.md seed 000). */
export const REPLY_NEED_HOSTNAME = "501 5.5.4 syntax error, I need your hostname";

/**
 * DATA after MAIL with no accepted recipient: qmail-md answers this and hangs
 * up (docs/patches.md seed 000 README.antispam, "stolen from postfix").
 */
export const REPLY_BREAK_RULES = "221 2.0.0 error: I can break rules, too. goodbye.";

/**
 * qmd's own: a command line holding a NUL byte. qmail's C strings would cut
 * the line at the NUL and act on the rest (docs/reliability.md P3); qmd
 * refuses the whole line instead, in qmail's syntax-error wording.
 */
export const REPLY_NUL_IN_COMMAND = "501 5.5.4 syntax error";

/**
 * A command line over maxcmdlen (docs/patches.md seed 000; qmd's default 4096). RFC 5321
 * §4.2.4 names 500 for "command line too long".
 */
export const REPLY_LINE_TOO_LONG = "500 5.5.2 sorry, that command line is too long";

/** Over maxrecipients or maxrcpt: RFC 5321 §4.5.3.1.10 asks for 452 so the client retries the rest. */
export const REPLY_TOO_MANY_RECIPIENTS = "452 4.5.3 sorry, too many recipients";

/**
 * BATV (docs/patches.md seed 001): a bounce to an address this host did not sign, or whose tag is
 * bad or stale.
 */
export const REPLY_BATV_UNSIGNED = "553 5.7.1 sorry, this bounce is for an address I did not sign";
export const REPLY_BATV_INVALID =
  "553 5.7.1 sorry, the signature of this bounce address is bad or expired";

/** Submission without AUTH (RFC 4954 §6, RFC 6409 §4.3). */
export const REPLY_AUTH_REQUIRED = "530 5.7.0 authentication required";

// STARTTLS (RFC 3207).
export const REPLY_TLS_READY = "220 2.0.0 ready to start TLS";
export const REPLY_TLS_ACTIVE = "503 5.5.1 TLS is already active";
export const REPLY_TLS_SYNTAX = "501 5.5.4 STARTTLS takes no argument";

// AUTH (RFC 4954 §4 and §6).
export const REPLY_AUTH_OK = "235 2.7.0 ok, go ahead";
export const REPLY_AUTH_FAILED = "535 5.7.8 authentication failed";
export const REPLY_AUTH_TEMPORARY = "454 4.7.0 temporary authentication failure";
export const REPLY_AUTH_CANCELLED = "501 5.0.0 authentication cancelled";
export const REPLY_AUTH_DECODE = "501 5.5.2 cannot decode the response";
export const REPLY_AUTH_SYNTAX = "501 5.5.4 AUTH needs a mechanism";
export const REPLY_AUTH_MECHANISM = "504 5.5.4 unrecognized authentication type";
export const REPLY_AUTH_TWICE = "503 5.5.1 you are already authenticated";
export const REPLY_AUTH_IN_TRANSACTION = "503 5.5.1 no AUTH during a mail transaction";
export const REPLY_AUTH_NEEDS_TLS =
  "538 5.7.11 encryption required for requested authentication mechanism";
/** qmd's own: the per-IP failed-AUTH limit was reached; the connection is closed. */
export const REPLY_AUTH_BLOCKED = "421 4.7.0 too many failed authentications, try again later";

/** SIZE= over the limit at MAIL time (RFC 1870 §6.1). */
export const REPLY_SIZE_TOO_BIG = REPLY_TOO_BIG;

/** qmail-smtpd's codes for a queue failure: qmail_close's D texts and its Z texts. */
const REPLY_CODE_QUEUE_PERMANENT = 554;
const REPLY_CODE_QUEUE_TEMPORARY = 451;

/**
 * `250 2.6.0 ok TIME qp QP` once the queue committed the message (§8.3, docs/patches.md seed 000).
 */
export function formatAcceptedReply(time: number, qp: string): string {
  return `250 2.6.0 ok ${time} qp ${qp}`;
}

/**
 * A queue failure, the SMTP edge of MailError: qmail_close's text (§3.4)
 * starts with D (permanent) or Z (temporary); the reply is 554 or 451 and
 * the text without that letter, its trailing `(#x.y.z)` moved to the front.
 * A custom text from a QMAILQUEUE program (docs/patches.md seed 001) goes out as written.
 * Anything not starting with D is treated as temporary (parseStatusText).
 */
export function formatQueueErrorReply(text: string): string {
  const { temporary, text: body } = parseStatusText(text);
  const code = temporary ? REPLY_CODE_QUEUE_TEMPORARY : REPLY_CODE_QUEUE_PERMANENT;
  const match = /^(.*?)\s*\(#(\d\.\d{1,3}\.\d{1,3})\)$/.exec(body);
  return match === null ? `${code} ${body}` : `${code} ${match[2]} ${match[1]}`;
}

/** A content scan of the message failed (threw), unless its check said otherwise: try later. */
export const REPLY_SCAN_FAILED = "451 4.3.0 the message could not be scanned, try again later";
