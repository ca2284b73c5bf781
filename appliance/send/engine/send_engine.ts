/**
 * qmail-send's main loop (qmail-formats.md §4) over one queue. It
 * preprocesses todo/ into info/local/remote, runs delivery passes over the
 * channels (each recipient becomes a job for the channel's delivery role,
 * whose report comes back), retries on qmail's schedule, and hands finished
 * messages to bounceAndFinish (§4.8). Everything in memory is rebuilt from
 * the queue at start, as qmail-send does (§4.9). Every state change goes
 * through transitions.ts; the scheduling decisions are appliance/send/'s.
 *
 * Tests drive the engine directly (injected clock, no timers); roles/send.ts
 * wires it to the Worker protocol (ipc.ts).
 *
 * The remote channel is scheduled like the local one; remote deliveries start
 * only with `remoteDelivery` (the supervisor sets it when the remote role
 * runs), else remote recipients stay queued as under qmail with
 * concurrencyremote 0.
 */
import { controlErrorMessages, loadAllControls } from "../../../config/control.ts";
import {
  readSendConcurrency,
  readSendControls,
  readSendLocals,
  type SendControls,
} from "../../../config/send.ts";
import type { DeliveryJob, DeliveryReport } from "../../ipc.ts";
import {
  logAlert,
  logDeliveryResult,
  logDeliveryStarted,
  logExiting,
  logMessageInfo,
  logNewMessage,
  logReportMangled,
  logStatus,
  logWarning,
} from "../../log.ts";
import { formatBounceParagraph } from "../bounce.ts";
import {
  CLEANUP_INTERVAL_SECONDS,
  MAX_SLEEP_SECONDS,
  SYSTEM_FAILURE_RETRY_SECONDS,
  TODO_RESCAN_SECONDS,
} from "../retry.ts";
import { buildRoutingTable, type RoutingTable } from "../routing.ts";
import {
  ChannelScheduler,
  DueQueue,
  type JobRelease,
  type OutstandingDelivery,
  type PassJob,
  settleReport,
} from "../scheduler.ts";
import { bounceAndFinish } from "../../queue/bounce_and_finish.ts";
import { recoverQueue } from "../../queue/cleanup.ts";
import { probeEntry } from "../../queue/entries.ts";
import { bytesToString } from "../../queue/envelope.ts";
import type { openQueueMessage } from "../../queue/inject.ts";
import { describeError } from "../../queue/error_text.ts";
import { type Channel, type QueueLayout, queueLayoutFor, queueName } from "../../queue/layout.ts";
import { preprocessMessages, type PreprocessResult } from "../../queue/preprocess.ts";
import {
  appendBounce,
  markDone,
  markDoneAt,
  openChannelFile,
  readMessageInfo,
  removeChannelFile,
  setChannelRetryTime,
} from "../../queue/transitions.ts";
import { fileExists, probeFile } from "../../durable_file.ts";
import { watchTrigger } from "../../queue/trigger.ts";

const CHANNELS: readonly Channel[] = ["local", "remote"];

/** The text of a delivery lost with a crashed local role. */
export const LOCAL_CRASHED = "qmail-local crashed.\n";

/** Work units done before yielding to the event loop (timers, incoming messages). */
const STEPS_PER_TURN = 64;

/**
 * Todo entries preprocessed together (their fsyncs run concurrently and each
 * directory is fsynced once per batch). qmail-send takes one per loop; the
 * result per message, its log lines and their order are the same.
 */
const TODO_BATCH = 64;

/** A start-up failure, worded as qmail-send's alert (without the `alert: ` prefix). */
export class SendStartError extends Error {
  readonly temporary = true;

  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "SendStartError";
  }
}

export interface SendEngineOptions {
  /** The qmd home (QMAILHOME). */
  home: string;
  /** The queue; default HOME/queue with its split detected. */
  layout?: QueueLayout;
  /** Posts one delivery to the channel's delivery role (the spawner command of §4.6). */
  deliver(job: DeliveryJob, channel: Channel): void;
  /** Unix seconds; default the system clock. */
  now?: () => number;
  /** Arm a timer for the next due work (default true). Tests turn it off and call settle(). */
  timers?: boolean;
  /** Watch lock/trigger for external queue writers (default true). */
  watchTrigger?: boolean;
  /** Start remote deliveries (default false, e.g. for tests without a remote role). */
  remoteDelivery?: boolean;
  /** The queue writer used for bounces (tests substitute a failing one). */
  open?: typeof openQueueMessage;
  /**
   * Recovery of S2/S3 and pid/ leftovers, run at start and every 76431 s
   * (§4.9); default queue/cleanup.ts's recoverQueue.
   */
  recover?: (layout: QueueLayout, now: number) => Promise<unknown>;
}

/** What the engine keeps for a job until its last reference is released. */
interface JobFiles {
  /** The channel file. */
  path: string;
  /** The pass's handle on it, for marking records done; see openChannelFile. */
  file: Deno.FsFile | undefined;
  /** The message number and its mess name as deliveries carry them. */
  id: string;
  mess: string;
}

/** The state of the loop, for tests and status pages. */
export interface SendStatus {
  local: { inUse: number; limit: number; queued: number };
  remote: { inUse: number; limit: number; queued: number };
  done: number;
  draining: boolean;
}

/** qmail-send's loop over one queue. Create, `start()`, then feed it messages. */
export class SendEngine {
  #home: string;
  #layout: QueueLayout;
  #deliver: SendEngineOptions["deliver"];
  #now: () => number;
  #timers: boolean;
  #watch: boolean;
  #remoteDelivery: boolean;
  #open: typeof openQueueMessage | undefined;
  #recover: NonNullable<SendEngineOptions["recover"]>;

  #controls!: SendControls;
  #routing!: RoutingTable;
  #lock: Deno.FsFile | undefined;
  #trigger: { close(): void } | undefined;
  #timer: ReturnType<typeof setTimeout> | undefined;
  /** When the armed timer fires: Unix seconds, or -Infinity for at once. */
  #timerWake = 0;
  #started = false;
  #closed = false;
  #draining = false;

  #channels: Record<Channel, ChannelScheduler> = {
    local: new ChannelScheduler("local", 0),
    remote: new ChannelScheduler("remote", 0),
  };
  /** Messages with no channel file left: bounce and remove (qmail's pqdone). */
  #done = new DueQueue();
  /** Messages whose stat failed at start: looked at again later (qmail's pqfail). */
  #failed = new DueQueue();
  #nextDelid = 1;
  /** Jobs with references left (a pass open or deliveries in flight). */
  #jobs = new Map<PassJob, JobFiles>();

  #todoRequested = false;
  #todoIds: bigint[] = [];
  #nextTodoScan = 0;
  #preprocessing: Promise<void> | undefined;
  #finishing: Promise<void> | undefined;
  #cleaning: Promise<void> | undefined;
  #nextCleanup = 0;
  #drainWaiters: (() => void)[] = [];

  constructor(options: SendEngineOptions) {
    this.#home = options.home;
    this.#layout = options.layout ?? queueLayoutFor(options.home);
    this.#deliver = options.deliver;
    this.#now = options.now ?? (() => Math.floor(Date.now() / 1000));
    this.#timers = options.timers ?? true;
    this.#watch = options.watchTrigger ?? true;
    this.#remoteDelivery = options.remoteDelivery ?? false;
    this.#open = options.open;
    this.#recover = options.recover ??
      ((layout, now) => recoverQueue(layout, new Date(now * 1000)));
  }

  get layout(): QueueLayout {
    return this.#layout;
  }

  get controls(): SendControls {
    return this.#controls;
  }

  /**
   * qmail-send's start-up (§4.1): read controls, take lock/sendmutex, run
   * the recovery, schedule what info/ holds (§4.9), then scan todo/.
   * Throws SendStartError with qmail's alert wording.
   */
  async start(): Promise<void> {
    try {
      this.#controls = readSendControls(this.#home);
    } catch (error) {
      throw new SendStartError(
        `cannot start: unable to read controls: ${(error as Error).message}`,
        { cause: error },
      );
    }
    this.#routing = buildRoutingTable(this.#controls.routing);
    this.#channels.local.slots.limit = this.#controls.concurrencyLocal;
    this.#channels.remote.slots.limit = this.#controls.concurrencyRemote;
    this.#lock = lockSendMutex(this.#layout.sendmutex);
    try {
      await this.#recover(this.#layout, this.#now());
      this.#nextCleanup = this.#now() + CLEANUP_INTERVAL_SECONDS;
      for (const id of this.#layout.listIds("info")) this.#addFromInfo(id);
    } catch (error) {
      this.close();
      throw new SendStartError(
        `cannot start: unable to scan the queue: ${(error as Error).message}`,
        {
          cause: error,
        },
      );
    }
    this.#todoRequested = true;
    this.#started = true;
    if (this.#watch) this.#trigger = watchTrigger(this.#layout, () => this.trigger());
    this.#logStatus();
    this.#pump();
  }

  /** A queue writer committed a message (the trigger FIFO, or smtpd's `queued`). */
  trigger(): void {
    this.#todoRequested = true;
    this.#pump();
  }

  /** SIGALRM (§4.7): every queued channel job becomes due now. */
  flush(): void {
    const now = this.#now();
    for (const channel of CHANNELS) this.#channels[channel].queue.makeAllDue(now);
    this.#pump();
  }

  /**
   * SIGHUP: re-reads locals and virtualdomains, as qmail does, and the
   * concurrency limits. A file that cannot be read keeps the old values;
   * returns each broken file's error for the caller to report.
   */
  reload(): string[] {
    if (!this.#started) return [];
    const errors: string[] = [];
    try {
      const routing = {
        ...this.#controls.routing,
        ...loadAllControls(() => readSendLocals(this.#home)),
      };
      this.#routing = buildRoutingTable(routing);
      this.#controls = { ...this.#controls, routing };
    } catch (error) {
      errors.push(...controlErrorMessages(error));
    }
    try {
      const concurrency = loadAllControls(() => readSendConcurrency(this.#home));
      this.#controls = { ...this.#controls, ...concurrency };
      this.#channels.local.slots.limit = concurrency.concurrencyLocal;
      this.#channels.remote.slots.limit = concurrency.concurrencyRemote;
    } catch (error) {
      errors.push(...controlErrorMessages(error));
    }
    this.#pump();
    return errors;
  }

  /** A spawner's report for one delivery (§4.6). */
  report(report: DeliveryReport, channel: Channel = "local"): void {
    const delivery = this.#channels[channel].takeDelivery(report.delivery);
    if (delivery === undefined) {
      logWarning("internal error: delivery report out of range", {
        delivery: report.delivery,
        channel,
      });
      return;
    }
    this.#finishDelivery(delivery, report.status, report.text);
    this.#pump();
  }

  /** The local role was restarted: its deliveries in flight count as deferred. */
  peerRestarted(role: string): void {
    const channel: Channel | undefined = role === "local"
      ? "local"
      : role === "remote"
      ? "remote"
      : undefined;
    if (channel === undefined) return;
    for (const lost of this.#channels[channel].deliveries()) {
      const delivery = this.#channels[channel].takeDelivery(lost.slot)!;
      this.#finishDelivery(
        delivery,
        "Z",
        channel === "local" ? LOCAL_CRASHED : "qmail-remote crashed.\n",
      );
    }
    this.#pump();
  }

  /**
   * SIGTERM (§4.7): starts nothing new, waits for the deliveries in flight,
   * writes every queued job's due time into its channel file's mtime and
   * atime, logs `status: exiting` and closes.
   */
  async drain(): Promise<void> {
    if (this.#closed) return;
    this.#draining = true;
    for (const channel of CHANNELS) this.#channels[channel].abandon(this.#now());
    for (const job of this.#jobs.keys()) if (job.refs <= 0) this.#closeJob(job);
    this.#logStatus();
    await new Promise<void>((resolve) => {
      this.#drainWaiters.push(resolve);
      this.#checkDrained();
    });
    if (this.#closed) return;
    for (const channel of CHANNELS) {
      for (const entry of this.#channels[channel].queue.drain()) {
        const path = this.#layout.channel(channel, entry.id);
        if (!setChannelRetryTime(path, entry.due)) {
          logWarning(
            `unable to utime ${queueName(this.#layout, path)}; message will be retried too soon`,
          );
        }
      }
    }
    logExiting();
    this.close();
  }

  /** Releases the lock, the trigger and the timer. The engine cannot be restarted. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#trigger?.close();
    this.#trigger = undefined;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    try {
      this.#lock?.unlockSync();
    } catch {
      // Closing releases the lock anyway.
    }
    this.#lock?.close();
    this.#lock = undefined;
    for (const job of this.#jobs.keys()) this.#closeJob(job);
    for (const resolve of this.#drainWaiters.splice(0)) resolve();
  }

  /** Runs all work that is due now, including bounce injection; for tests and shutdown. */
  async settle(): Promise<void> {
    for (let round = 0; round < 100000; round++) {
      this.#pump();
      if (this.#preprocessing || this.#finishing || this.#cleaning) {
        await this.#preprocessing;
        await this.#finishing;
        await this.#cleaning;
        continue;
      }
      if (!this.#hasImmediateWork()) return;
    }
    throw new Error("Send engine did not settle");
  }

  status(): SendStatus {
    const channel = (c: Channel) => ({
      inUse: this.#channels[c].slots.inUse,
      limit: this.#channels[c].slots.limit,
      queued: this.#channels[c].queue.size,
    });
    return {
      local: channel("local"),
      remote: channel("remote"),
      done: this.#done.size,
      draining: this.#draining,
    };
  }

  /** The queued jobs of a channel with their due times (for tests). */
  queued(channel: Channel): { id: bigint; due: number }[] {
    return this.#channels[channel].queue.entries().sort((a, b) =>
      a.due - b.due || (a.id < b.id ? -1 : 1)
    );
  }

  // --- the loop ---

  #channelEnabled(channel: Channel): boolean {
    return channel === "local" || this.#remoteDelivery;
  }

  /** Does due work in bounded steps, starts a bounce if one is due, arms the timer. */
  #pump(): void {
    if (!this.#started || this.#closed) return;
    let steps = 0;
    while (steps < STEPS_PER_TURN && this.#step()) steps++;
    this.#startFinishing();
    this.#startCleanup();
    this.#checkDrained();
    this.#arm(steps >= STEPS_PER_TURN);
  }

  /** One unit of work; false when nothing is due now. */
  #step(): boolean {
    const now = this.#now();
    if (!this.#draining) {
      for (const channel of CHANNELS) {
        if (this.#passStep(channel, now)) return true;
      }
      if (this.#todoStep(now)) return true;
    }
    const failed = this.#failed.takeDue(now);
    if (failed) {
      this.#addFromInfo(failed.id);
      return true;
    }
    return false;
  }

  #hasImmediateWork(): boolean {
    if (this.#closed) return false;
    const now = this.#now();
    if (!this.#draining) {
      if (this.#todoRequested || this.#todoIds.length > 0 || now >= this.#nextTodoScan) {
        return true;
      }
      for (const channel of CHANNELS) {
        const scheduler = this.#channels[channel];
        if (!this.#channelEnabled(channel) || !scheduler.slots.available) continue;
        const first = scheduler.queue.peek();
        if (scheduler.passOpen || (first && first.due <= now)) return true;
      }
    }
    const done = this.#done.peek();
    const failed = this.#failed.peek();
    return (done !== undefined && done.due <= now) || (failed !== undefined && failed.due <= now);
  }

  #arm(immediately: boolean): void {
    if (!this.#timers || this.#closed) return;
    const now = this.#now();
    let wake = now + MAX_SLEEP_SECONDS;
    if (!this.#draining) {
      // A batch in flight pumps when it is done.
      if (!this.#preprocessing) {
        wake = Math.min(wake, this.#todoRequested ? now : this.#nextTodoScan);
      }
      for (const channel of CHANNELS) {
        const scheduler = this.#channels[channel];
        if (!this.#channelEnabled(channel) || !scheduler.slots.available) continue;
        const first = scheduler.queue.peek();
        if (first) wake = Math.min(wake, first.due);
      }
    }
    if (!this.#finishing) {
      const done = this.#done.peek();
      if (done) wake = Math.min(wake, done.due);
    }
    const failed = this.#failed.peek();
    if (failed) wake = Math.min(wake, failed.due);
    if (!this.#cleaning && !this.#draining) wake = Math.min(wake, this.#nextCleanup);
    const at = immediately || wake <= now ? -Infinity : wake;
    // The timer already armed wakes the loop when this one would (pumping is idempotent).
    if (this.#timer !== undefined && this.#timerWake === at) return;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    // qmail adds one second of fuzz to every sleep (SLEEP_FUZZ) to avoid waking early.
    const delay = at === -Infinity ? 0 : (wake - now + 1) * 1000;
    this.#timerWake = at;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.#pump();
    }, delay);
  }

  // --- todo (§4.3) ---

  #todoStep(now: number): boolean {
    // A batch in flight still has its ids in todo/: no rescan until it is done.
    if (this.#preprocessing) return false;
    if (this.#todoIds.length === 0) {
      if (!this.#todoRequested && now < this.#nextTodoScan) return false;
      this.#todoRequested = false;
      this.#nextTodoScan = now + TODO_RESCAN_SECONDS;
      try {
        this.#todoIds = this.#layout.listIds("todo");
      } catch (error) {
        logWarning(`unable to scan todo: ${(error as Error).message}`);
        return false;
      }
      if (this.#todoIds.length === 0) return false;
    }
    const ids = this.#todoIds.splice(0, TODO_BATCH);
    this.#preprocessing = preprocessMessages(this.#layout, ids, this.#routing, now).then(
      (results) => results.forEach((result, index) => this.#preprocessed(ids[index], result, now)),
      (error) => logWarning(`trouble preprocessing todo: ${describeError(error)}`),
    ).finally(() => {
      this.#preprocessing = undefined;
      this.#pump();
    });
    return true;
  }

  /** Logs a preprocessed message as qmail-send does and queues its channel jobs. */
  #preprocessed(id: bigint, result: PreprocessResult, now: number): void {
    if (result.ok || result.infoCreated) {
      logNewMessage(id);
      if (result.sender !== undefined) {
        logMessageInfo(
          id,
          result.bytes ?? 0,
          bytesToString(result.sender),
          result.qp ?? "0",
          result.uid ?? "0",
        );
      }
    }
    if (!result.ok) {
      logWarning(result.warning, { msg: Number(id) });
      return;
    }
    if (result.local) this.#channels.local.queue.insert(id, now);
    if (result.remote) this.#channels.remote.queue.insert(id, now);
    if (!result.local && !result.remote) this.#done.insert(id, now);
  }

  // --- scheduling from info/ (§4.9, qmail's pqadd) ---

  #addFromInfo(id: bigint): void {
    const layout = this.#layout;
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
        this.#channels[channel].queue.insert(id, due[channel]);
        any = true;
      }
      if (!any) this.#done.insert(id, this.#now());
    } catch {
      logWarning(`unable to stat ${queueName(layout, path)}; will try again later`);
      this.#failed.insert(id, this.#now() + SYSTEM_FAILURE_RETRY_SECONDS);
    }
  }

  // --- delivery passes (§4.6) ---

  /** Opens a pass or takes one step of it; false when the channel has nothing to do now. */
  #passStep(channel: Channel, now: number): boolean {
    if (!this.#channelEnabled(channel)) return false;
    const scheduler = this.#channels[channel];
    if (!scheduler.passOpen) {
      const id = scheduler.takeDue(now);
      if (id === undefined) return false;
      this.#openPass(channel, id, now);
      return true;
    }
    const step = scheduler.step(() => this.#nextDelid++, now);
    if (step === undefined) return false;
    if (step.kind === "deliver") {
      this.#startDelivery(step.delivery, step.sender);
      return true;
    }
    if (step.corrupt) {
      const path = this.#layout.channel(channel, step.job.id);
      logWarning(`unknown record type in ${queueName(this.#layout, path)}!`);
    }
    this.#afterRelease(step.job, step.release);
    return true;
  }

  #openPass(channel: Channel, id: bigint, now: number): void {
    const info = readMessageInfo(this.#layout, id);
    let file: Deno.FsFile | undefined;
    try {
      if (info === undefined) throw new Error("no info");
      const pass = openChannelFile(this.#layout, channel, id);
      file = pass.file;
      const records = pass.records.map((record) => ({
        offset: record.offset,
        done: record.done,
        address: bytesToString(record.address),
      }));
      const job = this.#channels[channel].openPass(
        id,
        { sender: bytesToString(info.sender), birth: info.birth },
        records,
        pass.corrupt,
        now,
        this.#controls.queueLifetime,
      );
      this.#jobs.set(job, {
        path: this.#layout.channel(channel, id),
        file,
        id: String(id),
        mess: this.#layout.messName(id),
      });
    } catch {
      file?.close();
      const path = this.#layout.channel(channel, id);
      logWarning(`trouble opening ${queueName(this.#layout, path)}; will try again later`);
      this.#channels[channel].queue.insert(id, now + SYSTEM_FAILURE_RETRY_SECONDS);
    }
  }

  #startDelivery(delivery: OutstandingDelivery, sender: string): void {
    const { job, recipient } = delivery;
    const files = this.#jobFiles(job);
    this.#deliver({
      delivery: delivery.slot,
      id: files.id,
      mess: files.mess,
      sender,
      recipient,
    }, job.channel);
    logDeliveryStarted(delivery.delid, job.id, job.channel, recipient);
    this.#logStatus();
  }

  /** Handles one report (§4.6): log it, mark the record done or bounce it, release the job. */
  #finishDelivery(delivery: OutstandingDelivery, status: string, reportText: string): void {
    const { job, delid } = delivery;
    const files = this.#jobFiles(job);
    const { outcome, text } = settleReport(status, reportText, job.dying);
    const target = { id: job.id, channel: job.channel, recipient: delivery.recipient };
    if (outcome === "mangled") logReportMangled(delid, target);
    else logDeliveryResult(delid, outcome, text, target);
    if (outcome === "success") {
      this.#markDone(files, delivery.offset);
      job.open--;
    } else if (outcome === "failure") {
      const paragraph = formatBounceParagraph(delivery.recipient, text, this.#routing);
      try {
        appendBounce(this.#layout, job.id, paragraph);
        this.#markDone(files, delivery.offset);
        job.open--;
      } catch (error) {
        // qmail sleeps and retries for ever; qmd leaves the recipient undone so that a
        // later pass delivers or bounces it again.
        logAlert("unable to append to bounce message; will try again later", {
          msg: Number(job.id),
          reason: describeError(error),
        });
      }
    }
    const release = this.#channels[job.channel].release(job, this.#now());
    this.#afterRelease(job, release);
    this.#logStatus();
  }

  #markDone(files: JobFiles, offset: number): void {
    const marked = files.file === undefined
      ? markDone(files.path, offset)
      : markDoneAt(files.file, offset);
    if (!marked) {
      logWarning(
        `trouble marking ${queueName(this.#layout, files.path)}; message will be delivered twice!`,
      );
    }
  }

  /** The files of a job (a job is registered when its pass opens). */
  #jobFiles(job: PassJob): JobFiles {
    let files = this.#jobs.get(job);
    if (files === undefined) {
      files = {
        path: this.#layout.channel(job.channel, job.id),
        file: undefined,
        id: String(job.id),
        mess: this.#layout.messName(job.id),
      };
      this.#jobs.set(job, files);
    }
    return files;
  }

  /** A job's last reference is gone: close its channel file handle. */
  #closeJob(job: PassJob): void {
    const files = this.#jobs.get(job);
    if (files === undefined) return;
    this.#jobs.delete(job);
    try {
      files.file?.close();
    } catch {
      // Already closed.
    }
  }

  /**
   * The I/O half of qmail's job_close: a job whose records are all done has
   * its channel file unlinked, and the message is finished once no channel
   * file is left.
   */
  #afterRelease(job: PassJob, release: JobRelease): void {
    if (release.kind === "pending") return;
    this.#closeJob(job);
    if (release.kind !== "complete") return;
    const { channel, id } = job;
    const now = this.#now();
    try {
      removeChannelFile(this.#layout, channel, id);
    } catch (error) {
      logWarning(
        `unable to unlink ${
          queueName(this.#layout, this.#layout.channel(channel, id))
        }; will try again later: ${(error as Error).message}`,
      );
      this.#channels[channel].queue.insert(id, now + SYSTEM_FAILURE_RETRY_SECONDS);
      return;
    }
    for (const other of CHANNELS) {
      if (other === channel) continue;
      const path = this.#layout.channel(other, id);
      try {
        // Normally absent: probed without an exception.
        if (probeFile(path)) return;
      } catch {
        logWarning(`unable to stat ${queueName(this.#layout, path)}`);
      }
    }
    this.#done.insert(id, now);
  }

  // --- finishing messages (§4.8 messdone) ---

  #startFinishing(): void {
    if (this.#finishing || this.#closed) return;
    const entry = this.#done.takeDue(this.#now());
    if (entry === undefined) return;
    this.#finishing = this.#finish(entry.id).finally(() => {
      this.#finishing = undefined;
      this.#pump();
    });
  }

  async #finish(id: bigint): Promise<void> {
    const outcome = await bounceAndFinish(this.#layout, id, {
      settings: this.#controls.bounce,
      date: new Date(this.#now() * 1000),
      open: this.#open,
    });
    // The queue writer pulled the trigger; a watcher-less engine needs the nudge itself.
    if (outcome.bounced) this.#todoRequested = true;
    if (outcome.retry) this.#done.insert(id, this.#now() + SYSTEM_FAILURE_RETRY_SECONDS);
  }

  /** qmail-send's cleanup scanner (§4.9): S2/S3 leftovers older than 36 h, every 76431 s. */
  #startCleanup(): void {
    if (this.#cleaning || this.#draining || this.#closed) return;
    const now = this.#now();
    if (now < this.#nextCleanup) return;
    this.#nextCleanup = now + CLEANUP_INTERVAL_SECONDS;
    this.#cleaning = this.#recover(this.#layout, now).then(
      () => {},
      (error) => logWarning(`trouble cleaning up the queue: ${(error as Error).message}`),
    ).finally(() => {
      this.#cleaning = undefined;
      this.#pump();
    });
  }

  // --- status and drain ---

  #logStatus(): void {
    logStatus(
      this.#channels.local.slots.inUse,
      this.#channels.local.slots.limit,
      this.#channels.remote.slots.inUse,
      this.#channels.remote.slots.limit,
      this.#draining,
    );
  }

  #checkDrained(): void {
    if (!this.#draining || this.#drainWaiters.length === 0) return;
    if (CHANNELS.some((channel) => this.#channels[channel].deliveries().length > 0)) return;
    if (this.#preprocessing || this.#finishing || this.#cleaning) return;
    for (const resolve of this.#drainWaiters.splice(0)) resolve();
  }
}

/** Takes lock/sendmutex (§4.1 step 3): a non-blocking exclusive flock. */
function lockSendMutex(path: string): Deno.FsFile {
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
  return file;
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
