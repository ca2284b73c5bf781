/**
 * The queue state changes that belong to qmail-send and qmail-clean
 * (qmail-formats.md §2.3, §4.3, §4.5, §4.8, §4.11). Each function names the
 * transition it makes. Only the send role calls these: it alone moves a
 * message S4 → S5, marks recipients done, writes bounce/ and deletes.
 *
 * File I/O is synchronous, as in qmail-send's single-threaded loop: the send
 * role is one isolate and a state change must not interleave with another.
 * Bounce injection is the exception (the queue writer is asynchronous).
 *
 * Unlike qmail, which assumes synchronous BSD FFS metadata, directories are
 * fsynced after entries that a crash must not lose are created or removed
 * (Linux semantics).
 */
import {
  bytesToString,
  formatChannelRecord,
  parseChannelFile,
  parseInfo,
  parseTodo,
  stringToBytes,
} from "./envelope.ts";
import { anyEntryExists, findEntry, removeEntries } from "./entries.ts";
import { openQueueMessage } from "./inject.ts";
import type { Channel, QueueLayout } from "./layout.ts";
import { stripVerpMarker } from "../send/address.ts";
import { bounceCopyLimit, formatBounceHead, planBounce, STRIPPED_NOTICE } from "../send/bounce.ts";
import { routeRecipient, type RoutingTable } from "../send/routing.ts";
import { concatBytes, writeAllSync } from "../bytes.ts";
import {
  dirname,
  fileExists,
  isNotFound,
  probeFile,
  removeIfPresentSync,
  syncDirectory,
  syncDirectorySync,
} from "../durable_file.ts";

// The send engine reads these two here.
export { fileExists, probeFile };

const CHANNELS: readonly Channel[] = ["local", "remote"];

/** A path relative to the queue, as qmail-send names files in its log ("todo/123"). */
export function queueName(layout: QueueLayout, path: string): string {
  return path.startsWith(`${layout.root}/`) ? path.slice(layout.root.length + 1) : path;
}

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** An error's message followed by those of its causes. */
export function describeError(error: unknown): string {
  const parts: string[] = [];
  for (let current = error; current !== undefined && parts.length < 5;) {
    parts.push(errorText(current));
    current = current instanceof Error ? current.cause : undefined;
  }
  return parts.join(": ");
}

/**
 * The uid for the bounce's intd `u` record (qmail records qmail-send's
 * uid). Deno.uid() needs the sys permission, which the send role may lack;
 * the owner of a file this process just created says the same.
 */
function processUid(ownedPath: string): string {
  try {
    const uid = Deno.uid();
    if (uid !== null) return String(uid);
  } catch {
    // No sys permission: fall back to the file's owner.
  }
  try {
    return String(Deno.statSync(ownedPath).uid ?? 0);
  } catch {
    return "0";
  }
}

export type PreprocessResult =
  | {
    ok: true;
    /** Which channel files were written. Neither: the message goes to the done queue. */
    local: boolean;
    remote: boolean;
    /** Size of the mess file, for `info msg`. */
    bytes: number;
    /** Envelope sender (the F record); undefined when the todo file had none. */
    sender?: Uint8Array;
    qp: string;
    uid: string;
  }
  | {
    ok: false;
    /** qmail's warning text, without the `warning: ` prefix. */
    warning: string;
    /** Whether info was created (qmail has logged `new msg` by then). */
    infoCreated: boolean;
    bytes?: number;
    sender?: Uint8Array;
    qp?: string;
    uid?: string;
  };

/** A message whose info and channel files are written but not yet durable (§4.3 steps 4–6). */
interface PreparedMessage {
  todoPath: string;
  todoName: string;
  infoName: string;
  written: Record<Channel, boolean>;
  /** Files still open, in creation order, each with the warning its fsync failure gives. */
  files: { file: Deno.FsFile; warning: (error: unknown) => string }[];
  /** The directories whose new entries must be durable before todo goes. */
  directories: string[];
  base: { bytes: number; sender?: Uint8Array; qp: string; uid: string };
}

type PreprocessFailure = Extract<PreprocessResult, { ok: false }>;

function closeAll(prepared: PreparedMessage): void {
  for (const { file } of prepared.files.splice(0)) {
    try {
      file.close();
    } catch {
      // already closed
    }
  }
}

/**
 * The first half of preprocessing, without fsyncs: reads todo/ID, unlinks
 * stale local, remote and info, creates info and the channel files with
 * O_EXCL, writes them and sets their times. The files stay open for the fsync.
 */
function prepareMessage(
  layout: QueueLayout,
  id: bigint,
  table: RoutingTable,
  now: number | undefined,
): PreparedMessage | PreprocessFailure {
  // todo/NN/ID or a vanilla qmail-queue's flat todo/ID: one message, one transition.
  let todoPath = layout.todo(id);
  let todo: Uint8Array;
  try {
    todoPath = findEntry(layout.todoForms(id)) ?? todoPath;
    todo = Deno.readFileSync(todoPath);
  } catch {
    return {
      ok: false,
      warning: `unable to open ${queueName(layout, todoPath)}`,
      infoCreated: false,
    };
  }
  const todoName = queueName(layout, todoPath);
  const messPath = layout.mess(id);
  let bytes: number;
  try {
    bytes = Deno.statSync(messPath).size;
  } catch {
    return {
      ok: false,
      warning: `unable to stat ${queueName(layout, messPath)}`,
      infoCreated: false,
    };
  }
  const infoPath = layout.info(id);
  for (const path of [layout.local(id), layout.remote(id), infoPath]) {
    try {
      removeIfPresentSync(path);
    } catch (error) {
      return {
        ok: false,
        warning: `unable to unlink ${queueName(layout, path)}: ${errorText(error)}`,
        infoCreated: false,
      };
    }
  }

  const records = parseTodo(todo);
  const qp = records.pid ?? "0";
  const uid = records.uid ?? "0";
  const base = { bytes, sender: records.sender, qp, uid };
  const infoName = queueName(layout, infoPath);

  // §4.3 step 4: info is created O_EXCL before the records are read.
  let info: Deno.FsFile;
  try {
    info = Deno.openSync(infoPath, { write: true, createNew: true, mode: 0o600 });
  } catch {
    return { ok: false, warning: `unable to create ${infoName}`, infoCreated: false, ...base };
  }
  const prepared: PreparedMessage = {
    todoPath,
    todoName,
    infoName,
    written: { local: false, remote: false },
    files: [{
      file: info,
      warning: (error) => `trouble writing to ${infoName}: ${errorText(error)}`,
    }],
    directories: [dirname(infoPath)],
    base,
  };
  const fail = (warning: string): PreprocessFailure => {
    closeAll(prepared);
    return { ok: false, warning, infoCreated: true, ...base };
  };
  try {
    if (records.sender !== undefined) {
      writeAllSync(info, concatBytes([stringToBytes("F"), records.sender, new Uint8Array(1)]));
    }
  } catch (error) {
    return fail(`trouble writing to ${infoName}: ${errorText(error)}`);
  }
  if (records.unknown) return fail(`unknown record type in ${todoName}`);

  const channelRecords: Record<Channel, Uint8Array[]> = { local: [], remote: [] };
  for (const recipient of records.recipients) {
    const route = routeRecipient(recipient, table);
    channelRecords[route.channel].push(formatChannelRecord(route.address));
  }
  for (const channel of CHANNELS) {
    if (channelRecords[channel].length === 0) continue;
    const path = layout.channel(channel, id);
    const name = queueName(layout, path);
    const warning = (error: unknown) => `unable to create ${name}: ${errorText(error)}`;
    let file: Deno.FsFile;
    try {
      file = Deno.openSync(path, { write: true, createNew: true, mode: 0o600 });
    } catch (error) {
      return fail(warning(error));
    }
    prepared.files.push({ file, warning });
    try {
      writeAllSync(file, concatBytes(channelRecords[channel]));
    } catch (error) {
      return fail(warning(error));
    }
    prepared.written[channel] = true;
    prepared.directories.push(dirname(path));
  }

  if (now !== undefined) {
    try {
      for (const { file } of prepared.files) file.utimeSync(now, now);
    } catch (error) {
      return fail(`trouble writing to ${infoName}: ${errorText(error)}`);
    }
  }
  return prepared;
}

/**
 * The last step (§4.3 step 7, qmail-clean's `todo/ID`): intd first, then
 * todo (the S4 → S5 point), each in both its forms. The caller fsyncs todo's
 * directory.
 */
function cleanTodo(layout: QueueLayout, id: bigint, prepared: PreparedMessage): PreprocessResult {
  for (const paths of [layout.intdForms(id), layout.todoForms(id)]) {
    try {
      removeEntries(paths);
    } catch (error) {
      return {
        ok: false,
        warning: `qmail-clean unable to clean up ${prepared.todoName}: ${errorText(error)}`,
        infoCreated: true,
        ...prepared.base,
      };
    }
  }
  return {
    ok: true,
    local: prepared.written.local,
    remote: prepared.written.remote,
    ...prepared.base,
  };
}

/**
 * S4 → S5: preprocesses todo/ID into info, local and remote (§4.3, §4.4),
 * then removes intd/ID and todo/ID as qmail-clean's `todo/ID` command does
 * (§4.11). Idempotent after a crash: local, remote and info are unlinked
 * first, then info and the channel files are created with O_EXCL, written
 * and fsynced with their directories, and only then is todo removed.
 *
 * `now` (Unix seconds) becomes the mtime of info (the message's birth) and
 * of the channel files (their first due time); omitted, the file system's
 * clock stands.
 *
 * On failure the message stays in todo/ (it is preprocessed again at the
 * next scan) and the result carries qmail's warning.
 */
export function preprocessMessage(
  layout: QueueLayout,
  id: bigint,
  table: RoutingTable,
  now?: number,
): PreprocessResult {
  const prepared = prepareMessage(layout, id, table, now);
  if (!("files" in prepared)) return prepared;
  for (const { file, warning } of prepared.files) {
    try {
      file.syncSync();
    } catch (error) {
      closeAll(prepared);
      return { ok: false, warning: warning(error), infoCreated: true, ...prepared.base };
    }
  }
  closeAll(prepared);
  try {
    for (const directory of prepared.directories) syncDirectorySync(directory);
  } catch (error) {
    return {
      ok: false,
      warning: `trouble writing to ${prepared.infoName}: ${errorText(error)}`,
      infoCreated: true,
      ...prepared.base,
    };
  }
  const result = cleanTodo(layout, id, prepared);
  try {
    syncDirectorySync(dirname(prepared.todoPath));
  } catch {
    // The todo entry may come back after a crash; preprocessing is idempotent.
  }
  return result;
}

/**
 * preprocessMessage for several todo entries at once, with the same result
 * per message (in `ids` order). The durability argument is unchanged: every
 * message's info and channel files are fsynced, and so is each directory
 * that received one of them, before that message's todo/ID is unlinked.
 * What changes is that the fsyncs of the whole batch run concurrently (the
 * file system serves concurrent fsyncs with shared flushes), and that a
 * directory holding entries of several messages is fsynced once for all of
 * them, which makes every one of those entries durable.
 */
export async function preprocessMessages(
  layout: QueueLayout,
  ids: readonly bigint[],
  table: RoutingTable,
  now?: number,
): Promise<PreprocessResult[]> {
  const results: (PreprocessResult | undefined)[] = [];
  const prepared: (PreparedMessage | undefined)[] = [];
  for (const id of ids) {
    const step = prepareMessage(layout, id, table, now);
    if ("files" in step) {
      prepared.push(step);
      results.push(undefined);
    } else {
      prepared.push(undefined);
      results.push(step);
    }
  }
  const failWith = (index: number, warning: string) => {
    const step = prepared[index]!;
    prepared[index] = undefined;
    results[index] = { ok: false, warning, infoCreated: true, ...step.base };
  };

  // The files: all fsyncs in flight at once; a message fails with its first failing file.
  await Promise.all(prepared.map(async (step, index) => {
    if (step === undefined) return;
    const outcomes = await Promise.allSettled(step.files.map(({ file }) => file.sync()));
    const failed = outcomes.findIndex((outcome) => outcome.status === "rejected");
    const warning = failed < 0
      ? undefined
      : step.files[failed].warning((outcomes[failed] as PromiseRejectedResult).reason);
    closeAll(step);
    if (warning !== undefined) failWith(index, warning);
  }));

  // The directories: one fsync per distinct directory, covering every entry made in it.
  const directorySyncs = new Map<string, Promise<unknown>>();
  for (const step of prepared) {
    for (const directory of step?.directories ?? []) {
      if (!directorySyncs.has(directory)) {
        directorySyncs.set(
          directory,
          syncDirectory(directory).then(() => undefined, (error) => error ?? "error"),
        );
      }
    }
  }
  const directoryErrors = new Map<string, unknown>();
  for (const [directory, sync] of directorySyncs) {
    const error = await sync;
    if (error !== undefined) directoryErrors.set(directory, error);
  }
  prepared.forEach((step, index) => {
    if (step === undefined) return;
    const directory = step.directories.find((d) => directoryErrors.has(d));
    if (directory !== undefined) {
      failWith(
        index,
        `trouble writing to ${step.infoName}: ${errorText(directoryErrors.get(directory))}`,
      );
    }
  });

  // Only now may todo go, message by message; then each todo directory once.
  const todoDirectories = new Set<string>();
  prepared.forEach((step, index) => {
    if (step === undefined) return;
    results[index] = cleanTodo(layout, ids[index], step);
    todoDirectories.add(dirname(step.todoPath));
  });
  await Promise.all(
    [...todoDirectories].map((directory) =>
      // The todo entry may come back after a crash; preprocessing is idempotent.
      syncDirectory(directory).catch(() => {})
    ),
  );
  return results as PreprocessResult[];
}

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
    const stat = file.statSync();
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
function readMessageSender(layout: QueueLayout, id: bigint): Uint8Array | undefined {
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

function parseChannelPass(bytes: Uint8Array): ChannelPass {
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
   * Open for reading and writing until the job is over; undefined when the
   * file could be read but not opened for writing (markDone then opens it
   * per record, as qmail does).
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
  // recipients); the cheap probe answers the common "present" case. Every
  // entry counts in both its forms (split and flat).
  const entries = [
    ...layout.entryForms("local", id),
    ...layout.entryForms("remote", id),
    ...layout.todoForms(id),
  ];
  if (anyEntryExists(entries)) return "not-done";
  const info = layout.info(id);
  // Normally present: the exact check only when the probe says otherwise.
  return probeFile(info) || fileExists(info) ? "done" : "gone";
}

/** The bounce-related controls (§9). */
export interface BounceSettings {
  bounceFrom: string;
  bounceHost: string;
  /** doublebounceto + "@" + doublebouncehost. */
  doubleBounceRecipient: string;
  /** bouncemaxbytes; 0 = copy the whole message. */
  maxBytes: number;
}

export type BounceResult =
  /** No bounce/ID: nothing to send. */
  | { kind: "none" }
  /** The sender was `#@[]`: bounce/ID discarded without a message (log `triple bounce`). */
  | { kind: "triple" }
  /** Injected; bounce/ID removed. */
  | { kind: "injected"; bounce: "single" | "double"; newId: bigint; qp: string };

/** Thrown when a bounce cannot be injected; `temporary` says whether to try again. */
export class BounceError extends Error {
  readonly temporary: boolean;
  readonly bounce: "single" | "double" | undefined;

  constructor(
    message: string,
    temporary: boolean,
    bounce?: "single" | "double",
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.name = "BounceError";
    this.temporary = temporary;
    this.bounce = bounce;
  }
}

export interface InjectBounceOptions {
  settings: BounceSettings;
  /** The Date: field's time. */
  date: Date;
  /** The queue writer (queue/inject.ts); tests substitute a failing one. */
  open?: typeof openQueueMessage;
}

/**
 * bounce/ID → a new queued message (S1 → S4 for the bounce), then bounce/ID
 * is unlinked (§4.8 messdone steps 2–6, qmail-send's injectbounce). A
 * sender of `#@[]` discards bounce/ID (triple bounce). The bounce is a QSBMF
 * message with the first bouncemaxbytes of mess/ID streamed after its head.
 * Throws BounceError (temporary unless the queue writer failed permanently).
 */
export async function injectBounce(
  layout: QueueLayout,
  id: bigint,
  options: InjectBounceOptions,
): Promise<BounceResult> {
  const infoSender = readMessageSender(layout, id);
  if (infoSender === undefined) {
    throw new BounceError(`unable to read ${queueName(layout, layout.info(id))}`, true);
  }
  const bouncePath = layout.bounce(id);
  // A bounce hidden by an I/O error would be lost with the message: absence is confirmed exactly.
  if (!probeFile(bouncePath) && !fileExists(bouncePath)) return { kind: "none" };
  let bounceText: Uint8Array;
  try {
    bounceText = Deno.readFileSync(bouncePath);
  } catch (error) {
    if (isNotFound(error)) return { kind: "none" };
    throw new BounceError(`unable to read ${queueName(layout, bouncePath)}`, true, undefined, {
      cause: error,
    });
  }
  const sender = stripVerpMarker(bytesToString(infoSender));
  const plan = planBounce(sender, options.settings.doubleBounceRecipient);
  if (plan.kind === "triple") {
    unlinkBounce(layout, id);
    return { kind: "triple" };
  }

  const messPath = layout.mess(id);
  let mess: Deno.FsFile;
  let messBytes: number;
  try {
    mess = Deno.openSync(messPath, { read: true });
    messBytes = mess.statSync().size;
  } catch (error) {
    throw new BounceError(`unable to open ${queueName(layout, messPath)}`, true, plan.kind, {
      cause: error,
    });
  }
  const head = formatBounceHead({
    kind: plan.kind,
    date: options.date,
    bounceFrom: options.settings.bounceFrom,
    bounceHost: options.settings.bounceHost,
    recipient: plan.recipient,
    returnPath: plan.returnPath,
    bounceText,
  });
  const { copyBytes, stripped } = bounceCopyLimit(messBytes, options.settings.maxBytes);
  const open = options.open ?? openQueueMessage;
  let queued: { id: bigint; qp: string };
  try {
    const message = await open(layout, { who: "for bounce", now: options.date });
    try {
      for await (const chunk of bounceBody(head, mess, copyBytes, stripped)) {
        await message.write(chunk);
      }
      const uid = processUid(layout.mess(message.id));
      await message.commit(
        stringToBytes(plan.envelopeSender),
        [stringToBytes(plan.recipient)],
        uid,
      );
    } catch (error) {
      await message.abort();
      throw error;
    }
    queued = { id: message.id, qp: message.qp };
  } catch (error) {
    const temporary = (error as { temporary?: unknown }).temporary !== false;
    throw new BounceError(describeError(error), temporary, plan.kind, { cause: error });
  } finally {
    try {
      mess.close();
    } catch {
      // Already closed by the stream.
    }
  }
  unlinkBounce(layout, id);
  return { kind: "injected", bounce: plan.kind, newId: queued.id, qp: queued.qp };
}

async function* bounceBody(
  head: Uint8Array,
  mess: Deno.FsFile,
  copyBytes: number,
  stripped: boolean,
): AsyncGenerator<Uint8Array> {
  yield head;
  let left = copyBytes;
  const buffer = new Uint8Array(65536);
  while (left > 0) {
    const n = await mess.read(buffer.subarray(0, Math.min(left, buffer.length)));
    if (n === null || n === 0) break;
    yield buffer.slice(0, n);
    left -= n;
  }
  if (stripped) yield stringToBytes(STRIPPED_NOTICE);
}

function unlinkBounce(layout: QueueLayout, id: bigint): void {
  const path = layout.bounce(id);
  try {
    removeIfPresentSync(path);
  } catch (error) {
    throw new BounceError(`unable to unlink ${queueName(layout, path)}`, true, undefined, {
      cause: error,
    });
  }
}

/** Removes bounce/ID without sending it (a double bounce that cannot be injected at all). */
export function discardBounce(layout: QueueLayout, id: bigint): void {
  unlinkBounce(layout, id);
}

/**
 * S5 → S1, the end of messdone (§4.8 step 6): unlinks info/ID (the message
 * leaves the sender's view), then does qmail-clean's `foop/ID` (§4.11):
 * intd/ID, then mess/ID. Throws when info cannot be unlinked.
 */
export function finishMessage(layout: QueueLayout, id: bigint): void {
  removeIfPresentSync(layout.info(id));
  removeMessage(layout, id);
}

/**
 * qmail-clean's `foop/ID` (§4.11): unlinks intd/ID (either form), then
 * mess/ID, ignoring ENOENT (S2/S3 → S1, or the last step of S5 → S1).
 * Throws on other errors.
 */
export function removeMessage(layout: QueueLayout, id: bigint): void {
  // intd/ID is normally gone already (removed with todo/ID at preprocessing).
  removeEntries(layout.intdForms(id).filter(probeFile));
  removeIfPresentSync(layout.mess(id));
}
