/**
 * qmail-queue's failures as qmd's callers see them: QueueError carries
 * qmail-queue's exit code and the `D…`/`Z…` text qmail_close makes of it
 * (docs/queue-format.md §3.4); its permanence comes from that text.
 */
import { isPermanentQueueExit, QUEUE_EXIT } from "../exit_codes.ts";
import { MailError, parseStatusText } from "../mail_error.ts";

export interface QueueErrorOptions extends ErrorOptions {
  /** A `D…` (permanent) or `Z…` (temporary) text replacing qmailCloseText(exitCode). */
  replyText?: string;
}

/**
 * A message qmail-queue would not queue. `exitCode` is qmail-queue's exit
 * code (§3.4); `replyText` is qmail_close's `D…`/`Z…` text for it, or the
 * custom text a QMAILQUEUE program gave with exit 82 (docs/patches.md seed 001). The text
 * after the letter is the peer text; only D texts are permanent. The
 * message (path, cause) is for the log.
 */
export class QueueError extends MailError {
  readonly exitCode: number;
  readonly replyText: string;

  constructor(exitCode: number, message: string, options?: QueueErrorOptions) {
    const replyText = options?.replyText ?? qmailCloseText(exitCode);
    const { temporary, text } = parseStatusText(replyText);
    super(message, { ...options, temporary, peerText: text });
    this.name = "QueueError";
    this.exitCode = exitCode;
    this.replyText = replyText;
  }
}

/**
 * The text qmail's client library (qmail_close in qmail.c) makes of a
 * qmail-queue exit code: `D…` permanent, `Z…` temporary, "" for success
 * (§3.4). qmail-smtpd sends it after 554/451 without its first letter.
 */
export function qmailCloseText(exitCode: number): string {
  switch (exitCode) {
    case QUEUE_EXIT.ok:
      return "";
    case QUEUE_EXIT.addressTooLong:
    case QUEUE_EXIT.addressTooLongAlias:
      return "Denvelope address too long for qq (#5.1.3)";
    case QUEUE_EXIT.permanentlyRejected:
      return "Dmail server permanently rejected message (#5.3.0)";
    case QUEUE_EXIT.outOfMemory:
      return "Zqq out of memory (#4.3.0)";
    case QUEUE_EXIT.timeout:
      return "Zqq timeout (#4.3.0)";
    case QUEUE_EXIT.write:
      return "Zqq write error or disk full (#4.3.0)";
    case QUEUE_EXIT.read:
      return "Zqq read error (#4.3.0)";
    case QUEUE_EXIT.configuration:
      return "Zqq unable to read configuration (#4.3.0)";
    case QUEUE_EXIT.network:
      return "Zqq trouble making network connection (#4.3.0)";
    case QUEUE_EXIT.home:
      return "Zqq trouble in home directory (#4.3.0)";
    case QUEUE_EXIT.queue:
    case QUEUE_EXIT.pid:
    case QUEUE_EXIT.mess:
    case QUEUE_EXIT.intd:
    case QUEUE_EXIT.todo:
      return "Zqq trouble creating files in queue (#4.3.0)";
    case QUEUE_EXIT.temporarilyRejected:
      return "Zmail server temporarily rejected message (#4.3.0)";
    case QUEUE_EXIT.connectionTimedOut:
      return "Zconnection to mail server timed out (#4.4.1)";
    case QUEUE_EXIT.connectionRejected:
      return "Zconnection to mail server rejected (#4.4.1)";
    case QUEUE_EXIT.communication:
      return "Zcommunication with mail server failed (#4.4.2)";
    case QUEUE_EXIT.internalBug:
    case QUEUE_EXIT.envelopeFormat:
      return "Zqq internal bug (#4.3.0)";
    case QUEUE_EXIT.execFailed:
      return "Zunable to exec qq (#4.3.0)";
    default:
      return isPermanentQueueExit(exitCode)
        ? "Dqq permanent problem (#5.3.0)"
        : "Zqq temporary problem (#4.3.0)";
  }
}
