/**
 * What the SMTP and POP3 connection drivers share about their connection:
 * the per-read/write timeout (qmail's timeoutsmtpd, qmail-popup's 1200 s),
 * a session ended by the client breaking the protocol, and which errors are
 * just a client going away.
 */

/** A read or write did not finish within the session's timeout. */
export class ReadTimeout extends Error {}

/** The client broke the protocol in a way that ends the session (databeforegreet, TLS failure). */
export class SessionAbort extends Error {}

export function withTimeout<T>(promise: Promise<T>, seconds: number): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new ReadTimeout()), seconds * 1000);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** The client hung up: nothing to log. */
export function isDisconnect(error: unknown): boolean {
  const code = (error as { code?: string })?.code;
  return code === "ECONNRESET" || code === "EPIPE" || error instanceof Deno.errors.BrokenPipe ||
    error instanceof Deno.errors.ConnectionReset;
}

export function realSleep(seconds: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, seconds * 1000));
}
