/**
 * The one error type of qmd (docs/design.md rule 5): an error knows from
 * the place where it happened whether trying again may help, what the client
 * or peer may be told (qmail's wording) and what the log needs (path, errno,
 * queue id). The edges turn it into what qmail's programs speak: exit codes
 * 100 and 111, the D/Z letters of qmail_close and of delivery reports, and
 * SMTP and POP3 replies (appliance/mail_error.ts).
 *
 * It lives in config/ because config/ is a leaf that may not import
 * appliance/, and config's own errors (control files, cdb files) are mail
 * errors too; appliance/mail_error.ts re-exports it with the conversions.
 */

export interface MailErrorInit extends ErrorOptions {
  /** Whether trying again later may succeed. When unsure, say true. */
  temporary: boolean;
  /** What the client or peer may see, in qmail's wording; the message when absent. */
  peerText?: string;
  /** What the log gets: path, errno, queue id; the message when absent. */
  logReason?: string;
  /** The SMTP reply code this error answers with, when it has one of its own. */
  replyCode?: number;
  /** The RFC 3463 enhanced status code (`4.3.0`), when known. */
  enhancedCode?: string;
}

export class MailError extends Error {
  readonly temporary: boolean;
  readonly peerText: string;
  readonly logReason: string;
  readonly replyCode: number | undefined;
  readonly enhancedCode: string | undefined;

  constructor(message: string, init: MailErrorInit) {
    super(message, init);
    this.name = "MailError";
    this.temporary = init.temporary;
    this.peerText = init.peerText ?? message;
    this.logReason = init.logReason ?? message;
    this.replyCode = init.replyCode;
    this.enhancedCode = init.enhancedCode;
  }
}

/**
 * Whether a failure may go away by itself: false only for a MailError that
 * says it is permanent. Anything else (a bug, an I/O error nobody wrapped)
 * counts as temporary, because a deferral costs far less than a wrong bounce.
 */
export function isTemporary(error: unknown): boolean {
  return !(error instanceof MailError) || error.temporary;
}
