/**
 * qmail-send's schedule as the queue keeps it across restarts
 * (docs/queue-format.md §4.5, §4.7, §4.9): each channel file's mtime is when its
 * job is next due. At start every message in info/ is scheduled from those
 * mtimes (qmail's pqadd; a message whose files cannot be stat'ed is looked
 * at again later, qmail's pqfail); at exit every queued job's due time is
 * written back (qmail's pqfinish).
 */
import { logWarning } from "../../log.ts";
import { fileExists, probeFile } from "../../durable_file.ts";
import { probeEntry } from "../../queue/entries.ts";
import { type Channel, type QueueLayout, queueName } from "../../queue/layout.ts";
import { setChannelRetryTime } from "../../queue/transitions.ts";
import { SYSTEM_FAILURE_RETRY_SECONDS } from "../retry.ts";
import { DueQueue } from "../scheduler.ts";
import { CHANNELS, type Channels } from "./channels.ts";

export interface SavedScheduleOptions {
  layout: QueueLayout;
  /** The two channels' schedulers (shared with the rest of the engine). */
  channels: Channels;
  /** Unix seconds. */
  now(): number;
  /** A message has no channel file left: it is done at `due` (qmail's pqdone). */
  finished(id: bigint, due: number): void;
}

/** Reads and writes the due times kept in channel-file mtimes. */
export class SavedSchedule {
  #options: SavedScheduleOptions;
  /** Messages whose stat failed: looked at again later (qmail's pqfail). */
  #failed = new DueQueue();

  constructor(options: SavedScheduleOptions) {
    this.#options = options;
  }

  /**
   * Schedules message `id` from info/ (qmail's pqadd): each channel file's
   * job at its mtime, or the message as done when it has none. A message
   * still in todo/ is left to the todo scan.
   */
  restore(id: bigint): void {
    const { layout, channels } = this.#options;
    let path = layout.info(id);
    try {
      if (!probeFile(path) && !fileExists(path)) return;
      // Either form of todo/ID: the todo scan preprocesses it again (§4.9).
      for (path of layout.todoForms(id)) if (probeEntry(path)) return;
      const due: Partial<Record<Channel, number>> = {};
      for (const channel of CHANNELS) {
        path = layout.channel(channel, id);
        const mtime = channelMtime(path);
        if (mtime !== undefined) due[channel] = mtime;
      }
      let any = false;
      for (const channel of CHANNELS) {
        if (due[channel] === undefined) continue;
        channels[channel].queue.insert(id, due[channel]);
        any = true;
      }
      if (!any) this.#options.finished(id, this.#options.now());
    } catch {
      logWarning(`unable to stat ${queueName(layout, path)}; will try again later`);
      this.#failed.insert(id, this.#options.now() + SYSTEM_FAILURE_RETRY_SECONDS);
    }
  }

  /** Restores one message whose stat failed earlier, if one is due; false when none is. */
  retryDue(now: number): boolean {
    const failed = this.#failed.takeDue(now);
    if (failed === undefined) return false;
    this.restore(failed.id);
    return true;
  }

  /** Whether a failed message is due again at `now`. */
  hasDue(now: number): boolean {
    const first = this.#failed.peek();
    return first !== undefined && first.due <= now;
  }

  /** When the earliest failed message is due again. */
  wakeAt(): number | undefined {
    return this.#failed.peek()?.due;
  }

  /**
   * Empties both channels' queues into the channel files' mtimes and atimes
   * (qmail's pqfinish at exit), so the next start resumes the schedule.
   */
  save(): void {
    const { layout, channels } = this.#options;
    for (const channel of CHANNELS) {
      for (const entry of channels[channel].queue.drain()) {
        const path = layout.channel(channel, entry.id);
        if (!setChannelRetryTime(path, entry.due)) {
          logWarning(
            `unable to utime ${queueName(layout, path)}; message will be retried too soon`,
          );
        }
      }
    }
  }
}

/** A channel file's mtime in Unix seconds; undefined when it does not exist. */
function channelMtime(path: string): number | undefined {
  // Often absent (a message without remote recipients): probed without an exception.
  if (!probeFile(path)) return undefined;
  try {
    const mtime = Deno.statSync(path).mtime;
    return Math.floor((mtime?.getTime() ?? 0) / 1000);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return undefined;
    throw error;
  }
}
