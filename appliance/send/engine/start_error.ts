/** A start-up failure of the send engine, worded as qmail-send's alert (without the `alert: ` prefix). */
export class SendStartError extends Error {
  readonly temporary = true;

  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "SendStartError";
  }
}
