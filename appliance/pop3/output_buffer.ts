/**
 * A POP3 session's output: reply lines and RETR/TOP messages appended in
 * place to one byte buffer, written to the client in few, large writes.
 * issue 16's profile of 1,000 pipelined RETRs found the bytes of each
 * message allocated and copied five times (a read buffer, a conversion
 * buffer and its fresh replacement, the "+OK" line joined to the first
 * bytes, the queue joined for the write); here a message is read once into
 * a scratch buffer and converted once into this one.
 *
 * Two buffers take turns: send() lends the filled one to the writer and
 * appends to the other meanwhile, and takes the lent one back only when its
 * write has finished (a transport may hold the bytes until then: node's
 * socket.write calls back once they are handed to the kernel). A buffer
 * grown past RETAIN_BYTES is not kept, so an idle session holds at most
 * two of that size.
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
  #flushes = 0;
  /** The write send() started, until it has finished. */
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

  /** Bytes appended and not written yet. */
  get size(): number {
    return this.#used;
  }

  /**
   * The buffer, with room for `length` more bytes from `size` on (grown by
   * copying when short). Valid until the next room(), text() or flush();
   * say what was filled with advance().
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

  /** How many times bytes were handed to the writer. */
  get flushes(): number {
    return this.#flushes;
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

  /** Drops what was appended after `size` (a reply taken back). */
  truncate(size: number): void {
    if (size < 0 || size > this.#used) throw new RangeError(`Cannot truncate to ${size}`);
    this.#used = size;
  }

  /**
   * Starts writing everything appended, once the write before has finished
   * (so at most one write is under way, and at most two buffers are held),
   * without waiting for this one: the session reads its next commands and
   * converts the next message meanwhile. A failed write is thrown by the
   * next send() or flush(), and rejects `failed`.
   */
  async send(): Promise<void> {
    await this.#settle();
    if (this.#used === 0) return;
    const lent = this.#bytes;
    const bytes = lent.subarray(0, this.#used);
    this.#bytes = this.#spare ?? new Uint8Array(INITIAL_BYTES);
    this.#spare = undefined;
    this.#used = 0;
    this.#flushes++;
    this.#inFlight = this.#write(bytes).then(() => {
      // A write that failed or timed out may still hold `lent`: it is not reused then.
      if (lent.length <= RETAIN_BYTES) this.#spare = lent;
    }, (error) => {
      this.#failure = { error };
      this.#rejectFailed(error);
    });
  }

  /** Writes out everything appended and waits until it is written. */
  async flush(): Promise<void> {
    await this.send();
    await this.#settle();
  }

  /** Rejects with the error of a write send() started; never resolves. */
  get failed(): Promise<never> {
    return this.#failed;
  }

  async #settle(): Promise<void> {
    if (this.#inFlight !== undefined) {
      await this.#inFlight;
      this.#inFlight = undefined;
    }
    if (this.#failure !== undefined) throw this.#failure.error;
  }
}
