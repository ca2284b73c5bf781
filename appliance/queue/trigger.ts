/**
 * lock/trigger, the FIFO through which queue writers wake the sender
 * (docs/queue-format.md §3.2 step 11, §4.2).
 */
import { closeSync, constants, openSync, writeSync } from "node:fs";
import { logWarning } from "../log.ts";
import type { QueueLayout } from "./layout.ts";

/**
 * What a pull writes: one byte. qmail-queue writes NUL, which tells the
 * sender only that something came. qmd's writers name where the new todo
 * entry is, so that with one message at a time the sender lists one
 * directory instead of todo/ and its 23 splits: 1 + the split directory's
 * number, or FLAT_TODO for todo/ itself. Readers that only wake on the byte
 * (qmail-send) are not affected by its value.
 */
const BYTES = Array.from({ length: 256 }, (_, value) => Uint8Array.of(value));
/** The byte for an entry in todo/ itself (not split). */
const FLAT_TODO = 255;
/** Bytes read at once: a read that fills this may have followed a full FIFO, which drops pulls. */
const READ_BYTES = 512;

/** The byte a pull for message `id` writes; NUL when it cannot say (qmail's byte). */
function triggerByte(layout: QueueLayout, id: bigint | undefined): number {
  if (id === undefined) return 0;
  if (!layout.todoSplit) return FLAT_TODO;
  const bucket = Number(id % BigInt(layout.split));
  return bucket + 1 < FLAT_TODO ? bucket + 1 : 0;
}

/**
 * The todo directories that `bytes` (read from the FIFO) name, or undefined
 * when all of todo/ must be listed: a NUL (qmail-queue's pull), a byte that
 * names no directory, or a read that filled the buffer (pulls may have been
 * dropped while the FIFO was full).
 */
export function triggeredDirectories(
  layout: QueueLayout,
  bytes: Uint8Array,
): string[] | undefined {
  if (bytes.length >= READ_BYTES) return undefined;
  const top = layout.directory("todo");
  const named = new Set<string>();
  for (const byte of bytes) {
    if (byte === FLAT_TODO) named.add(top);
    else if (byte === 0 || !layout.todoSplit || byte > layout.split) return undefined;
    else named.add(`${top}/${byte - 1}`);
  }
  return [...named];
}

/** Write ends of trigger FIFOs kept open by path, for writers that pull again and again. */
const heldTriggers = new Map<string, number>();

/**
 * Wakes whoever watches lock/trigger, as qmail-queue does: open it
 * write-only and non-blocking, write one byte, close. Every error is
 * ignored; ENXIO (nobody listening) is the usual one (§3.2 step 11). With
 * `id`, the byte says which todo directory its entry is in (triggerByte).
 *
 * Not qmail: the write end stays open after a successful write, since this
 * process (an smtpd isolate) commits message after message and an open costs
 * a permission walk (held_directories.ts). A write that fails (EPIPE once the
 * reader is gone) drops the held end and tries once more with a fresh open.
 */
export function pullTrigger(layout: QueueLayout, id?: bigint): void {
  const byte = BYTES[triggerByte(layout, id)];
  const held = heldTriggers.get(layout.trigger);
  if (held !== undefined) {
    if (writeByte(held, byte)) return;
    heldTriggers.delete(layout.trigger);
    closeQuietly(held);
  }
  let fd: number;
  try {
    fd = openSync(layout.trigger, constants.O_WRONLY | constants.O_NONBLOCK);
  } catch {
    return; // qmail-queue ignores every trigger error.
  }
  if (writeByte(fd, byte)) heldTriggers.set(layout.trigger, fd);
  else closeQuietly(fd);
}

function writeByte(fd: number, byte: Uint8Array): boolean {
  try {
    writeSync(fd, byte);
    return true;
  } catch (error) {
    // A full FIFO (EAGAIN) already holds a wake-up: the end is still good.
    return (error as { code?: string }).code === "EAGAIN";
  }
}

function closeQuietly(fd: number): void {
  try {
    closeSync(fd);
  } catch {
    // Nothing to do.
  }
}

export interface TriggerWatch {
  /** Stops watching; the pending read is cancelled. */
  close(): void;
  /** Settles once the watch loop has stopped. */
  readonly closed: Promise<void>;
}

/**
 * Calls `onWake` with the bytes read each time something is written to
 * lock/trigger (triggeredDirectories says what they name). The FIFO is
 * opened read-write so that the open never blocks and reads never see EOF
 * when writers go away; qmail-send instead reopens it O_RDONLY|O_NDELAY
 * before each todo scan (§4.2), which this replaces. A read error stops the
 * watch and is passed to `onError` (default: a logged warning).
 */
export function watchTrigger(
  layout: QueueLayout,
  onWake: (bytes: Uint8Array) => void,
  onError: (error: unknown) => void = (error) =>
    logWarning(`trouble reading ${layout.trigger}: ${(error as Error).message}`),
): TriggerWatch {
  const file = Deno.openSync(layout.trigger, { read: true, write: true });
  let stopped = false;
  const closed = (async () => {
    const buffer = new Uint8Array(READ_BYTES);
    try {
      while (!stopped) {
        // Null (EOF) cannot happen while we hold the write side ourselves.
        const read = await file.read(buffer);
        if (read === null) break;
        if (stopped) break;
        try {
          onWake(buffer.subarray(0, read));
        } catch (error) {
          onError(error);
        }
      }
    } catch (error) {
      // Closing the file cancels the pending read, which then rejects: not an error.
      if (!stopped) onError(error);
    } finally {
      if (!stopped) {
        stopped = true;
        file.close();
      }
    }
  })();
  return {
    closed,
    close() {
      if (stopped) return;
      stopped = true;
      file.close();
    },
  };
}

/**
 * Makes a named pipe with exactly `mode` (umask undone with chmod), as the
 * qmail installer makes lock/trigger (§2.1: mode 0622). Uses libc's mkfifo
 * through FFI, else the mkfifo command. Throws when the path exists.
 */
export function makeFifo(path: string, mode = 0o622): void {
  if (!makeFifoWithLibc(path, mode)) {
    const result = new Deno.Command("mkfifo", { args: ["-m", mode.toString(8), "--", path] })
      .outputSync();
    if (!result.success) {
      const reason = new TextDecoder().decode(result.stderr).trim();
      throw new Error(`Cannot make FIFO ${path}: ${reason}`);
    }
  }
  Deno.chmodSync(path, mode);
}

/** True when libc made the FIFO; false when FFI is unavailable; throws when mkfifo failed. */
function makeFifoWithLibc(path: string, mode: number): boolean {
  let library;
  try {
    library = Deno.dlopen(
      "libc.so.6",
      {
        mkfifo: { parameters: ["buffer", "u32"], result: "i32" },
      } as const,
    );
  } catch {
    return false;
  }
  try {
    const name = new TextEncoder().encode(`${path}\0`);
    if (library.symbols.mkfifo(name, mode) !== 0) {
      try {
        Deno.lstatSync(path);
      } catch {
        throw new Error(`Cannot make FIFO ${path}`);
      }
      throw new Deno.errors.AlreadyExists(`Cannot make FIFO ${path}: it exists`);
    }
    return true;
  } finally {
    library.close();
  }
}
