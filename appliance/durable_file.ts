/**
 * Durable file operations for the queue, local delivery and the commands
 * that write cdb files: fsync of a directory, replacing a file through a
 * fsynced temporary, remove-if-present and existence checks.
 *
 * qmail never fsyncs a directory: it counts on BSD FFS-style synchronous
 * directory updates (docs/queue-format.md §3.2). On Linux a new, renamed or
 * removed entry survives a crash only once its directory is fsynced
 * (docs/reliability.md Q6), so qmd fsyncs the directory after every entry a
 * crash must not lose (README.md, "Durability on Linux").
 *
 * Absence: removeIfPresent and fileExists treat ENOENT alone as "absent";
 * every other failure throws, so an I/O error never passes for a file that
 * is not there (which matters before a message body is deleted). probeFile is
 * the cheap hint for names that are normally absent.
 */
import { existsSync } from "node:fs";

/** Whether `error` is ENOENT. */
export function isNotFound(error: unknown): boolean {
  return error instanceof Deno.errors.NotFound;
}

/** The directory holding `path`: "." for a bare name, "/" for an entry of the root. */
export function dirname(path: string): string {
  const slash = path.lastIndexOf("/");
  return slash < 0 ? "." : slash === 0 ? "/" : path.slice(0, slash);
}

/** Fsyncs a directory so that entries created, renamed or removed in it survive a crash. */
export function syncDirectorySync(path: string): void {
  const directory = Deno.openSync(path, { read: true });
  try {
    directory.syncSync();
  } finally {
    directory.close();
  }
}

export interface DirectorySyncOptions {
  /**
   * A directory that cannot be opened, or a file system that cannot fsync a
   * directory (EINVAL), counts as synced; other fsync errors still throw.
   * For mailboxes, which qmail-local never fsyncs at all.
   */
  lenient?: boolean;
}

/**
 * syncDirectorySync with the fsync on Deno's I/O threads, so that several
 * run at once; the open stays synchronous (a metadata call, cheaper than a
 * trip to the threads). Throws on failure unless `lenient` excuses it.
 */
export async function syncDirectory(
  path: string,
  options: DirectorySyncOptions = {},
): Promise<void> {
  let directory: Deno.FsFile;
  try {
    directory = Deno.openSync(path, { read: true });
  } catch (error) {
    if (options.lenient) return;
    throw error;
  }
  try {
    await directory.sync();
  } catch (error) {
    if (!options.lenient || (error as { code?: string }).code !== "EINVAL") throw error;
  } finally {
    directory.close();
  }
}

interface SharedSync {
  /** The fsync under way. */
  running?: Promise<void>;
  /** The fsync that starts when `running` ends; it covers every link made before it starts. */
  next?: Promise<void>;
}

/**
 * Directory fsyncs shared by concurrent callers (group commit): a caller
 * whose entry is made waits for an fsync that starts after its call, never
 * for one already under way, so its entry is durable when the promise
 * resolves; all callers arriving while one fsync runs share the single fsync
 * that follows it.
 */
export class SharedDirectorySync {
  readonly #fsync: (directory: string) => Promise<void>;
  readonly #states = new Map<string, SharedSync>();

  /** `fsync` does one directory fsync (syncDirectory, with the caller's options). */
  constructor(fsync: (directory: string) => Promise<void>) {
    this.#fsync = fsync;
  }

  /** Resolves once an fsync of `directory` that started after this call has ended. */
  sync(directory: string): Promise<void> {
    let state = this.#states.get(directory);
    if (state === undefined) {
      state = {};
      this.#states.set(directory, state);
    }
    if (state.next !== undefined) return state.next;
    if (state.running === undefined) return this.#start(directory, state);
    const current = state;
    const next = current.running!.catch(() => {}).then(() => {
      current.next = undefined;
      return this.#start(directory, current);
    });
    current.next = next;
    return next;
  }

  #start(directory: string, state: SharedSync): Promise<void> {
    const running = this.#fsync(directory).finally(() => {
      if (state.running === running) state.running = undefined;
      if (state.running === undefined && state.next === undefined) {
        this.#states.delete(directory);
      }
    });
    state.running = running;
    return running;
  }
}

/**
 * Replaces `path` with `bytes` as cdbmake and qmail-newu do: write PATH.tmp
 * (mode 0644), fsync, close, rename over PATH, so readers see the old file or
 * the new one, never a partial one; then fsync the directory, where the file
 * system allows (the rename stands either way). A failure before the rename
 * removes PATH.tmp, leaves PATH alone and throws.
 */
export async function replaceFile(path: string, bytes: Uint8Array): Promise<void> {
  const temporary = `${path}.tmp`;
  const file = await Deno.open(temporary, {
    write: true,
    create: true,
    truncate: true,
    mode: 0o644,
  });
  try {
    let written = 0;
    while (written < bytes.length) written += await file.write(bytes.subarray(written));
    await file.sync();
  } catch (error) {
    file.close();
    await Deno.remove(temporary).catch(() => {});
    throw error;
  }
  file.close();
  await Deno.rename(temporary, path);
  await syncDirectory(dirname(path)).catch(() => {});
}

/**
 * Unlinks `path`; absence (ENOENT) is success, every other error throws.
 * With `usuallyAbsent` (sidecars, the leftovers of a crash) the cheap probe
 * goes first, since a failed unlink costs an exception; a probe that cannot
 * stat the name (EACCES on a parent) leaves it alone, as the unlink would
 * have failed too. Queue entries are never symbolic links.
 */
export function removeIfPresentSync(path: string, options: { usuallyAbsent?: boolean } = {}): void {
  if (options.usuallyAbsent && !probeFile(path)) return;
  try {
    Deno.removeSync(path);
  } catch (error) {
    if (!isNotFound(error)) throw error;
  }
}

/** removeIfPresentSync with the unlink on Deno's I/O threads (the probe stays on this one). */
export async function removeIfPresent(
  path: string,
  options: { usuallyAbsent?: boolean } = {},
): Promise<void> {
  if (options.usuallyAbsent && !probeFile(path)) return;
  try {
    await Deno.remove(path);
  } catch (error) {
    if (!isNotFound(error)) throw error;
  }
}

/**
 * Whether something exists at `path` (stat, or lstat when `followLinks` is
 * false). Absence is confirmed exactly: only ENOENT reads as absent, every
 * other error throws (qmail's stat checks).
 */
export function fileExists(path: string, options: { followLinks?: boolean } = {}): boolean {
  try {
    if (options.followLinks === false) Deno.lstatSync(path);
    else Deno.statSync(path);
    return true;
  } catch (error) {
    if (isNotFound(error)) return false;
    throw error;
  }
}

/**
 * Whether a file that is normally absent exists, without the cost of the
 * exception a failed Deno.statSync raises (node:fs existsSync). Any stat
 * failure reads as absence, so a false answer must be confirmed with
 * fileExists wherever absence leads to a deletion; Deno permission errors
 * still throw.
 */
export function probeFile(path: string): boolean {
  return existsSync(path);
}

/**
 * The size of an open file, its offset left at the start: two lseeks.
 * Deno's `FsFile.statSync()` checks read permission on the file's path again
 * and, in a sandboxed isolate, resolves every component of it with readlink
 * (about 12 µs against 3 µs here, README issue 16); lseek checks nothing.
 */
export function openFileSize(file: Deno.FsFile): number {
  const size = file.seekSync(0, Deno.SeekMode.End);
  file.seekSync(0, Deno.SeekMode.Start);
  return size;
}

/**
 * The whole of an open file read from its start, when it holds at most
 * `maxBytes`; undefined when it is larger or grew while it was read (the
 * caller then reads the file itself). Reads go on this thread: for a file
 * just written they come from the page cache, where a read handed to Deno's
 * I/O threads costs about 30 µs of CPU (README, issue 16's fifth round).
 */
export function readSmallFileSync(file: Deno.FsFile, maxBytes: number): Uint8Array | undefined {
  const size = openFileSize(file);
  if (size > maxBytes) return undefined;
  const bytes = new Uint8Array(size + 1);
  let length = 0;
  for (;;) {
    const count = file.readSync(bytes.subarray(length));
    if (count === null) break;
    length += count;
    if (length > size) return undefined;
  }
  return bytes.subarray(0, length);
}
