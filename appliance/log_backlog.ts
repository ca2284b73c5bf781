/**
 * Backpressure for the log records a listener isolate (smtpd, pop3d) sends to
 * the supervisor. postMessage has no flow control: a client pipelining NOOPs
 * with control/log/smtp_in and smtp_out on makes two records per line faster
 * than the supervisor writes them, and the records wait in the supervisor's
 * message queue without bound (issue 11, 7b).
 *
 * Records are sent in batches (one message per BATCH_MS, or per
 * BATCH_RECORDS), which also makes each record far cheaper to pass: a
 * session's connect, queued and close lines go to the supervisor as one
 * message instead of three. One Int32 in a SharedArrayBuffer counts the
 * records sent and not yet written; there is one buffer per worker, so a
 * restarted worker starts from zero whatever its predecessor left in
 * flight. Past SOFT_LIMIT the connection
 * drivers take no more client input (logPressure) until the count fell below
 * RESUME_BELOW, for a few seconds at most; past HARD_LIMIT, which only many
 * sessions logging at once or a stuck writer can reach, session dialogue
 * records are dropped and counted, and one warning line says how many once
 * the writer caught up. Connection, queue and auth events are never dropped.
 */
import type { LogRecord } from "./log.ts";

/** Records in flight above which the drivers stop reading from their clients. */
export const SOFT_LIMIT = 4096;
/** The drivers read again once the writer brought the count below this. */
export const RESUME_BELOW = 1024;
/** Records in flight above which dialogue records (DROPPABLE_EVENTS) are dropped. */
export const HARD_LIMIT = 16384;
/** Records per message at most. */
const BATCH_RECORDS = 256;
/**
 * How long the first record of a batch waits for more. A postMessage and the
 * supervisor's wake-up cost more than the timer; log lines come out at most
 * this much later, in the same order.
 */
export const BATCH_MS = 10;
/** Milliseconds between looks at the count while waiting for the writer. */
const POLL_MS = 5;
/**
 * Longest wait for the writer: one that is stuck (stdout blocked) must not
 * hold sessions forever; past it they go on and HARD_LIMIT applies.
 */
const MAX_WAIT_MS = 5000;

/** Per-command records of control/log/smtp_in, smtp_out, pop3_in and pop3_out. */
const DROPPABLE_EVENTS: ReadonlySet<string> = new Set([
  "smtp_in",
  "smtp_out",
  "pop3_in",
  "pop3_out",
]);

export class LogBacklog {
  readonly buffer: SharedArrayBuffer;
  readonly #count: Int32Array;
  #batch: LogRecord[] = [];
  /**
   * Armed by a record when none is; a flush leaves it armed, so that posting
   * often makes one timer per BATCH_MS, not one per batch.
   */
  #timer: ReturnType<typeof setTimeout> | undefined;
  #send: ((records: LogRecord[]) => void) | undefined;
  #dropped = 0;

  constructor(buffer: SharedArrayBuffer = new SharedArrayBuffer(Int32Array.BYTES_PER_ELEMENT)) {
    this.buffer = buffer;
    this.#count = new Int32Array(buffer, 0, 1);
  }

  /** Records sent and not yet written. */
  get inFlight(): number {
    return Atomics.load(this.#count, 0);
  }

  /**
   * Worker side: a log sink that batches records for `send`, counts them,
   * and past HARD_LIMIT drops dialogue records (reported by a warning
   * record before the next one that gets through).
   */
  sink(send: (records: LogRecord[]) => void): (record: LogRecord) => void {
    this.#send = send;
    return (record) => {
      if (DROPPABLE_EVENTS.has(record.event) && this.inFlight >= HARD_LIMIT) {
        this.#dropped++;
        return;
      }
      if (this.#dropped > 0) {
        this.#batch.push({
          time: record.time,
          role: record.role,
          event: "log_dropped",
          text: `warning: ${this.#dropped} session log records dropped: the log writer fell behind`,
          fields: { dropped: this.#dropped },
        });
        this.#dropped = 0;
      }
      this.#batch.push(record);
      if (this.#batch.length >= BATCH_RECORDS) this.flush();
      else {
        this.#timer ??= setTimeout(() => {
          this.#timer = undefined;
          this.flush();
        }, BATCH_MS);
      }
    };
  }

  /** Worker side: sends what is batched now (before any other message, so order is kept). */
  flush(): void {
    if (this.#batch.length === 0 || this.#send === undefined) return;
    const records = this.#batch;
    this.#batch = [];
    Atomics.add(this.#count, 0, records.length);
    this.#send(records);
  }

  /** Supervisor side: `count` records were written. */
  written(count: number): void {
    Atomics.sub(this.#count, 0, count);
  }

  /** Worker side: undefined while the writer keeps up, else resolves once it caught up. */
  pressure(): Promise<void> | undefined {
    return this.inFlight < SOFT_LIMIT ? undefined : this.#caughtUp();
  }

  async #caughtUp(): Promise<void> {
    const giveUp = Date.now() + MAX_WAIT_MS;
    while (this.inFlight >= RESUME_BELOW && Date.now() < giveUp) {
      await new Promise((resolve) => setTimeout(resolve, POLL_MS));
    }
  }
}
