/**
 * Names known to be absent from a directory (no entry at all, not even a
 * dangling symlink), so the .qmail search (docs/queue-format.md §6.2, §6.3) need
 * not stat every candidate on every delivery.
 *
 * What is remembered is valid while the directory's device, inode, mtime and
 * ctime are unchanged: creating, renaming or removing an entry changes mtime
 * and ctime, so a .qmail file the operator adds is seen by the next delivery,
 * as qmail-local re-reading it every time would see it. A directory changed
 * within the last RACY_MS is not trusted (a change in the same clock tick
 * might leave the times as they were), nor are names holding a `/` (they
 * live in subdirectories, whose changes the directory's times do not show).
 */

/** A directory changed less than this long ago is not cached. */
export const RACY_MS = 2000;
const DIRECTORY_LIMIT = 10_000;

export class AbsentNames {
  readonly #directories = new Map<string, { stamp: string; names: Set<string> }>();

  /**
   * The set of names absent from `dir` as `info` (its stat, just taken)
   * describes it, or undefined when it cannot be trusted. The set is filled
   * by `note` and emptied when the directory changes.
   */
  namesFor(dir: string, info: Deno.FileInfo, now: number): Set<string> | undefined {
    const mtime = info.mtime?.getTime();
    const ctime = info.ctime?.getTime();
    if (mtime === undefined || ctime === undefined || info.ino === null) return undefined;
    if (now - mtime < RACY_MS || now - ctime < RACY_MS) {
      this.#directories.delete(dir);
      return undefined;
    }
    const stamp = `${info.dev}:${info.ino}:${mtime}:${ctime}`;
    let entry = this.#directories.get(dir);
    if (entry === undefined || entry.stamp !== stamp) {
      if (this.#directories.size >= DIRECTORY_LIMIT) this.#directories.clear();
      entry = { stamp, names: new Set() };
      this.#directories.set(dir, entry);
    }
    return entry.names;
  }

  /**
   * After a stat of `dir/name` said NotFound: remembers `name` in `names`
   * when nothing of that name is there at all (lstat agrees).
   */
  note(names: Set<string> | undefined, dir: string, name: string): void {
    if (names === undefined || name.includes("/")) return;
    try {
      Deno.lstatSync(`${dir}/${name}`);
    } catch (error) {
      if (error instanceof Deno.errors.NotFound) names.add(name);
    }
  }
}
