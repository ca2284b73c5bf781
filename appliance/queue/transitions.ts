/**
 * The queue state changes that belong to qmail-send and qmail-clean
 * (docs/queue-format.md §2.3, §4.3, §4.5, §4.8, §4.11). Each function names the
 * transition it makes. Only the send role calls these: it alone moves a
 * message S4 → S5 (preprocess.ts), marks recipients done, writes bounce/
 * and deletes; bounce/ID becomes a new message in inject_bounce.ts.
 *
 * File I/O is synchronous, as in qmail-send's single-threaded loop: the send
 * role is one isolate and a state change must not interleave with another.
 */
import { parseChannelFile, parseInfo } from "./envelope.ts";
import { anyEntryExists, removeEntries, removeEntriesAsync } from "./entries.ts";
import { type Channel, type QueueLayout, SIDECAR_DIRECTORIES } from "./layout.ts";
import { writeAllSync } from "../write_all.ts";
import { concatBytes, stringToBytes } from "../bytes.ts";
import { fileExists, probeFile, removeIfPresent, removeIfPresentSync } from "../durable_file.ts";

/** What a delivery pass needs from info/ID (§4.5, §4.6). */
export interface MessageInfo {
  /** The envelope sender (F record). */
  sender: Uint8Array;
  /** The message's birth: info's mtime, Unix seconds. */
  birth: number;
}

/** Reads info/NN/ID; undefined when it is missing or has no F record (qmail's getinfo). */
export function readMessageInfo(layout: QueueLayout, id: bigint): MessageInfo | undefined {
  const path = layout.info(id);
  let file: Deno.FsFile;
  try {
    file = Deno.openSync(path, { read: true });
  } catch {
    return undefined;
  }
  try {
    // By name: FsFile.statSync would resolve the path for the permission check again.
    const stat = Deno.statSync(path);
    const sender = parseInfo(readFirstRecordSync(file));
    if (sender === undefined) return undefined;
    return { sender, birth: Math.floor((stat.mtime?.getTime() ?? 0) / 1000) };
  } catch {
    return undefined;
  } finally {
    file.close();
  }
}

/**
 * The envelope sender of info/NN/ID without its birth (no fstat): what
 * injectBounce needs. Undefined when info is missing or has no F record.
 */
export function readMessageSender(layout: QueueLayout, id: bigint): Uint8Array | undefined {
  let file: Deno.FsFile;
  try {
    file = Deno.openSync(layout.info(id), { read: true });
  } catch {
    return undefined;
  }
  try {
    return parseInfo(readFirstRecordSync(file));
  } catch {
    return undefined;
  } finally {
    file.close();
  }
}

/** A scratch buffer for the synchronous reads below (one isolate, no interleaving). */
const READ_BUFFER = new Uint8Array(65536);

/** Reads a file to its end. */
function readAllSync(file: Deno.FsFile): Uint8Array {
  const chunks: Uint8Array[] = [];
  for (;;) {
    const n = file.readSync(READ_BUFFER);
    if (n === null || n === 0) break;
    chunks.push(READ_BUFFER.slice(0, n));
  }
  return chunks.length === 1 ? chunks[0] : concatBytes(chunks);
}

/**
 * Reads a file up to its first NUL (or its end): all that parseInfo looks
 * at, so one read serves a whole info file.
 */
function readFirstRecordSync(file: Deno.FsFile): Uint8Array {
  const chunks: Uint8Array[] = [];
  for (;;) {
    const n = file.readSync(READ_BUFFER);
    if (n === null || n === 0) break;
    const chunk = READ_BUFFER.slice(0, n);
    chunks.push(chunk);
    if (chunk.indexOf(0) >= 0) break;
  }
  return chunks.length === 1 ? chunks[0] : concatBytes(chunks);
}

/** One channel file as a pass reads it (§4.5, §4.6). */
export interface ChannelPass {
  /** T and D records, with the byte offset where a D marks each one done. */
  records: { offset: number; done: boolean; address: Uint8Array }[];
  /**
   * The file holds a record of another type after these (qmail: `unknown record
   * type`); the pass must not count as having reached EOF.
   */
  corrupt: boolean;
}

/** Reads local/NN/ID or remote/NN/ID; throws when it cannot be read. */
export function readChannelFile(layout: QueueLayout, channel: Channel, id: bigint): ChannelPass {
  return parseChannelPass(Deno.readFileSync(layout.channel(channel, id)));
}

/** A channel file's bytes as a pass reads them. */
export function parseChannelPass(bytes: Uint8Array): ChannelPass {
  const records = parseChannelFile(bytes);
  const last = records.at(-1);
  const end = last === undefined ? 0 : last.offset + last.address.length + 2;
  // A trailing fragment without its NUL is EOF to qmail's getln; another NUL-terminated
  // record means parseChannelFile stopped at an unknown record type.
  return { records, corrupt: bytes.indexOf(0, end) >= 0 };
}

/** A channel file opened for a pass, with the handle its records are marked done through. */
export interface OpenChannelPass extends ChannelPass {
  /**
   * Open for writing (markDoneAt) until the job is over: read and write when a
   * pass opened it, write only when preprocessing kept it (PreprocessedPasses);
   * undefined when the file could be read but not opened for writing
   * (markDone then opens it per record, as qmail does).
   */
  file: Deno.FsFile | undefined;
}

/**
 * readChannelFile for a pass that keeps one handle for its markDoneAt
 * calls, instead of opening the file for every record marked done. The
 * caller closes `file` when the job is over. Throws when the file cannot be
 * read.
 */
export function openChannelFile(
  layout: QueueLayout,
  channel: Channel,
  id: bigint,
): OpenChannelPass {
  const path = layout.channel(channel, id);
  let file: Deno.FsFile;
  try {
    file = Deno.openSync(path, { read: true, write: true });
  } catch {
    return { ...readChannelFile(layout, channel, id), file: undefined };
  }
  try {
    return { ...parseChannelPass(readAllSync(file)), file };
  } catch (error) {
    file.close();
    throw error;
  }
}

/**
 * Marks one recipient done in place (§4.5): open O_WRONLY, seek to the
 * record's first byte, write one `D`, close; no fsync. Returns false when
 * that failed (qmail logs `trouble marking …; message will be delivered
 * twice!`).
 */
export function markDone(path: string, offset: number): boolean {
  let file: Deno.FsFile;
  try {
    file = Deno.openSync(path, { write: true });
  } catch {
    return false;
  }
  try {
    return markDoneAt(file, offset);
  } finally {
    file.close();
  }
}

const DONE = stringToBytes("D");

/**
 * markDone through a handle a pass holds open (openChannelFile): lseek to
 * the record's first byte and write one `D`; no fsync (§4.5). False on
 * failure.
 */
export function markDoneAt(file: Deno.FsFile, offset: number): boolean {
  try {
    file.seekSync(offset, Deno.SeekMode.Start);
    return file.writeSync(DONE) === 1;
  } catch {
    return false;
  }
}

/**
 * Appends one recipient paragraph to bounce/ID (§4.8), opened
 * O_WRONLY|O_APPEND|O_CREAT with mode 0600. Not crash-proof by design: a
 * crash may leave a partial or duplicated paragraph, which is sent as is.
 * Throws when the append fails.
 */
export function appendBounce(layout: QueueLayout, id: bigint, paragraph: Uint8Array): void {
  const file = Deno.openSync(layout.bounce(id), {
    write: true,
    append: true,
    create: true,
    mode: 0o600,
  });
  try {
    writeAllSync(file, paragraph);
  } finally {
    file.close();
  }
}

/**
 * Writes a channel file's next due time into its mtime and atime (§4.5,
 * §4.7): what qmail-send does for every queued job when it exits, so the
 * next start resumes the schedule. Returns false on failure.
 */
export function setChannelRetryTime(path: string, time: number): boolean {
  try {
    Deno.utimeSync(path, time, time);
    return true;
  } catch {
    return false;
  }
}

/** Unlinks a channel file whose records are all done (§4.6 job close). Throws on failure. */
export function removeChannelFile(layout: QueueLayout, channel: Channel, id: bigint): void {
  removeIfPresentSync(layout.channel(channel, id));
}

/** removeChannelFile on Deno's I/O threads. Rejects on failure. */
export async function removeChannelFileAsync(
  layout: QueueLayout,
  channel: Channel,
  id: bigint,
): Promise<void> {
  await removeIfPresent(layout.channel(channel, id));
}

/** Where a message stands when it is taken from the done queue (§4.8 messdone step 1). */
export type DoneCheck =
  /** A channel file or todo/ID exists: not finished after all (qmail's "false alarm"). */
  | "not-done"
  /** info/ID is gone: someone else finished it. */
  | "gone"
  /** -todo +info -local -remote: bounce and remove it. */
  | "done";

/** messdone step 1 (§4.8). Throws when a stat fails other than with ENOENT. */
export function checkMessageDone(layout: QueueLayout, id: bigint): DoneCheck {
  // This check decides whether the message may be deleted, so absence is
  // confirmed exactly (an I/O error must not read as "absent" and lose
  // recipients). qmail's: local/NN/ID, remote/NN/ID and todo/ID. The channel
  // files have no flat form (qmail-send writes them split, as qmd does);
  // todo/ID counts in both of its forms (a vanilla qmail-queue's flat one).
  // Each absent name costs an exception here, about 14 µs (README, issue 16).
  const entries = [
    layout.channel("local", id),
    layout.channel("remote", id),
    ...layout.todoForms(id),
  ];
  if (anyEntryExists(entries)) return "not-done";
  const info = layout.info(id);
  // Normally present: the exact check only when the probe says otherwise.
  return probeFile(info) || fileExists(info) ? "done" : "gone";
}

/**
 * S5 → S1, the end of messdone (§4.8 step 6): unlinks qmd's sidecars
 * (hold/ID, deferral/ID), then info/ID (the message leaves the sender's
 * view), then does qmail-clean's `foop/ID` (§4.11): intd/ID, then mess/ID.
 * Rejects when info cannot be unlinked.
 */
export async function finishMessage(layout: QueueLayout, id: bigint): Promise<void> {
  // On Deno's I/O threads (removeEntryAsync), one after another in qmail's order.
  await Promise.all(
    SIDECAR_DIRECTORIES.map((name) =>
      removeIfPresent(layout.sidecar(name, id), { usuallyAbsent: true })
    ),
  );
  await removeIfPresent(layout.info(id));
  await removeEntriesAsync(layout.intdForms(id));
  await removeIfPresent(layout.mess(id));
}

/**
 * qmail-clean's `foop/ID` (§4.11): unlinks intd/ID (either form), then
 * mess/ID, ignoring ENOENT (S2/S3 → S1, or the last step of S5 → S1).
 * Throws on other errors.
 */
export function removeMessage(layout: QueueLayout, id: bigint): void {
  // intd/ID is normally gone already (removed with todo/ID at preprocessing).
  removeEntries(layout.intdForms(id));
  removeIfPresentSync(layout.mess(id));
}
