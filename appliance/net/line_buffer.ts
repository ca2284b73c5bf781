/**
 * Splits a byte stream into LF-terminated command lines with a hard length
 * limit, so a client sending gigabytes without a newline costs a bounded
 * amount of memory (docs/reliability.md P1/P2). Bytes after the last line
 * stay available for the DATA byte machine (PIPELINING).
 */

export type LineResult =
  /** One line without its LF (a trailing CR is left for the protocol core). */
  | { kind: "line"; line: Uint8Array }
  /** A line longer than the limit was discarded up to and including its LF. */
  | { kind: "too-long" };

export class LineBuffer {
  #buffer: Uint8Array = new Uint8Array(0);
  #discarding = false;
  readonly #maxLength: number;

  constructor(maxLength: number) {
    this.#maxLength = maxLength;
  }

  push(chunk: Uint8Array): void {
    if (this.#buffer.length === 0) {
      this.#buffer = chunk;
      return;
    }
    const joined = new Uint8Array(this.#buffer.length + chunk.length);
    joined.set(this.#buffer);
    joined.set(chunk, this.#buffer.length);
    this.#buffer = joined;
  }

  /** The next complete line, or undefined when more input is needed. */
  next(): LineResult | undefined {
    const lf = this.#buffer.indexOf(0x0a);
    if (lf < 0) {
      if (this.#buffer.length > this.#maxLength) {
        this.#discarding = true;
        this.#buffer = new Uint8Array(0);
      }
      return undefined;
    }
    const line = this.#buffer.subarray(0, lf);
    this.#buffer = this.#buffer.subarray(lf + 1);
    if (this.#discarding || line.length > this.#maxLength) {
      this.#discarding = false;
      return { kind: "too-long" };
    }
    return { kind: "line", line };
  }

  /** A line has begun and not ended (bytes buffered, or an over-long line being discarded). */
  get partial(): boolean {
    return this.#buffer.length > 0 || this.#discarding;
  }

  /** Whether input is waiting that has not formed a complete line yet. */
  get pending(): number {
    return this.#buffer.length;
  }

  /** Takes every buffered byte (switching to the DATA byte machine). */
  take(): Uint8Array {
    const rest = this.#buffer;
    this.#buffer = new Uint8Array(0);
    return rest;
  }

  /** Discards buffered input (after STARTTLS, per CVE-2011-0411). */
  clear(): void {
    this.#buffer = new Uint8Array(0);
    this.#discarding = false;
  }
}
