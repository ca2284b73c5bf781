/**
 * Open handles on the directories the queue fsyncs again and again (mess/NN,
 * todo/NN, info/NN, local/NN, remote/NN). Inside an isolate with path-scoped
 * permissions, opening a path costs Deno's permission walk, a readlink per
 * path component: about 15 µs of CPU on top of the open itself, while an
 * fsync needs no new handle (README, "Where a message's cost goes"). A held
 * handle is opened on the first fsync of its directory and kept.
 *
 * qmd never replaces a queue directory while it runs; a handle would go on
 * naming the directory it was opened on. The handles are bounded: past
 * `max`, the handle used longest ago is closed once no fsync runs on it.
 */

interface Held {
  file: Deno.FsFile;
  /** fsyncs under way on this handle. */
  busy: number;
  /** Dropped from the map (an error, or over the bound): close when no longer busy. */
  dropped: boolean;
}

export class HeldDirectories {
  readonly #max: number;
  /** In order of last use (a Map iterates in insertion order; a use re-inserts). */
  readonly #handles = new Map<string, Held>();

  constructor(max = 256) {
    this.#max = max;
  }

  /** Fsyncs `path` through its held handle, opening it first if need be. Throws as fsync does. */
  async sync(path: string): Promise<void> {
    const held = this.#take(path);
    held.busy++;
    try {
      await held.file.sync();
    } catch (error) {
      this.#drop(path, held);
      throw error;
    } finally {
      this.#release(held);
    }
  }

  /** sync() on this thread. */
  syncSync(path: string): void {
    const held = this.#take(path);
    held.busy++;
    try {
      held.file.syncSync();
    } catch (error) {
      this.#drop(path, held);
      throw error;
    } finally {
      this.#release(held);
    }
  }

  /** How many handles are held (tests). */
  get size(): number {
    return this.#handles.size;
  }

  /** Closes every handle not in use; the others close when their fsync ends. */
  close(): void {
    for (const [path, held] of [...this.#handles]) this.#drop(path, held);
  }

  #take(path: string): Held {
    let held = this.#handles.get(path);
    if (held === undefined) {
      held = { file: Deno.openSync(path, { read: true }), busy: 0, dropped: false };
    } else {
      this.#handles.delete(path);
    }
    this.#handles.set(path, held);
    for (const [oldest, entry] of this.#handles) {
      if (this.#handles.size <= this.#max) break;
      this.#drop(oldest, entry);
    }
    return held;
  }

  #drop(path: string, held: Held): void {
    if (this.#handles.get(path) === held) this.#handles.delete(path);
    held.dropped = true;
    if (held.busy === 0) closeQuietly(held.file);
  }

  #release(held: Held): void {
    held.busy--;
    if (held.dropped && held.busy === 0) closeQuietly(held.file);
  }
}

function closeQuietly(file: Deno.FsFile): void {
  try {
    file.close();
  } catch {
    // Already closed (a drop while busy, then another).
  }
}

/** The queue's directories, held by whichever isolate fsyncs them (smtpd, send, local). */
export const queueDirectories = new HeldDirectories();
