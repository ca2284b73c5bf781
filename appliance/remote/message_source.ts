/**
 * The mess/ file as a remote delivery reads it (dkim_sign.ts's MessageFile:
 * from the start after seek(0), in chunks). A message up to
 * SMALL_MESSAGE_BYTES is read into memory once, synchronously, as local
 * delivery does: measuring it, signing it and sending it then read memory,
 * where every read and seek on the file was an operation on Deno's I/O
 * threads, about 30 µs of CPU each (README, issue 16's fifth round). A queue
 * message never changes once queued. A larger one is read from the file.
 */
import { openFileSize, readSmallFileSync } from "../durable_file.ts";
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
  let bytes: Uint8Array | undefined;
  try {
    bytes = readSmallFileSync(file, SMALL_MESSAGE_BYTES);
  } catch (error) {
    file.close();
    throw error;
  }
  if (bytes === undefined) {
    // Large, or it grew while it was read: the attempts read the file.
    return { file, size: openFileSize(file), close: () => file.close() };
  }
  file.close();
  return { file: new MemoryMessage(bytes), size: bytes.length, close: () => {} };
}
