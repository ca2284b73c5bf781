/**
 * When qmail-send runs its cleanup scanner (docs/queue-format.md §4.9): once at
 * start and every CLEANUP_INTERVAL_SECONDS after, recovering S2/S3 and pid/
 * leftovers (queue/cleanup.ts's recoverQueue, or the engine's substitute).
 */
import { logWarning } from "../../log.ts";
import type { QueueLayout } from "../../queue/layout.ts";
import { CLEANUP_INTERVAL_SECONDS } from "../retry.ts";

/** Recovery of S2/S3 and pid/ leftovers at Unix time `now`. */
export type RecoverQueue = (layout: QueueLayout, now: number) => Promise<unknown>;

/** The cleanup scanner's timetable and the run in flight. */
export class CleanupSchedule {
  #layout: QueueLayout;
  #recover: RecoverQueue;
  #settled: () => void;
  #next = 0;
  #cleaning: Promise<void> | undefined;

  /** `settled` is called when a periodic run is over (the loop looks for more work). */
  constructor(layout: QueueLayout, recover: RecoverQueue, settled: () => void) {
    this.#layout = layout;
    this.#recover = recover;
    this.#settled = settled;
  }

  /** The run in flight, if any. */
  get busy(): Promise<void> | undefined {
    return this.#cleaning;
  }

  /** The recovery at start; the next run is due CLEANUP_INTERVAL_SECONDS after it. Throws. */
  async runAtStart(now: () => number): Promise<void> {
    await this.#recover(this.#layout, now());
    this.#next = now() + CLEANUP_INTERVAL_SECONDS;
  }

  /** When the next run is due; undefined while one is running. */
  wakeAt(): number | undefined {
    return this.#cleaning ? undefined : this.#next;
  }

  /** Starts a run when one is due at `now` and none is running; failures are logged. */
  startIfDue(now: number): void {
    if (this.#cleaning || now < this.#next) return;
    this.#next = now + CLEANUP_INTERVAL_SECONDS;
    this.#cleaning = this.#recover(this.#layout, now).then(
      () => {},
      (error) => logWarning(`trouble cleaning up the queue: ${(error as Error).message}`),
    ).finally(() => {
      this.#cleaning = undefined;
      this.#settled();
    });
  }
}
