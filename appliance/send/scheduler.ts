/**
 * qmail-send's scheduling (docs/queue-format.md §4.6, §4.7): the per-channel
 * priority queues of (due time, message) — qmail's prioq, a binary
 * min-heap — the delivery slots of a channel (qmail's delnum, 0 …
 * concurrency-1), and the passes, jobs and deliveries of a channel. Pure:
 * times and file contents are passed in; the send role does the I/O.
 */
import { expandVerp } from "./verp.ts";
import { CHANSKIP, isDying, nextRetry, TOO_LONG_IN_QUEUE } from "./retry.ts";
import type { Channel } from "./routing.ts";

export interface DueEntry {
  /** Message number. */
  id: bigint;
  /** Unix seconds when the entry may be acted on. */
  due: number;
}

/** A min-heap of (due, id); order among equal due times is unspecified, as in qmail. */
export class DueQueue {
  #heap: DueEntry[] = [];

  get size(): number {
    return this.#heap.length;
  }

  /** Adds an entry. The same id may be present more than once (qmail does not dedupe). */
  insert(id: bigint, due: number): void {
    const heap = this.#heap;
    heap.push({ id, due });
    let i = heap.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (heap[parent].due <= heap[i].due) break;
      [heap[parent], heap[i]] = [heap[i], heap[parent]];
      i = parent;
    }
  }

  /** The earliest entry, without removing it. */
  peek(): DueEntry | undefined {
    return this.#heap[0];
  }

  /** Removes and returns the earliest entry when it is due at `now`. */
  takeDue(now: number): DueEntry | undefined {
    const first = this.#heap[0];
    if (first === undefined || first.due > now) return undefined;
    return this.#removeFirst();
  }

  /** Whether an entry for `id` is queued. */
  has(id: bigint): boolean {
    return this.#heap.some((entry) => entry.id === id);
  }

  /** Removes every entry for `id` and returns them (an operator took the message out). */
  remove(id: bigint): DueEntry[] {
    const removed = this.#heap.filter((entry) => entry.id === id);
    if (removed.length === 0) return removed;
    const kept = this.#heap.filter((entry) => entry.id !== id);
    this.#heap = [];
    for (const entry of kept) this.insert(entry.id, entry.due);
    return removed;
  }

  /** Every entry for `id` becomes due at `now` (an operator's retry); false when there is none. */
  makeDue(id: bigint, now: number): boolean {
    const removed = this.remove(id);
    for (const entry of removed) this.insert(id, Math.min(entry.due, now));
    return removed.length > 0;
  }

  /** SIGALRM (§4.7): every queued entry becomes due at `now`. */
  makeAllDue(now: number): void {
    for (const entry of this.#heap) if (entry.due > now) entry.due = now;
  }

  /** Removes and returns every entry, earliest first (qmail's pqfinish at exit). */
  drain(): DueEntry[] {
    const entries: DueEntry[] = [];
    while (this.#heap.length > 0) entries.push(this.#removeFirst());
    return entries;
  }

  /** A snapshot of the entries, in no particular order. */
  entries(): DueEntry[] {
    return this.#heap.map((entry) => ({ ...entry }));
  }

  #removeFirst(): DueEntry {
    const heap = this.#heap;
    const first = heap[0];
    const last = heap.pop()!;
    if (heap.length > 0) {
      heap[0] = last;
      let i = 0;
      for (;;) {
        const left = 2 * i + 1;
        const right = left + 1;
        let smallest = i;
        if (left < heap.length && heap[left].due < heap[smallest].due) smallest = left;
        if (right < heap.length && heap[right].due < heap[smallest].due) smallest = right;
        if (smallest === i) break;
        [heap[smallest], heap[i]] = [heap[i], heap[smallest]];
        i = smallest;
      }
    }
    return first;
  }
}

/**
 * The delivery slots of one channel: numbers 0 … limit-1, lowest free first,
 * as qmail-send's del_start picks them. Lowering the limit (a reload) lets
 * outstanding slots above it finish; no new ones are handed out until the
 * number in use drops below the limit.
 */
export class SlotPool {
  #limit: number;
  #used = new Set<number>();

  constructor(limit: number) {
    this.#limit = limit;
  }

  get limit(): number {
    return this.#limit;
  }

  set limit(value: number) {
    this.#limit = value;
  }

  /** Slots in use. */
  get inUse(): number {
    return this.#used.size;
  }

  /** Whether a new delivery may start. */
  get available(): boolean {
    return this.#used.size < this.#limit;
  }

  /** Takes the lowest free slot number, or undefined when none is available. */
  acquire(): number | undefined {
    if (!this.available) return undefined;
    for (let slot = 0;; slot++) {
      if (!this.#used.has(slot)) {
        this.#used.add(slot);
        return slot;
      }
    }
  }

  /** Frees a slot; false when it was not in use. */
  release(slot: number): boolean {
    return this.#used.delete(slot);
  }

  isUsed(slot: number): boolean {
    return this.#used.has(slot);
  }

  /** The slots in use, ascending. */
  used(): number[] {
    return [...this.#used].sort((a, b) => a - b);
  }
}

/** qmail-send's `job`: one pass over one message's channel file, plus its deliveries. */
export interface PassJob {
  readonly id: bigint;
  readonly channel: Channel;
  /** The info sender (byte string), before VERP expansion. */
  readonly sender: string;
  /** When the records left undone are due again (§4.7). */
  readonly retry: number;
  /** Past queuelifetime: a temporary failure becomes permanent (§4.6). */
  readonly dying: boolean;
  /** Deliveries started and not yet done (qmail's numtodo). */
  open: number;
  /** The pass itself plus outstanding deliveries (qmail's refs). */
  refs: number;
  /** The pass read the whole file (qmail's flaghiteof). */
  hitEof: boolean;
  /** The pass was cut short by a drain: its unread records are due at once. */
  abandoned: boolean;
}

/** A delivery in flight (qmail's `del` slot). */
export interface OutstandingDelivery {
  readonly job: PassJob;
  /** Slot number, the delivery number the spawner sees. */
  readonly slot: number;
  /** The DELID of the log lines. */
  readonly delid: number;
  /** Offset of the record, where `D` marks it done. */
  readonly offset: number;
  /** The channel-file address (byte string). */
  readonly recipient: string;
}

/** A channel-file record as a pass reads it; addresses are byte strings. */
export interface PassRecord {
  offset: number;
  done: boolean;
  address: string;
}

/** What releasing a job's last reference means (qmail's job_close). */
export type JobRelease =
  /** References remain: nothing to do yet. */
  | { kind: "pending" }
  /** Records remain undone: the message was queued again at `due`. */
  | { kind: "rescheduled"; due: number }
  /** Every record is done: unlink the channel file (and maybe finish the message). */
  | { kind: "complete" };

export type PassStep =
  /** Start this delivery: post the spawner command with `sender` (VERP expanded). */
  | { kind: "deliver"; delivery: OutstandingDelivery; sender: string }
  /** The pass is over; `corrupt` when it stopped at an unknown record. */
  | { kind: "end"; job: PassJob; corrupt: boolean; release: JobRelease };

/**
 * One channel of qmail-send (§4.6): its queue of (due, message), its
 * delivery slots, the one pass that may be open, and the deliveries in
 * flight. Pure: the role reads the files and performs the effects.
 */
export class ChannelScheduler {
  readonly channel: Channel;
  readonly queue = new DueQueue();
  readonly slots: SlotPool;
  #pass: { job: PassJob; records: PassRecord[]; next: number; corrupt: boolean } | undefined;
  #deliveries = new Map<number, OutstandingDelivery>();

  constructor(channel: Channel, limit: number) {
    this.channel = channel;
    this.slots = new SlotPool(limit);
  }

  get passOpen(): boolean {
    return this.#pass !== undefined;
  }

  /** The message whose pass is open, if one is. */
  get passMessage(): bigint | undefined {
    return this.#pass?.job.id;
  }

  /** Deliveries in flight. */
  deliveries(): OutstandingDelivery[] {
    return [...this.#deliveries.values()];
  }

  /** The earliest due message, when a slot is free and no pass is open (it leaves the queue). */
  takeDue(now: number): bigint | undefined {
    if (this.#pass || !this.slots.available) return undefined;
    return this.queue.takeDue(now)?.id;
  }

  /**
   * Opens a pass over a message born at `birth` (info mtime) and sent by
   * `sender`: computes its retry time (§4.7) and whether it is dying.
   * Returns the pass's job.
   */
  openPass(
    id: bigint,
    info: { sender: string; birth: number },
    records: PassRecord[],
    corrupt: boolean,
    now: number,
    lifetime: number,
  ): PassJob {
    const job: PassJob = {
      id,
      channel: this.channel,
      sender: info.sender,
      retry: nextRetry(info.birth, now, CHANSKIP[this.channel]),
      dying: isDying(info.birth, now, lifetime),
      open: 0,
      refs: 1,
      hitEof: false,
      abandoned: false,
    };
    this.#pass = { job, records: records.filter((record) => !record.done), next: 0, corrupt };
    return job;
  }

  /**
   * The next step of the open pass: one delivery when a slot is free, or
   * the end of the pass once every record has been started. `delid`
   * allocates the log's delivery number.
   */
  step(delid: () => number, now: number): PassStep | undefined {
    const pass = this.#pass;
    if (pass === undefined) return undefined;
    if (pass.next < pass.records.length) {
      const slot = this.slots.acquire();
      if (slot === undefined) return undefined;
      const record = pass.records[pass.next++];
      const delivery: OutstandingDelivery = {
        job: pass.job,
        slot,
        delid: delid(),
        offset: record.offset,
        recipient: record.address,
      };
      pass.job.refs++;
      pass.job.open++;
      this.#deliveries.set(slot, delivery);
      return { kind: "deliver", delivery, sender: expandVerp(pass.job.sender, record.address) };
    }
    this.#pass = undefined;
    if (!pass.corrupt) pass.job.hitEof = true;
    return {
      kind: "end",
      job: pass.job,
      corrupt: pass.corrupt,
      release: this.release(pass.job, now),
    };
  }

  /** Removes the delivery in `slot` from flight; undefined when none is there. */
  takeDelivery(slot: number): OutstandingDelivery | undefined {
    const delivery = this.#deliveries.get(slot);
    if (delivery === undefined) return undefined;
    this.#deliveries.delete(slot);
    this.slots.release(slot);
    return delivery;
  }

  /**
   * Drops one reference to a job (qmail's job_close). At the last one the
   * job is queued again at its retry time (now, if its pass was abandoned)
   * unless every record it started is done and its file was read to the end.
   */
  release(job: PassJob, now: number): JobRelease {
    if (--job.refs > 0) return { kind: "pending" };
    if (job.hitEof && job.open === 0) return { kind: "complete" };
    const due = job.abandoned ? now : job.retry;
    this.queue.insert(job.id, due);
    return { kind: "rescheduled", due };
  }

  /** Closes the open pass early (drain); its unread records become due at `now`. */
  abandon(now: number): JobRelease | undefined {
    const pass = this.#pass;
    if (pass === undefined) return undefined;
    this.#pass = undefined;
    pass.job.abandoned = true;
    return this.release(pass.job, now);
  }
}

export type ReportOutcome = "success" | "deferral" | "failure" | "mangled";

/**
 * How qmail-send takes a spawner's report (§4.6): K success, Z deferral, D
 * failure, anything else mangled (a deferral). A Z for a dying message
 * becomes a D with TOO_LONG_IN_QUEUE appended; the text is cut to the
 * 10000 bytes qmail keeps.
 */
export function settleReport(
  status: string,
  reportText: string,
  dying: boolean,
): { outcome: ReportOutcome; text: string } {
  const text = reportText.length > MAX_REPORT_TEXT
    ? reportText.slice(0, MAX_REPORT_TEXT)
    : reportText;
  switch (status) {
    case "K":
      return { outcome: "success", text };
    case "Z":
      return dying
        ? { outcome: "failure", text: text + TOO_LONG_IN_QUEUE }
        : { outcome: "deferral", text };
    case "D":
      return { outcome: "failure", text };
    default:
      return { outcome: "mangled", text };
  }
}

/** qmail-send keeps 10000 bytes of a report, delivery number and status included. */
const MAX_REPORT_TEXT = 10000 - 2;
