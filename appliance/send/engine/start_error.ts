import { MailError } from "../../mail_error.ts";

/**
 * A start-up failure of the send engine, worded as qmail-send's alert
 * (without the `alert: ` prefix). Temporary: qmail-send exits 111.
 */
export class SendStartError extends MailError {
  constructor(message: string, options?: ErrorOptions) {
    super(message, { ...options, temporary: true });
    this.name = "SendStartError";
  }
}
