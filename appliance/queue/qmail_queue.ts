/**
 * qmail-queue inside qmd: the only code that creates pid/, mess/, intd/ and
 * todo/ entries (docs/queue-format.md §3.2). It moves a message S1 → S2 (mess
 * written) → S3 (intd written) → S4 (todo linked: the commit point), and on
 * failure back to S1 the way qmail-queue cleans up: truncate and unlink intd,
 * then mess.
 */
import { statSync } from "node:fs";
import { formatIntd, MAX_ADDRESS_BYTES } from "./envelope.ts";
import type { QueueLayout } from "./layout.ts";
import { formatQueueReceived } from "./received.ts";
import { originHeader, withExtraRecipients } from "./queue_extras.ts";
import type { QueueExtras } from "../../config/queue_extras.ts";
import { pullTrigger } from "./trigger.ts";
import { writeAllSync } from "../write_all.ts";
import { concatBytes, stringToBytes } from "../bytes.ts";
import { dirname } from "../durable_file.ts";
import { queueDirectories } from "../held_directories.ts";
import { QUEUE_EXIT } from "../exit_codes.ts";
import { QueueError } from "./queue_error.ts";

// QueueError is what every caller of the queue writer catches.
export { qmailCloseText, QueueError, type QueueErrorOptions } from "./queue_error.ts";

export interface QueueWriterOptions {
  /** The number in the Received line and the intd `p` record ("qp"); default Deno.pid. */
  pid?: number;
  /** Received line WHO: "from network", "for bounce", "by alias", "by uid N" (§3.3). */
  who: string;
  /** Start time for the Received line and the pid file name; default now. */
  now?: Date;
  /**
   * The seed patches' additions (bigbrother, extraqueue, originipfield:
   * config/queue_extras.ts): the header after the Received line, the
   * recipients at the commit.
   */
  extras?: QueueExtras;
}

/** One message being written into the queue. Calls must not overlap: await each one. */
export interface QueueMessage {
  /** The inode number of the mess file, i.e. the message number (§2.2). */
  readonly id: bigint;
  /** Decimal pid used in the Received line and the intd p record. */
  readonly qp: string;
  /** Appends body bytes to mess/NN/ID; buffers up to 64 KiB. A failure aborts (53). */
  write(chunk: Uint8Array): Promise<void>;
  /** Body bytes written so far, the Received line not counted. */
  readonly bytesWritten: number;
  /**
   * Fsyncs mess, writes and fsyncs intd, links todo (the commit point), fsyncs
   * the directories and pulls the trigger. `uid` defaults to the real uid.
   */
  commit(sender: Uint8Array, recipients: Uint8Array[], uid?: string): Promise<void>;
  /** Removes what was created (S2/S3 → S1). Does nothing after a commit; may be called twice. */
  abort(): Promise<void>;
}

/** Flushes the write buffer to disk at this size (qmail's substdio uses 4 KiB; larger is cheaper). */
const BUFFER_BYTES = 65536;

/** qmail-queue tries SEQ = 1..9 for its pid file name; qmd counts on so that in-process calls differ. */
const PID_FILE_ATTEMPTS = 9;
let pidFileSequence = 0;
/**
 * Whether a file created with mode 0644 came out 0644 (the process umask
 * strips none of its bits), learnt from the pid file: then intd needs no
 * chmod. The umask is the process's and qmd never changes it.
 */
let umaskKeeps0644 = false;

/**
 * Starts a message: creates pid/PID.TIME.SEQ with O_EXCL, takes its inode
 * number as the id, links it to mess/NN/ID and removes the pid name (§3.2
 * steps 4–6). The Received line (§3.3) is the first thing written.
 */
export async function openQueueMessage(
  layout: QueueLayout,
  options: QueueWriterOptions,
): Promise<QueueMessage> {
  const pid = options.pid ?? Deno.pid;
  const now = options.now ?? new Date();
  // Metadata calls below are synchronous on purpose: each takes microseconds,
  // and an async file op costs more CPU in thread hand-offs than it saves.
  // Only the fsyncs (in commit) are awaited, so concurrent sessions overlap them.
  const seconds = Math.floor(now.getTime() / 1000);
  let file: Deno.FsFile | undefined;
  let pidPath = "";
  let lastError: unknown;
  for (let attempt = 0; attempt < PID_FILE_ATTEMPTS && !file; attempt++) {
    pidPath = layout.pid(`${pid}.${seconds}.${++pidFileSequence}`);
    try {
      file = Deno.openSync(pidPath, { write: true, createNew: true, mode: 0o644 });
    } catch (error) {
      lastError = error;
      if (error instanceof Deno.errors.NotFound) break;
    }
  }
  if (!file) throw missingQueueError(layout, lastError);

  let id: bigint;
  try {
    // qmail-queue runs with umask 033, so its files are exactly 0644 (§2.1):
    // qmd's umask may strip more, and then the mode is set outright.
    // By name, not through the handle: a handle's stat repeats the permission
    // walk its open made (a readlink per path component), lstat does not. The
    // name was just created with O_EXCL in pid/, where only this process
    // makes names with its pid, so both give the same inode.
    const stat = Deno.lstatSync(pidPath);
    if (((stat.mode ?? 0) & 0o777) !== 0o644) Deno.chmodSync(pidPath, 0o644);
    else umaskKeeps0644 = true;
    id = inodeOf(stat, pidPath);
  } catch (error) {
    await discardPidFile(file, pidPath);
    throw new QueueError(QUEUE_EXIT.pid, `Cannot stat ${pidPath}`, { cause: error });
  }
  const messPath = layout.mess(id);
  try {
    Deno.linkSync(pidPath, messPath);
  } catch (error) {
    // qmail-queue leaves the pid file for qmail-clean's 36-hour sweep; qmd removes it now.
    await discardPidFile(file, pidPath);
    throw new QueueError(QUEUE_EXIT.mess, `Cannot link ${pidPath} to ${messPath}`, {
      cause: error,
    });
  }
  try {
    Deno.removeSync(pidPath);
  } catch (error) {
    // As qmail-queue: exit 63 and leave mess for the 36-hour cleanup (§4.9).
    file.close();
    throw new QueueError(QUEUE_EXIT.pid, `Cannot remove ${pidPath}`, { cause: error });
  }

  const received = stringToBytes(formatQueueReceived(pid, options.who, now));
  const origin = originHeader(options.extras);
  return new MessageWriter(
    layout,
    id,
    String(pid),
    file,
    origin === undefined ? received : concatBytes([received, origin]),
    options.extras,
  );
}

/**
 * Queues a whole message (open, write, commit) and returns its id and qp. A
 * stream that fails to read gives QueueError 54; every failure before the
 * commit point leaves nothing behind.
 */
export async function injectMessage(
  layout: QueueLayout,
  body: Uint8Array | ReadableStream<Uint8Array>,
  sender: Uint8Array,
  recipients: Uint8Array[],
  options: QueueWriterOptions,
): Promise<{ id: bigint; qp: string }> {
  const message = await openQueueMessage(layout, options);
  try {
    if (body instanceof Uint8Array) {
      await message.write(body);
    } else {
      const reader = body.getReader();
      for (;;) {
        let result: ReadableStreamReadResult<Uint8Array>;
        try {
          result = await reader.read();
        } catch (error) {
          throw new QueueError(QUEUE_EXIT.read, "Cannot read the message", { cause: error });
        }
        if (result.done) break;
        await message.write(result.value);
      }
    }
    await message.commit(sender, recipients);
  } catch (error) {
    await message.abort();
    throw error;
  }
  return { id: message.id, qp: message.qp };
}

type Phase = "writing" | "committed" | "aborted";

class MessageWriter implements QueueMessage {
  readonly id: bigint;
  readonly qp: string;
  #layout: QueueLayout;
  #file: Deno.FsFile | undefined;
  #buffer = new Uint8Array(BUFFER_BYTES);
  #buffered = 0;
  #bytesWritten = 0;
  #intdCreated = false;
  #phase: Phase = "writing";
  #extras: QueueExtras | undefined;

  constructor(
    layout: QueueLayout,
    id: bigint,
    qp: string,
    file: Deno.FsFile,
    received: Uint8Array,
    extras: QueueExtras | undefined,
  ) {
    this.#layout = layout;
    this.#extras = extras;
    this.id = id;
    this.qp = qp;
    this.#file = file;
    this.#buffer.set(received);
    this.#buffered = received.length;
  }

  get bytesWritten(): number {
    return this.#bytesWritten;
  }

  async write(chunk: Uint8Array): Promise<void> {
    this.#assertWriting();
    try {
      if (this.#buffered + chunk.length <= BUFFER_BYTES) {
        this.#buffer.set(chunk, this.#buffered);
        this.#buffered += chunk.length;
      } else {
        this.#flush();
        if (chunk.length >= BUFFER_BYTES) {
          writeAllSync(this.#file!, chunk);
        } else {
          this.#buffer.set(chunk);
          this.#buffered = chunk.length;
        }
      }
    } catch (error) {
      await this.abort();
      throw cannotWrite(this.#layout.mess(this.id), error);
    }
    this.#bytesWritten += chunk.length;
  }

  async commit(sender: Uint8Array, recipients: Uint8Array[], uid?: string): Promise<void> {
    this.#assertWriting();
    const layout = this.#layout;
    const id = this.id;
    recipients = withExtraRecipients(this.#extras, sender, recipients);
    try {
      for (const address of [sender, ...recipients]) checkAddress(address);

      // §3.2 steps 7–9: mess flushed, intd created O_EXCL and written, and
      // both fsynced. qmail fsyncs mess before it creates intd; qmd lets the
      // two fsyncs and the mess/NN directory's run side by side and links
      // todo (the commit) only once all three succeeded, so with one session
      // the 250 waits for two rounds of fsyncs instead of four. Nothing reads
      // intd/ before the commit: a crash in between leaves mess and intd
      // without todo, the same state qmail's cleanup removes (§4.9, §4.11).
      try {
        this.#flush();
      } catch (error) {
        throw cannotWrite(layout.mess(id), error);
      }
      const intdPath = layout.intd(id);
      let intd: Deno.FsFile;
      try {
        intd = Deno.openSync(intdPath, { write: true, createNew: true, mode: 0o644 });
      } catch (error) {
        throw new QueueError(QUEUE_EXIT.intd, `Cannot create ${intdPath}`, { cause: error });
      }
      this.#intdCreated = true;
      try {
        try {
          if (!umaskKeeps0644) Deno.chmodSync(intdPath, 0o644);
          writeAllSync(
            intd,
            formatIntd(uid ?? String(Deno.uid() ?? 0), this.qp, sender, recipients),
          );
        } catch (error) {
          throw cannotWrite(intdPath, error);
        }
        await allSucceeded([
          this.#file!.sync().catch((error) => {
            throw cannotWrite(layout.mess(id), error);
          }),
          // Not in qmail (which assumes synchronous BSD FFS metadata): on Linux
          // the new directory entry is only durable once its directory is fsynced.
          syncQueueDirectory(dirname(layout.mess(id)), QUEUE_EXIT.mess),
          intd.sync().catch((error) => {
            throw cannotWrite(intdPath, error);
          }),
        ]);
      } finally {
        intd.close();
      }
      this.#file!.close();
      this.#file = undefined;
      // intd/ itself is not fsynced: the commit below makes todo/ID durable, a
      // second name of the inode whose bytes were just fsynced. Losing the
      // intd name in a crash loses nothing; qmail-clean ignores its absence
      // (§4.11), and before the commit the message was not acknowledged.

      // §3.2 step 10: the commit point.
      const todoPath = layout.todo(id);
      try {
        Deno.linkSync(intdPath, todoPath);
      } catch (error) {
        throw new QueueError(QUEUE_EXIT.todo, `Cannot link ${intdPath} to ${todoPath}`, {
          cause: error,
        });
      }
    } catch (error) {
      await this.abort();
      throw error;
    }
    this.#phase = "committed";

    // After the commit point nothing may be undone: the sender may already be
    // preprocessing the message. A failed fsync here is reported (the client
    // may queue again: a duplicate rather than a loss) but the message stays.
    try {
      await syncQueueDirectory(dirname(layout.todo(id)), QUEUE_EXIT.write);
    } finally {
      pullTrigger(layout, id);
    }
  }

  async abort(): Promise<void> {
    if (this.#phase !== "writing") return;
    this.#phase = "aborted";
    const layout = this.#layout;
    // qmail-queue's cleanup: truncate and unlink intd, then mess (§3.2).
    if (this.#intdCreated) await truncateAndRemove(layout.intd(this.id));
    if (this.#file) {
      try {
        await this.#file.truncate(0);
      } catch {
        // Removing it below is what matters.
      }
      this.#file.close();
      this.#file = undefined;
    }
    await truncateAndRemove(layout.mess(this.id));
  }

  #assertWriting(): void {
    if (this.#phase !== "writing") {
      throw new QueueError(QUEUE_EXIT.internalBug, `Message ${this.id} is already ${this.#phase}`);
    }
  }

  /** Writes the buffer out; a write to the page cache is quick enough to do synchronously. */
  #flush(): void {
    if (this.#buffered === 0) return;
    writeAllSync(this.#file!, this.#buffer.subarray(0, this.#buffered));
    this.#buffered = 0;
  }
}

/**
 * qmail-queue's chdir("queue") fails with 62 and its pid file with 63. pid/
 * stands for the queue: the smtpd isolate may read only the intake
 * directories, not the queue root, so the root is looked at only on failure.
 */
function missingQueueError(layout: QueueLayout, cause: unknown): QueueError {
  let queueMissing = false;
  try {
    Deno.statSync(layout.root);
  } catch (error) {
    queueMissing = error instanceof Deno.errors.NotFound;
  }
  return queueMissing
    ? new QueueError(QUEUE_EXIT.queue, `Cannot use queue ${layout.root}`, { cause })
    : new QueueError(QUEUE_EXIT.pid, `Cannot create a file in ${layout.pidDir}`, { cause });
}

/** Addresses hold any byte but NUL and at most 1002 of them (§3.1). */
function checkAddress(address: Uint8Array): void {
  if (address.length > MAX_ADDRESS_BYTES) {
    throw new QueueError(QUEUE_EXIT.addressTooLong, "Envelope address too long");
  }
  if (address.includes(0)) {
    throw new QueueError(QUEUE_EXIT.envelopeFormat, "Envelope address contains a NUL byte");
  }
}

function inodeOf({ ino }: Deno.FileInfo, path: string): bigint {
  if (ino !== null && Number.isSafeInteger(ino)) return BigInt(ino);
  // Inode numbers above 2^53 do not survive a JS number.
  return statSync(path, { bigint: true }).ino;
}

/** A failed write or fsync of `path`: qmail-queue's exit 53. */
function cannotWrite(path: string, cause: unknown): QueueError {
  return new QueueError(QUEUE_EXIT.write, `Cannot write ${path}`, { cause });
}

/**
 * Waits for every promise to settle (so nothing is still running when the
 * caller cleans up) and throws the first failure, in the list's order.
 */
async function allSucceeded(promises: Promise<unknown>[]): Promise<void> {
  const results = await Promise.allSettled(promises);
  for (const result of results) {
    if (result.status === "rejected") throw result.reason;
  }
}

/** A held directory's fsync (held_directories.ts), a failure of which is qmail-queue's `exitCode`. */
async function syncQueueDirectory(path: string, exitCode: number): Promise<void> {
  try {
    await queueDirectories.sync(path);
  } catch (error) {
    throw new QueueError(exitCode, `Cannot fsync directory ${path}`, { cause: error });
  }
}

async function discardPidFile(file: Deno.FsFile, path: string): Promise<void> {
  file.close();
  try {
    await Deno.remove(path);
  } catch {
    // Left for the 36-hour pid/ sweep (§4.9).
  }
}

async function truncateAndRemove(path: string): Promise<void> {
  try {
    await Deno.truncate(path, 0);
  } catch {
    // Gone already, or unwritable: try the unlink anyway.
  }
  try {
    await Deno.remove(path);
  } catch {
    // Left for the 36-hour cleanup (§4.9).
  }
}
