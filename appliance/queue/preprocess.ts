/**
 * S4 → S5, qmail-send's preprocessing of a todo entry (docs/queue-format.md
 * §4.3, §4.4) with qmail-clean's `todo/ID` at its end (§4.11): info and the
 * channel files are made, written and fsynced with their directories before
 * todo/ID goes, so a crash at any point leaves a message that is simply
 * preprocessed again. Only the send role calls these.
 *
 * File I/O is synchronous, as in qmail-send's single-threaded loop, except
 * that preprocessMessages overlaps the fsyncs of a batch. Unlike qmail,
 * which assumes synchronous BSD FFS metadata, directories are fsynced after
 * entries that a crash must not lose are created or removed (Linux).
 */
import { formatChannelRecord, parseTodo } from "./envelope.ts";
import { findEntry, removeEntries, removeEntriesAsync } from "./entries.ts";
import { errorText } from "./error_text.ts";
import { type Channel, type QueueLayout, queueName } from "./layout.ts";
import { routeRecipient, type RoutingTable } from "../send/routing.ts";
import { writeAllSync } from "../write_all.ts";
import { concatBytes, stringToBytes } from "../bytes.ts";
import { dirname, removeIfPresentSync } from "../durable_file.ts";
import { queueDirectories } from "../held_directories.ts";
import { type OpenChannelPass, parseChannelPass } from "./transitions.ts";

const CHANNELS: readonly Channel[] = ["local", "remote"];

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
    /** With keepChannelFiles: what the first pass would read back, the channel files open. */
    passes?: PreprocessedPasses;
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

/**
 * What a delivery pass reads from info and a channel file (§4.6), as
 * preprocessing wrote them: the sender, the birth (info's mtime) and each
 * channel's records, with the channel file left open (for writing) to mark
 * them done.
 * The send role's first pass starts from this instead of opening and
 * reading the files it has just written; the files stay what they are on
 * disk, so a pass that starts without it reads them as qmail-send does.
 */
export interface PreprocessedPasses {
  sender: Uint8Array;
  birth: number;
  channels: Partial<Record<Channel, OpenChannelPass>>;
}

/** A message whose info and channel files are written but not yet durable (§4.3 steps 4–6). */
interface PreparedMessage {
  todoPath: string;
  todoName: string;
  infoName: string;
  written: Record<Channel, boolean>;
  /**
   * Files still open, in creation order, each with the warning its fsync
   * failure gives; a channel file with its channel and bytes.
   */
  files: {
    file: Deno.FsFile;
    warning: (error: unknown) => string;
    channel?: { name: Channel; bytes: Uint8Array };
  }[];
  /** The channel files kept open after their fsync (keepChannelFiles). */
  kept: PreparedMessage["files"];
  /** The directories whose new entries must be durable before todo goes. */
  directories: string[];
  base: { bytes: number; sender?: Uint8Array; qp: string; uid: string };
}

type PreprocessFailure = Extract<PreprocessResult, { ok: false }>;

function closeAll(prepared: PreparedMessage): void {
  closeFiles(prepared.files.splice(0));
}

function closeFiles(files: readonly { file: Deno.FsFile }[]): void {
  for (const { file } of files) {
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
      removeIfPresentSync(path, { usuallyAbsent: true });
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
    kept: [],
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
    const bytes = concatBytes(channelRecords[channel]);
    prepared.files.push({ file, warning, channel: { name: channel, bytes } });
    try {
      writeAllSync(file, bytes);
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
  try {
    for (const paths of [layout.intdForms(id), layout.todoForms(id)]) removeEntries(paths);
  } catch (error) {
    return cleanupFailed(prepared, error);
  }
  return cleaned(prepared);
}

/** A message preprocessed and cleaned: where its recipients went. */
function cleaned(prepared: PreparedMessage): PreprocessResult {
  return {
    ok: true,
    local: prepared.written.local,
    remote: prepared.written.remote,
    ...prepared.base,
  };
}

/** qmail-send's warning when qmail-clean could not remove intd or todo. */
function cleanupFailed(prepared: PreparedMessage, error: unknown): PreprocessResult {
  return {
    ok: false,
    warning: `qmail-clean unable to clean up ${prepared.todoName}: ${errorText(error)}`,
    infoCreated: true,
    ...prepared.base,
  };
}

/**
 * cleanTodo with todo's unlink on Deno's I/O threads (removeEntriesAsync):
 * intd, then todo. intd/ID goes on this thread: todo/ID is a link to the same
 * inode, so removing the name frees nothing and does not wait for the disk,
 * and an operation handed to the I/O threads costs about 30 µs of CPU
 * (README, issue 16's fifth round). todo/ID's unlink frees the inode.
 */
async function cleanTodoAsync(
  layout: QueueLayout,
  id: bigint,
  prepared: PreparedMessage,
): Promise<PreprocessResult> {
  try {
    removeEntries(layout.intdForms(id));
    await removeEntriesAsync(layout.todoForms(id));
  } catch (error) {
    return cleanupFailed(prepared, error);
  }
  return cleaned(prepared);
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
    for (const directory of prepared.directories) queueDirectories.syncSync(directory);
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
    queueDirectories.syncSync(dirname(prepared.todoPath));
  } catch {
    // The todo entry may come back after a crash; preprocessing is idempotent.
  }
  return result;
}

/** An ok result with the kept channel files as its passes; the files are closed otherwise. */
function withPasses(
  result: PreprocessResult,
  step: PreparedMessage,
  now: number | undefined,
): PreprocessResult {
  const kept = step.kept.splice(0);
  if (!result.ok || kept.length === 0 || now === undefined || step.base.sender === undefined) {
    closeFiles(kept);
    return result;
  }
  const channels: PreprocessedPasses["channels"] = {};
  for (const { file, channel } of kept) {
    channels[channel!.name] = { ...parseChannelPass(channel!.bytes), file };
  }
  // info's mtime was set to `now` (prepareMessage); a pass reads it back in whole seconds.
  return { ...result, passes: { sender: step.base.sender, birth: Math.floor(now), channels } };
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
 *
 * With `keepChannelFiles` (and `now`), an ok result carries its
 * PreprocessedPasses: the channel files stay open, and the caller closes them.
 */
export async function preprocessMessages(
  layout: QueueLayout,
  ids: readonly bigint[],
  table: RoutingTable,
  now?: number,
  options: { keepChannelFiles?: boolean } = {},
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
    closeFiles(step.kept.splice(0));
    results[index] = { ok: false, warning, infoCreated: true, ...step.base };
  };

  // The files and the directories that received them: all fsyncs in flight at
  // once, one per distinct directory (it covers every entry made in it). Issued
  // together, the file system serves them with shared flushes; a message fails
  // with its first failing file or directory.
  const directorySyncs = new Map<string, Promise<unknown>>();
  for (const step of prepared) {
    for (const directory of step?.directories ?? []) {
      if (!directorySyncs.has(directory)) {
        directorySyncs.set(
          directory,
          queueDirectories.sync(directory).then(() => undefined, (error) => error ?? "error"),
        );
      }
    }
  }
  await Promise.all(prepared.map(async (step, index) => {
    if (step === undefined) return;
    const outcomes = await Promise.allSettled(step.files.map(({ file }) => file.sync()));
    const failed = outcomes.findIndex((outcome) => outcome.status === "rejected");
    const warning = failed < 0
      ? undefined
      : step.files[failed].warning((outcomes[failed] as PromiseRejectedResult).reason);
    // The channel files stay open for the first pass (PreprocessedPasses) when asked to.
    const keep = options.keepChannelFiles === true && warning === undefined &&
      now !== undefined && step.base.sender !== undefined;
    const files = step.files.splice(0);
    step.kept = keep ? files.filter((entry) => entry.channel !== undefined) : [];
    closeFiles(keep ? files.filter((entry) => entry.channel === undefined) : files);
    if (warning !== undefined) failWith(index, warning);
  }));
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

  // Only now may todo go, each message's intd then todo (the messages side by side, off this
  // thread); then each todo directory once.
  const todoDirectories = new Set<string>();
  await Promise.all(prepared.map(async (step, index) => {
    if (step === undefined) return;
    todoDirectories.add(dirname(step.todoPath));
    const result = await cleanTodoAsync(layout, ids[index], step);
    results[index] = withPasses(result, step, now);
  }));
  await Promise.all(
    [...todoDirectories].map((directory) =>
      // The todo entry may come back after a crash; preprocessing is idempotent.
      queueDirectories.sync(directory).catch(() => {})
    ),
  );
  return results as PreprocessResult[];
}
