/**
 * The console's read-only view of the queue: counts by state (qmail's
 * directories, read by queue/status.ts's counters) and the qread listing,
 * plus a sample of the queue's size every minute for the dashboard.
 * Changing the queue is the send role's job; nothing here writes.
 */
import { countFiles, countQueue, describeQueue } from "../queue/status.ts";
import { queueLayoutFor } from "../queue/layout.ts";

/** Messages by state: all in mess/, not yet preprocessed, with local or remote work, bouncing. */
export interface QueueStates {
  messages: number;
  todo: number;
  local: number;
  remote: number;
  bounce: number;
}

/** How many size samples the dashboard keeps (one a minute). */
const SAMPLES_KEPT = 60;

export class QueueSampler {
  readonly #home: string;
  readonly #samples: number[] = [];

  constructor(home: string) {
    this.#home = home;
  }

  /** The queue's counts now. */
  states(): QueueStates {
    const layout = queueLayoutFor(this.#home);
    const counts = countQueue(layout);
    return {
      messages: counts.messages,
      todo: counts.unprocessed,
      local: countFiles(layout.directory("local")),
      remote: countFiles(layout.directory("remote")),
      bounce: countFiles(layout.directory("bounce")),
    };
  }

  /** qmail-qread's listing of the queue, as `qmd qread` prints it. */
  listing(): string {
    return describeQueue(queueLayoutFor(this.#home)).text;
  }

  /** Takes one sample of the queue's size (the role calls this every minute). */
  sample(): void {
    this.#samples.push(this.states().messages);
    if (this.#samples.length > SAMPLES_KEPT) this.#samples.shift();
  }

  /** The sizes sampled, oldest first. */
  samples(): readonly number[] {
    return this.#samples;
  }
}
