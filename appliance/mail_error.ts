/**
 * MailError (config/mail_error.ts) and its conversions at the edges, where
 * a failure leaves qmd in one of qmail's forms: an exit code (100, 111) or
 * a status letter (`D`, `Z`, `K`: qmail_close's texts, qmail-lspawn's and
 * qmail-rspawn's reports). SMTP and POP3 replies are made in their cores
 * (smtp/replies.ts formatQueueErrorReply, pop3/session.ts mailboxFailed).
 */
import { EXIT, type FailureExitCode } from "./exit_codes.ts";
import { isTemporary } from "../config/mail_error.ts";

export { isTemporary, MailError, type MailErrorInit } from "../config/mail_error.ts";

/** qmail's result letters: K done, Z try again later, D failed for good. */
export type StatusLetter = "K" | "Z" | "D";

/** The letter of a failure: D when it is permanent, Z otherwise. */
export function failureLetter(temporary: boolean): "D" | "Z" {
  return temporary ? "Z" : "D";
}

/** A text that starts with its status letter, split (see parseStatusText). */
export interface StatusText {
  temporary: boolean;
  /** The text after the letter: qmail's wording for the peer. */
  text: string;
}

/**
 * Reads a text that starts with its status letter, as qmail_close returns
 * it (docs/queue-format.md §3.4) and a QMAILQUEUE program writes it (exit
 * 82, docs/patches.md seed 001). Only `D` is permanent; qmail's callers test for nothing
 * else, so any other first letter is temporary.
 */
export function parseStatusText(text: string): StatusText {
  return { temporary: !text.startsWith("D"), text: text.slice(1) };
}

/** qmail's exit code for a failure: 100 when it is known to be permanent, else 111. */
export function exitCodeFor(error: unknown): FailureExitCode {
  return isTemporary(error) ? EXIT.temporary : EXIT.permanent;
}
