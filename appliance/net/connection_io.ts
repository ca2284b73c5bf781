/**
 * What the SMTP and POP3 connection drivers share about their connection:
 * the errors that end a wait for the client (client_wait.ts decides when),
 * the TLS handshake's deadline, a session ended by the client breaking the
 * protocol, and which errors are just a client going away.
 */

/** A wait for the client ended: qmail's timeout for a read or write, or stress mode's (the message says). */
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

/** The client hung up: nothing to log. */
export function isDisconnect(error: unknown): boolean {
  const code = (error as { code?: string })?.code;
  return code === "ECONNRESET" || code === "EPIPE" || error instanceof Deno.errors.BrokenPipe ||
    error instanceof Deno.errors.ConnectionReset;
}

export function realSleep(seconds: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, seconds * 1000));
}
