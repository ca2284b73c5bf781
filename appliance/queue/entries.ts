/**
 * Queue entries that may have either of two names (queue/layout.ts): flat
 * `todo/ID` as a vanilla qmail-queue writes it, or split `todo/NN/ID` as the
 * big-todo patch and qmd's own writer do (docs/queue-format.md §2.4); the same
 * for intd/. A flat name for a small message number can be a split
 * subdirectory's name (`todo/5`), so a directory never counts as an entry
 * and is never removed.
 */
import { probeFile } from "../durable_file.ts";

function isAbsence(error: unknown): boolean {
  return error instanceof Deno.errors.NotFound || error instanceof Deno.errors.NotADirectory;
}

/**
 * Whether an entry exists at `path` (anything but a directory). Absence is
 * confirmed exactly: a stat error other than ENOENT or ENOTDIR throws, so an
 * I/O error never reads as "absent".
 */
export function entryExists(path: string): boolean {
  try {
    return !Deno.statSync(path).isDirectory;
  } catch (error) {
    if (isAbsence(error)) return false;
    throw error;
  }
}

/**
 * entryExists without the cost of an exception when the entry is absent
 * (durable_file.ts's probeFile), for names that are normally absent. Any
 * stat failure reads as absence, as it does there.
 */
export function probeEntry(path: string): boolean {
  if (!probeFile(path)) return false;
  try {
    return !Deno.statSync(path).isDirectory;
  } catch {
    return false;
  }
}

/** The first of `paths` where an entry exists (entryExists), or undefined. */
export function findEntry(paths: readonly string[]): string | undefined {
  return paths.find((path) => entryExists(path));
}

/**
 * Whether an entry exists under any of `paths`, each checked exactly. No
 * cheap probe first: the callers ask about entries that are normally absent,
 * and only the exact check can confirm absence.
 */
export function anyEntryExists(paths: readonly string[]): boolean {
  return paths.some((path) => entryExists(path));
}

/**
 * Unlinks the entry at `path` if there is one (ENOENT and ENOTDIR ignored,
 * a directory left alone). Other errors throw. The cheap probe goes first,
 * since most names tried are absent (the other form of intd and todo): a
 * name the probe cannot stat (EACCES, EIO) is left alone without an error;
 * the entry then stays, which at worst means work done again (a todo entry
 * preprocessed twice), never a message lost.
 */
export function removeEntry(path: string): void {
  if (!probeFile(path)) return;
  try {
    if (Deno.lstatSync(path).isDirectory) return;
    Deno.removeSync(path);
  } catch (error) {
    if (!isAbsence(error)) throw error;
  }
}

/** removeEntry for every path, in order. */
export function removeEntries(paths: readonly string[]): void {
  for (const path of paths) removeEntry(path);
}

/**
 * removeEntry with the unlink on Deno's I/O threads: the send role's thread
 * goes on while the file system frees the blocks (an unlink of a file just
 * fsynced waits for the disk). The probe and the lstat stay on this thread:
 * each is a few microseconds, and an operation sent to the I/O threads costs
 * tens of microseconds of CPU in thread hand-offs (README, issue 16).
 */
export async function removeEntryAsync(path: string): Promise<void> {
  if (!probeFile(path)) return;
  try {
    if (Deno.lstatSync(path).isDirectory) return;
    await Deno.remove(path);
  } catch (error) {
    if (!isAbsence(error)) throw error;
  }
}

/** removeEntryAsync for every path, one after another, in order. */
export async function removeEntriesAsync(paths: readonly string[]): Promise<void> {
  for (const path of paths) await removeEntryAsync(path);
}
