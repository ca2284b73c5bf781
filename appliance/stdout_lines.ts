/**
 * The supervisor's log lines on stdout, written together: a line is queued
 * and all lines queued during one turn of the event loop go out in one write
 * from a setImmediate callback (instead of one console.log, one write(2), per
 * line; a 0 ms timer would cost about ten times the CPU, README issue 16).
 * Order is kept; `flush` writes what is queued at once and runs on drain,
 * terminate and unload, so nothing is lost at exit. A write error
 * (stdout closed) drops the lines, as nothing could be logged anyway.
 */
export class StdoutLines {
  static readonly #encoder = new TextEncoder();
  /** Flush at once past this many queued characters. */
  static readonly #limit = 64 * 1024;
  #lines: string[] = [];
  #length = 0;
  #timer: ReturnType<typeof setImmediate> | undefined;

  constructor() {
    globalThis.addEventListener("unload", () => this.flush());
  }

  write(line: string): void {
    this.#lines.push(line);
    this.#length += line.length + 1;
    if (this.#length >= StdoutLines.#limit) this.flush();
    else this.#timer ??= setImmediate(() => this.flush());
  }

  flush(): void {
    if (this.#timer !== undefined) clearImmediate(this.#timer);
    this.#timer = undefined;
    if (this.#lines.length === 0) return;
    this.#lines.push("");
    const bytes = StdoutLines.#encoder.encode(this.#lines.join("\n"));
    this.#lines = [];
    this.#length = 0;
    try {
      for (let written = 0; written < bytes.length;) {
        written += Deno.stdout.writeSync(bytes.subarray(written));
      }
    } catch {
      // stdout is gone
    }
  }
}
