/**
 * The supervisor's side of the admin isolate's feed: every log record the
 * supervisor writes is counted (log_counters.ts) and, while an admin
 * isolate runs, collected and posted to it in batches with the counters'
 * snapshot, for the live log (server-sent events), the dashboard and
 * /metrics. A batch goes at most every FEED_INTERVAL_MS, so a busy log
 * costs one postMessage per interval, not one per line.
 */
import type { LogRecord } from "./log.ts";
import type { ToRole } from "./ipc.ts";
import { LogCounters } from "./log_counters.ts";

/** How often a batch of records goes to the admin isolate. */
export const FEED_INTERVAL_MS = 250;

/** Records kept for the admin isolate while it is not running (it shows them when it starts). */
const PENDING_LIMIT = 1000;

export class AdminFeed {
  readonly #counters = new LogCounters();
  readonly #post: (message: ToRole) => void;
  #pending: LogRecord[] = [];
  #timer: ReturnType<typeof setTimeout> | undefined;
  #enabled: boolean;

  /** `post` sends to the admin isolate; `enabled` false (no console): records are only counted. */
  constructor(post: (message: ToRole) => void, enabled: boolean) {
    this.#post = post;
    this.#enabled = enabled;
  }

  /** Counts a record and queues it for the admin isolate. */
  record(record: LogRecord): void {
    this.#counters.record(record);
    if (!this.#enabled) return;
    this.#pending.push(record);
    if (this.#pending.length > PENDING_LIMIT) this.#pending.shift();
    this.#timer ??= setTimeout(() => this.flush(), FEED_INTERVAL_MS);
  }

  /** Posts what is pending now, with the counters (also when an admin isolate is ready). */
  flush(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    if (!this.#enabled) return;
    const records = this.#pending;
    this.#pending = [];
    this.#post({ type: "admin-feed", records, counters: this.#counters.snapshot() });
  }

  /** No more batches (the supervisor is stopping). */
  stop(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#enabled = false;
  }
}
