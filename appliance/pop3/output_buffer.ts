/**
 * A POP3 session's output: reply lines and RETR/TOP messages appended in
 * place to one byte buffer, written to the client with at most one write
 * under way. issue 16's profile of 1,000 pipelined RETRs found the bytes of
 * each message allocated and copied five times (a read buffer, a
 * conversion buffer and its fresh replacement, the "+OK" line joined to the
 * first bytes, the queue joined for the write); here a message is read once
 * into a scratch buffer and converted once into this one.
 *
 * send() asks for everything appended so far to go out and returns at
 * once: written now if no write is under way, else as soon as it has
 * finished, together with whatever else was asked for meanwhile. So a
 * message leaves as soon as it is converted when the client keeps up (a
 * pipelining client works on it while the next is converted), and many
 * leave in one write when it does not. wait() is the backpressure: it holds
 * the session while a write is under way and too much is waiting.
 *
 * Two buffers take turns: a write gets the filled one, appending goes on in
 * the other, and the written one is taken back only when its write has
 * finished (a transport may hold the bytes until then: node's socket.write
 * calls back once they are handed to the kernel). A buffer grown past
 * RETAIN_BYTES is not kept, so an idle session holds at most two of that
 * size. Positions (position, sent, truncate) count from the session's
 * first byte.
 */
export interface OutputBufferOptions {
  /** The first buffer's size; it grows as needed. */
  initialBytes?: number;
  /** A message being appended is written out whenever this much is waiting. */
  flushBytes: number;
}

const INITIAL_BYTES = 16 * 1024;
const RETAIN_BYTES = 512 * 1024;

const encoder = new TextEncoder();

export class OutputBuffer {
  readonly #write: (bytes: Uint8Array) => Promise<void>;
  #bytes: Uint8Array;
  #spare: Uint8Array | undefined;
  #used = 0;
  /** The position of #bytes[0]: everything before it went to the writer. */
  #base = 0;
  /** send() asked for everything before this position to go out. */
  #sendTo = 0;
  /** The write under way, until it has finished. */
  #inFlight: Promise<void> | undefined;
  #failure: { error: unknown } | undefined;
  readonly #failed: Promise<never>;
  readonly #rejectFailed: (error: unknown) => void;
  readonly flushBytes: number;

  /** `write` sends bytes to the client; they stay untouched until its promise settles. */
  constructor(write: (bytes: Uint8Array) => Promise<void>, options: OutputBufferOptions) {
    this.#write = write;
    this.#bytes = new Uint8Array(options.initialBytes ?? INITIAL_BYTES);
    this.flushBytes = options.flushBytes;
    const { promise, reject } = Promise.withResolvers<never>();
    this.#failed = promise;
    this.#rejectFailed = reject;
    // Raced against reads (failed), so never an unhandled rejection by itself.
    promise.catch(() => {});
  }

  /** Bytes appended and not handed to the writer yet. */
  get size(): number {
    return this.#used;
  }

  /** Where the next byte appended goes. */
  get position(): number {
    return this.#base + this.#used;
  }

  /** Everything before this position has been handed to the writer. */
  get sent(): number {
    return this.#base;
  }

  /**
   * The buffer, with room for `length` more bytes from `size` on (grown by
   * copying when short). Valid until the next room(), text() or await; say
   * what was filled with advance().
   */
  room(length: number): Uint8Array {
    const needed = this.#used + length;
    if (needed > this.#bytes.length) {
      const grown = new Uint8Array(Math.max(needed, 2 * this.#bytes.length));
      grown.set(this.#bytes.subarray(0, this.#used));
      this.#bytes = grown;
    }
    return this.#bytes;
  }

  /** `length` bytes were filled in at `size`. */
  advance(length: number): void {
    this.#used += length;
  }

  /** Appends `text` as UTF-8. */
  text(text: string): void {
    const bytes = this.room(3 * text.length);
    this.#used += encoder.encodeInto(text, bytes.subarray(this.#used)).written;
  }

  /** Drops what was appended from `position` on (taken back before it was handed out). */
  truncate(position: number): void {
    if (position < this.#base || position > this.position) {
      throw new RangeError(`Cannot truncate the output to ${position}`);
    }
    this.#used = position - this.#base;
    this.#sendTo = Math.min(this.#sendTo, position);
  }

  /**
   * Asks for everything appended so far to go out: now, or when the write
   * under way has finished. Throws the error of a write that failed.
   */
  send(): void {
    if (this.#failure !== undefined) throw this.#failure.error;
    this.#sendTo = this.position;
    if (this.#inFlight === undefined) this.#start();
  }

  /** send(), then waits while a write is under way and `limit` bytes or more are waiting. */
  async wait(limit: number): Promise<void> {
    this.send();
    while (this.#inFlight !== undefined && this.#used >= limit) await this.#inFlight;
    if (this.#failure !== undefined) throw this.#failure.error;
  }

  /** Writes out everything appended and waits until it is written. */
  async flush(): Promise<void> {
    this.send();
    while (this.#inFlight !== undefined) await this.#inFlight;
    if (this.#failure !== undefined) throw this.#failure.error;
  }

  /** Rejects with the error of a write that failed; never resolves. */
  get failed(): Promise<never> {
    return this.#failed;
  }

  /** Writes what send() asked for; what was appended after that moves to the other buffer. */
  #start(): void {
    const length = this.#sendTo - this.#base;
    if (length <= 0) return;
    const lent = this.#bytes;
    const rest = this.#used - length;
    const next = this.#spare !== undefined && this.#spare.length >= rest
      ? this.#spare
      : new Uint8Array(Math.max(INITIAL_BYTES, rest));
    if (rest > 0) next.set(lent.subarray(length, this.#used));
    this.#spare = undefined;
    this.#bytes = next;
    this.#used = rest;
    this.#base = this.#sendTo;
    this.#inFlight = this.#write(lent.subarray(0, length)).then(() => {
      // A write that failed or timed out may still hold `lent`: it is not reused then.
      if (lent.length <= RETAIN_BYTES) this.#spare = lent;
      this.#inFlight = undefined;
      this.#start();
    }, (error) => {
      this.#failure = { error };
      this.#inFlight = undefined;
      this.#rejectFailed(error);
    });
  }
}
