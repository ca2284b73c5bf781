/**
 * mbox delivery, qmail-local's mailfile() (docs/queue-format.md §6.6): open for
 * append (created 0600), take an exclusive flock for at most 30 seconds,
 * remember the end offset, write UFLINE, RPLINE, DTLINE and the message with
 * `>` added to every line matching `>*From `, an LF after an unterminated last
 * line, one blank separator line; fsync. A write error truncates the file back
 * to the remembered offset (when locked). Every failure is temporary.
 *
 * The lock is flock(2) (Deno's FsFile.tryLock), the lock qmail's lock_ex
 * takes, so qmail programs and mail readers using flock see it.
 */
import { DeliveryError, errorText } from "./delivery_error.ts";
import { writeAll } from "../write_all.ts";
import { concatBytes } from "../bytes.ts";

export const MBOX_LOCK_TIMEOUT_MS = 30_000;
export const MBOX_LOCKED = "File has been locked for 30 seconds straight. (#4.3.0)";

const BUFFER_BYTES = 64 * 1024;
const LF = 0x0a;
const GT = 0x3e;
const FROM_ = [0x46, 0x72, 0x6f, 0x6d, 0x20]; // "From "

/** The lines written in front of the message. */
export interface MboxParts {
  ufline: Uint8Array;
  rpline: Uint8Array;
  dtline: Uint8Array;
}

export interface MboxOptions {
  /** How long to wait for the lock (qmail: 30 s). */
  lockTimeoutMs?: number;
  /** How long to wait between lock attempts (default 100 ms). */
  lockPollMs?: number;
}

/** A byte buffer that grows as needed. */
class ByteSink {
  #bytes = new Uint8Array(1024);
  #length = 0;

  push(byte: number): void {
    if (this.#length === this.#bytes.length) {
      const grown = new Uint8Array(this.#bytes.length * 2);
      grown.set(this.#bytes);
      this.#bytes = grown;
    }
    this.#bytes[this.#length++] = byte;
  }

  take(): Uint8Array {
    const out = this.#bytes.slice(0, this.#length);
    this.#length = 0;
    return out;
  }
}

/**
 * Streams message bytes into mbox form (pure, bounded memory): quotes
 * `>*From ` lines with one more `>` and, at the end, terminates an
 * unterminated last line. Call push() per chunk and finish() once. Only a
 * count of the `>` at a line start is held back while deciding.
 */
export class FromLineQuoter {
  #atLineStart = true;
  #greaterThan = 0;
  #fromMatched = 0;
  #lastByte = LF;
  #sawBytes = false;

  #release(out: ByteSink, quote: boolean): void {
    if (quote) out.push(GT);
    for (let i = 0; i < this.#greaterThan; i++) out.push(GT);
    for (let i = 0; i < this.#fromMatched; i++) out.push(FROM_[i]);
    this.#atLineStart = false;
    this.#greaterThan = 0;
    this.#fromMatched = 0;
  }

  push(chunk: Uint8Array): Uint8Array {
    const out = new ByteSink();
    for (const byte of chunk) {
      this.#sawBytes = true;
      this.#lastByte = byte;
      if (this.#atLineStart) {
        if (this.#fromMatched === 0 && byte === GT) {
          this.#greaterThan++;
          continue;
        }
        if (byte === FROM_[this.#fromMatched]) {
          this.#fromMatched++;
          if (this.#fromMatched === FROM_.length) this.#release(out, true);
          continue;
        }
        this.#release(out, false);
      }
      out.push(byte);
      if (byte === LF) this.#atLineStart = true;
    }
    return out.take();
  }

  /** The bytes still held back, plus an LF if the message did not end with one. */
  finish(): Uint8Array {
    const out = new ByteSink();
    if (this.#atLineStart) this.#release(out, false);
    if (this.#sawBytes && this.#lastByte !== LF) out.push(LF);
    return out.take();
  }
}

/** The whole mbox body of a message held in memory (for tests and small callers). */
export function formatMboxBody(message: Uint8Array): Uint8Array {
  const quoter = new FromLineQuoter();
  return concatBytes([quoter.push(message), quoter.finish(), new Uint8Array([LF])]);
}

/** Waits for an exclusive flock; false on timeout; throws when locking itself fails. */
async function lockExclusive(
  file: Deno.FsFile,
  timeoutMs: number,
  pollMs: number,
): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await file.tryLock(true)) return true;
    const left = deadline - Date.now();
    if (left <= 0) return false;
    await new Promise((resolve) => setTimeout(resolve, Math.min(pollMs, left)));
  }
}

/** Appends the message file to the mbox at `path`; rejects with a temporary DeliveryError. */
export async function deliverToMbox(
  path: string,
  parts: MboxParts,
  messagePath: string,
  options: MboxOptions = {},
): Promise<void> {
  let file: Deno.FsFile;
  try {
    file = await Deno.open(path, { append: true, create: true, mode: 0o600 });
  } catch (error) {
    throw new DeliveryError(true, `Unable to open ${path}: ${errorText(error)}. (#4.2.1)`, {
      cause: error,
    });
  }
  let locked = false;
  try {
    try {
      locked = await lockExclusive(
        file,
        options.lockTimeoutMs ?? MBOX_LOCK_TIMEOUT_MS,
        options.lockPollMs ?? 100,
      );
      if (!locked) throw new DeliveryError(true, MBOX_LOCKED);
    } catch (error) {
      if (error instanceof DeliveryError) throw error;
      locked = false; // a lock error (not a timeout): qmail proceeds unlocked
    }
    const start = await file.seek(0, Deno.SeekMode.End);
    const writeFailed = async (error: unknown): Promise<never> => {
      if (locked) await file.truncate(start).catch(() => {});
      throw new DeliveryError(true, `Unable to write ${path}: ${errorText(error)}. (#4.3.0)`, {
        cause: error,
      });
    };

    let message: Deno.FsFile;
    try {
      message = await Deno.open(messagePath, { read: true });
    } catch (error) {
      if (locked) await file.truncate(start).catch(() => {});
      throw new DeliveryError(true, `Unable to read message: ${errorText(error)}. (#4.3.0)`, {
        cause: error,
      });
    }
    try {
      try {
        await writeAll(file, concatBytes([parts.ufline, parts.rpline, parts.dtline]));
      } catch (error) {
        await writeFailed(error);
      }
      const quoter = new FromLineQuoter();
      const buffer = new Uint8Array(BUFFER_BYTES);
      for (;;) {
        let count: number | null;
        try {
          count = await message.read(buffer);
        } catch (error) {
          if (locked) await file.truncate(start).catch(() => {});
          throw new DeliveryError(true, `Unable to read message: ${errorText(error)}. (#4.3.0)`, {
            cause: error,
          });
        }
        if (count === null) break;
        try {
          await writeAll(file, quoter.push(buffer.subarray(0, count)));
        } catch (error) {
          await writeFailed(error);
        }
      }
      try {
        await writeAll(file, concatBytes([quoter.finish(), new Uint8Array([LF])]));
        await file.sync();
      } catch (error) {
        await writeFailed(error);
      }
    } finally {
      message.close();
    }
  } finally {
    file.close();
  }
}
