/**
 * lock/sendmutex (docs/queue-format.md §4.1 step 3): one qmail-send per queue.
 * Held from start until the engine closes.
 */
import { SendStartError } from "./start_error.ts";

/** The flock on lock/sendmutex. */
export class SendMutex {
  #file: Deno.FsFile | undefined;

  private constructor(file: Deno.FsFile) {
    this.#file = file;
  }

  /**
   * Takes the lock: a non-blocking exclusive flock, as qmail-send does.
   * Throws SendStartError with qmail's wording when the file cannot be opened
   * or locked, or when another qmail-send holds it.
   */
  static take(path: string): SendMutex {
    let file: Deno.FsFile;
    try {
      file = Deno.openSync(path, { write: true, create: true, mode: 0o600 });
    } catch (error) {
      throw new SendStartError(`cannot start: unable to open mutex: ${(error as Error).message}`, {
        cause: error,
      });
    }
    let locked: boolean;
    try {
      locked = file.tryLockSync(true);
    } catch (error) {
      file.close();
      throw new SendStartError(`cannot start: unable to lock mutex: ${(error as Error).message}`, {
        cause: error,
      });
    }
    if (!locked) {
      file.close();
      throw new SendStartError("cannot start: qmail-send is already running");
    }
    return new SendMutex(file);
  }

  /** Unlocks and closes; a second call does nothing. */
  release(): void {
    try {
      this.#file?.unlockSync();
    } catch {
      // Closing releases the lock anyway.
    }
    this.#file?.close();
    this.#file = undefined;
  }
}
