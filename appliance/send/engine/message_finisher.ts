/**
 * qmail-send's done queue (docs/queue-format.md §4.8, qmail's pqdone): messages
 * with no channel file left wait here to have their bounce sent and leave the
 * queue, one at a time, through queue/bounce_and_finish.ts.
 */
import { bounceAndFinish } from "../../queue/bounce_and_finish.ts";
import type { BounceSettings } from "../../queue/inject_bounce.ts";
import type { openQueueMessage } from "../../queue/qmail_queue.ts";
import type { QueueLayout } from "../../queue/layout.ts";
import { SYSTEM_FAILURE_RETRY_SECONDS } from "../retry.ts";
import { DueQueue } from "../scheduler.ts";

export interface MessageFinisherOptions {
  layout: QueueLayout;
  /** Unix seconds. */
  now(): number;
  /** The queue writer used for bounces (tests substitute a failing one). */
  open: typeof openQueueMessage | undefined;
  /** A bounce was queued: its todo entry waits for the todo scan. */
  bounced(): void;
  /** A message is finished or put back (the loop looks for more work). */
  settled(): void;
}

/** The messages waiting to be bounced and removed, and the one being finished. */
export class MessageFinisher {
  #options: MessageFinisherOptions;
  #done = new DueQueue();
  #finishing: Promise<void> | undefined;
  #finishingId: bigint | undefined;

  constructor(options: MessageFinisherOptions) {
    this.#options = options;
  }

  /** Messages waiting. */
  get size(): number {
    return this.#done.size;
  }

  /** The message being finished, if any. */
  get busy(): Promise<void> | undefined {
    return this.#finishing;
  }

  /** The message being finished (its bounce injected, its files removed), if any. */
  get finishingId(): bigint | undefined {
    return this.#finishingId;
  }

  /** Message `id` has no channel file left: finish it at `due`. */
  add(id: bigint, due: number): void {
    this.#done.insert(id, due);
  }

  /** Whether a waiting message is due at `now`. */
  hasDue(now: number): boolean {
    const first = this.#done.peek();
    return first !== undefined && first.due <= now;
  }

  /** When the earliest message is due; undefined while one is being finished. */
  wakeAt(): number | undefined {
    if (this.#finishing) return undefined;
    return this.#done.peek()?.due;
  }

  /** Starts finishing the earliest due message, unless one is being finished already. */
  start(settings: BounceSettings): void {
    if (this.#finishing) return;
    const entry = this.#done.takeDue(this.#options.now());
    if (entry === undefined) return;
    this.#finishingId = entry.id;
    this.#finishing = this.#finish(entry.id, settings).finally(() => {
      this.#finishing = undefined;
      this.#finishingId = undefined;
      this.#options.settled();
    });
  }

  async #finish(id: bigint, settings: BounceSettings): Promise<void> {
    const outcome = await bounceAndFinish(this.#options.layout, id, {
      settings,
      date: new Date(this.#options.now() * 1000),
      open: this.#options.open,
    });
    // The queue writer pulled the trigger; a watcher-less engine needs the nudge itself.
    if (outcome.bounced) this.#options.bounced();
    if (outcome.retry) this.#done.insert(id, this.#options.now() + SYSTEM_FAILURE_RETRY_SECONDS);
  }
}
