/**
 * The mess/ file as a remote delivery reads it (dkim_sign.ts's MessageFile:
 * from the start after seek(0), in chunks). A message up to
 * SMALL_MESSAGE_BYTES is read into memory once, synchronously, as local
 * delivery does: measuring it, signing it and sending it then read memory,
 * where every read and seek on the file was an operation on Deno's I/O
 * threads, about 30 µs of CPU each (README, issue 16's fifth round). A queue
 * message never changes once queued. A larger one is read from the file.
 */
import { openFileSize } from "../durable_file.ts";
import type { MessageFile } from "./dkim_sign.ts";

/** Messages up to this size are sent from memory. */
export const SMALL_MESSAGE_BYTES = 256 * 1024;

/** A message's bytes read the way a file is: in chunks from an offset. */
export class MemoryMessage implements MessageFile {
  readonly #bytes: Uint8Array;
  #offset = 0;

  constructor(bytes: Uint8Array) {
    this.#bytes = bytes;
  }

  read(buffer: Uint8Array): Promise<number | null> {
    if (this.#offset >= this.#bytes.length) return Promise.resolve(null);
    const part = this.#bytes.subarray(this.#offset, this.#offset + buffer.length);
    buffer.set(part);
    this.#offset += part.length;
    return Promise.resolve(part.length);
  }

  seek(offset: number | bigint, whence: Deno.SeekMode): Promise<number> {
    const base = whence === Deno.SeekMode.Start
      ? 0
      : whence === Deno.SeekMode.Current
      ? this.#offset
      : this.#bytes.length;
    const target = base + Number(offset);
    if (target < 0) return Promise.reject(new RangeError("seek before the start"));
    this.#offset = target;
    return Promise.resolve(target);
  }
}

/** An open message: what to read it through, its size, and how to let go of it. */
export interface MessageSource {
  file: MessageFile;
  size: number;
  close(): void;
}

/** Opens mess/ID: in memory when small (the file is closed at once), else the open file. Throws. */
export function openMessageSource(path: string): MessageSource {
  const file = Deno.openSync(path, { read: true });
  try {
    const size = openFileSize(file);
    if (size > SMALL_MESSAGE_BYTES) return { file, size, close: () => file.close() };
    // One byte more than the size: a file that grew since is read to its end all the same.
    const chunks: Uint8Array[] = [];
    let length = 0;
    for (;;) {
      const buffer = new Uint8Array(Math.max(size + 1 - length, 4096));
      const count = file.readSync(buffer);
      if (count === null) break;
      chunks.push(buffer.subarray(0, count));
      length += count;
    }
    file.close();
    const bytes = chunks.length === 1 ? chunks[0] : concat(chunks, length);
    return { file: new MemoryMessage(bytes), size: bytes.length, close: () => {} };
  } catch (error) {
    try {
      file.close();
    } catch {
      // closed already
    }
    throw error;
  }
}

function concat(chunks: Uint8Array[], length: number): Uint8Array {
  const bytes = new Uint8Array(length);
  let at = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, at);
    at += chunk.length;
  }
  return bytes;
}
