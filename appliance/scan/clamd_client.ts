/**
 * A clamd INSTREAM conversation over TCP or a Unix socket (clamd(8)):
 * `zINSTREAM\0`, then chunks each framed by its length as a 4-byte
 * big-endian number, then a zero length; clamd answers one NUL-terminated
 * line. Chunks are sent as they come, so a message is never held whole.
 *
 * clamd may answer before the end: when the stream passes its
 * StreamMaxLength it replies `INSTREAM size limit exceeded. ERROR` and
 * closes. So the reply is read from the start, and once it is in (or the
 * connection broke) further chunks are dropped instead of failing the
 * sender; finish() then hands over what clamd said, or why there is nothing.
 *
 * Every wait (connect, each write, the reply) is bounded by timeoutclamd.
 * As in seed 000 (md20), a broken connection is not retried.
 */
import type { ClamdTarget } from "../../config/clamd.ts";
import { MailError } from "../mail_error.ts";

/**
 * clamd could not be asked, or gave no answer. The message says why, for the
 * log. Temporary: clamd may be back for the next try.
 */
export class ClamdError extends MailError {
  constructor(message: string) {
    super(message, { temporary: true });
    this.name = "ClamdError";
  }
}

export interface ClamdStream {
  /** One INSTREAM chunk; dropped once clamd answered or the connection broke. */
  send(chunk: Uint8Array): Promise<void>;
  /** Ends the stream and returns clamd's reply, its NUL removed. Throws ClamdError. */
  finish(): Promise<string>;
  /** Releases the connection; may be called more than once. */
  close(): void;
}

const COMMAND = new TextEncoder().encode("zINSTREAM\0");
/** The longest reply kept; clamd's are one short line. */
const REPLY_BYTES = 4096;
/** A chunk larger than this goes to clamd in pieces of this size. */
const PIECE_BYTES = 1024 * 1024;

/** `127.0.0.1:3310` or the socket's path, for log lines. */
export function describeClamdTarget(target: ClamdTarget): string {
  if (target.kind === "unix") return target.path;
  return target.host.includes(":")
    ? `[${target.host}]:${target.port}`
    : `${target.host}:${target.port}`;
}

/** Connects and sends the INSTREAM command. Throws ClamdError when clamd cannot be reached. */
export async function openClamdStream(
  target: ClamdTarget,
  timeoutSeconds: number,
): Promise<ClamdStream> {
  const where = describeClamdTarget(target);
  const connecting: Promise<Deno.Conn> = target.kind === "unix"
    ? Deno.connect({ transport: "unix", path: target.path })
    : Deno.connect({ hostname: target.host, port: target.port });
  let conn: Deno.Conn;
  try {
    conn = await within(connecting, timeoutSeconds, `no connection to clamd at ${where}`);
  } catch (error) {
    // A connect that completes after the timeout is closed, not leaked.
    connecting.then((late) => late.close(), () => {});
    throw error instanceof ClamdError
      ? error
      : new ClamdError(`cannot connect to clamd at ${where}: ${(error as Error).message}`);
  }
  const stream = new InstreamConnection(conn, timeoutSeconds, where);
  await stream.start();
  return stream;
}

class InstreamConnection implements ClamdStream {
  readonly #conn: Deno.Conn;
  readonly #seconds: number;
  readonly #where: string;
  readonly #reply: Promise<string | undefined>;
  #answered = false;
  /** Why the connection is unusable, once it is. */
  #broken: string | undefined;
  #closed = false;

  constructor(conn: Deno.Conn, seconds: number, where: string) {
    this.#conn = conn;
    this.#seconds = seconds;
    this.#where = where;
    this.#reply = this.#readReply();
  }

  async start(): Promise<void> {
    await this.#write(COMMAND);
    if (this.#broken !== undefined) {
      this.close();
      throw new ClamdError(this.#broken);
    }
  }

  async send(chunk: Uint8Array): Promise<void> {
    for (let start = 0; start < chunk.length; start += PIECE_BYTES) {
      if (this.#answered || this.#broken !== undefined) return;
      const piece = chunk.subarray(start, start + PIECE_BYTES);
      const header = new Uint8Array(4);
      new DataView(header.buffer).setUint32(0, piece.length);
      await this.#write(header);
      await this.#write(piece);
    }
  }

  async finish(): Promise<string> {
    try {
      if (!this.#answered && this.#broken === undefined) await this.#write(new Uint8Array(4));
      const reply = await within(
        this.#reply,
        this.#seconds,
        `clamd at ${this.#where} did not answer within ${this.#seconds} s`,
      );
      if (reply === undefined) {
        throw new ClamdError(
          this.#broken ?? `clamd at ${this.#where} closed the connection without an answer`,
        );
      }
      return reply;
    } finally {
      this.close();
    }
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    try {
      this.#conn.close();
    } catch {
      // Closed already.
    }
  }

  /** Writes all of `bytes` within the timeout; a failure marks the connection broken. */
  async #write(bytes: Uint8Array): Promise<void> {
    if (this.#broken !== undefined) return;
    try {
      await within(
        writeAll(this.#conn, bytes),
        this.#seconds,
        `clamd at ${this.#where} took no data for ${this.#seconds} s`,
      );
    } catch (error) {
      this.#broken ??= error instanceof ClamdError
        ? error.message
        : `lost clamd at ${this.#where}: ${(error as Error).message}`;
      // A write that timed out may still be pending: closing ends it.
      if (error instanceof ClamdError) this.close();
    }
  }

  /** clamd's reply up to its NUL, or undefined when the connection ends without one. */
  async #readReply(): Promise<string | undefined> {
    const reply = new Uint8Array(REPLY_BYTES);
    let length = 0;
    const buffer = new Uint8Array(512);
    try {
      while (length < REPLY_BYTES) {
        const count = await this.#conn.read(buffer);
        if (count === null) break;
        const piece = buffer.subarray(0, Math.min(count, REPLY_BYTES - length));
        reply.set(piece, length);
        length += piece.length;
        const nul = reply.subarray(0, length).indexOf(0);
        if (nul >= 0) {
          length = nul;
          break;
        }
      }
    } catch {
      // Closed or reset: what arrived is all there is.
    }
    if (length === 0) return undefined;
    this.#answered = true;
    return new TextDecoder("latin1").decode(reply.subarray(0, length));
  }
}

async function writeAll(conn: Deno.Conn, bytes: Uint8Array): Promise<void> {
  let written = 0;
  while (written < bytes.length) written += await conn.write(bytes.subarray(written));
}

/** The promise's value, or a ClamdError saying `why` after `seconds`. */
function within<T>(promise: Promise<T>, seconds: number, why: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new ClamdError(why)), seconds * 1000);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
