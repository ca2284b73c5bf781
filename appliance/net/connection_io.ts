/**
 * What the SMTP and POP3 connection drivers share about their connection:
 * the per-read/write timeout (qmail's timeoutsmtpd, qmail-popup's 1200 s),
 * the overall deadlines qmd adds (a whole command line, a whole DATA, a TLS
 * handshake), a session ended by the client breaking the protocol, and which
 * errors are just a client going away.
 */

/** A read or write did not finish within the session's timeout. */
export class ReadTimeout extends Error {}

/**
 * A command line or a DATA section was still unfinished at its overall
 * deadline, however often single bytes arrived (a slowloris client). The
 * session answers as for any timeout; the message says which deadline.
 */
export class DeadlineExceeded extends ReadTimeout {}

/** The client broke the protocol in a way that ends the session (databeforegreet, TLS failure). */
export class SessionAbort extends Error {}

/**
 * Seconds a TLS handshake may take (SMTPS and POP3S before the greeting,
 * STARTTLS and STLS after their reply). A handshake is a few round trips;
 * one that has not finished by then holds a session slot for nothing.
 */
export const TLS_HANDSHAKE_SECONDS = 10;

/**
 * Replies queued past this many characters are written before the next
 * command is taken, so a pipelining client that never reads holds at most
 * this much output (and its unread input) in memory.
 */
export const OUTPUT_HIGH_WATER = 64 * 1024;

export function withTimeout<T>(promise: Promise<T>, seconds: number): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new ReadTimeout()), seconds * 1000);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** An overall deadline: what must be done by `at` (Unix ms), and how to say it was not. */
export interface Deadline {
  at: number;
  /** For the log: "command line not finished within 120 s". */
  what: string;
}

/**
 * One read bounded by the per-read timeout and, when given, by an overall
 * deadline: whichever comes first. Past the deadline it fails at once.
 */
export function readWithin<T>(
  promise: Promise<T>,
  seconds: number,
  deadline: Deadline | undefined,
  now: number = Date.now(),
): Promise<T> {
  if (deadline === undefined) return withTimeout(promise, seconds);
  const left = (deadline.at - now) / 1000;
  if (left >= seconds) return withTimeout(promise, seconds);
  if (left <= 0) {
    promise.catch(() => {});
    return Promise.reject(new DeadlineExceeded(deadline.what));
  }
  return withTimeout(promise, left).catch((error) => {
    throw error instanceof ReadTimeout ? new DeadlineExceeded(deadline.what) : error;
  });
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
