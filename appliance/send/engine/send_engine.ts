/**
 * qmail-send's main loop (docs/queue-format.md §4) over one queue. It takes the
 * sendmutex and the controls at start, reschedules what the queue holds
 * (§4.9), then steps its parts whenever work is due and sleeps until the
 * next due time: the todo scan (todo_intake.ts, §4.3), the delivery passes
 * of both channels (delivery_passes.ts, §4.6), the done queue that bounces
 * and removes finished messages (message_finisher.ts, §4.8) and the
 * periodic cleanup (cleanup_schedule.ts, §4.9). Everything in memory is
 * rebuilt from the queue at start, as qmail-send does; every state change
 * goes through queue/, and the scheduling decisions are appliance/send/'s.
 *
 * Tests drive the engine directly (injected clock, no timers); roles/send.ts
 * wires it to the Worker protocol (ipc.ts).
 *
 * The remote channel is scheduled like the local one; remote deliveries start
 * only with `remoteDelivery` (the supervisor sets it when the remote role
 * runs), else remote recipients stay queued as under qmail with
 * concurrencyremote 0.
 */
import type { SendControls } from "../../../config/send.ts";
import type { DeliveryJob, DeliveryReport } from "../../ipc.ts";
import { logExiting } from "../../log.ts";
import { recoverQueue } from "../../queue/cleanup.ts";
import type { openQueueMessage } from "../../queue/qmail_queue.ts";
import { type Channel, type QueueLayout, queueLayoutFor } from "../../queue/layout.ts";
import { triggeredDirectories, watchTrigger } from "../../queue/trigger.ts";
import { MAX_SLEEP_SECONDS } from "../retry.ts";
import { CHANNELS, type Channels, newChannels } from "./channels.ts";
import { CleanupSchedule, type RecoverQueue } from "./cleanup_schedule.ts";
import { DeliveryPasses } from "./delivery_passes.ts";
import { MessageFinisher } from "./message_finisher.ts";
import { SavedSchedule } from "./saved_schedule.ts";
import { SendMutex } from "./send_mutex.ts";
import { SendSettings } from "./send_settings.ts";
import { listQueued, logSendStatus, readSendStatus, type SendStatus } from "./send_status.ts";
import { SendStartError } from "./start_error.ts";
import { TodoIntake } from "./todo_intake.ts";
import { HeldMessages } from "./held_messages.ts";
import { engineQueueWriter } from "./engine_writer.ts";
import { type QueueWriter, runQueueRequest } from "./queue_actions.ts";
import type { QueueReply, QueueRequest } from "../../queue/control_request.ts";

/** Work units done before yielding to the event loop (timers, incoming messages). */
const STEPS_PER_TURN = 64;

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
  recover?: RecoverQueue;
}

/** qmail-send's loop over one queue. Create, `start()`, then feed it messages. */
export class SendEngine {
  #layout: QueueLayout;
  #now: () => number;
  #timers: boolean;
  #watch: boolean;

  #settings: SendSettings;
  #channels: Channels = newChannels();
  #todo: TodoIntake;
  #passes: DeliveryPasses;
  #finisher: MessageFinisher;
  #saved: SavedSchedule;
  #cleanup: CleanupSchedule;
  #held = new HeldMessages();
  #writer: QueueWriter;

  #mutex: SendMutex | undefined;
  #trigger: { close(): void } | undefined;
  #timer: ReturnType<typeof setTimeout> | undefined;
  /** When the armed timer fires: Unix seconds, or -Infinity for at once. */
  #timerWake = 0;
  #started = false;
  #closed = false;
  #draining = false;
  #drainWaiters: (() => void)[] = [];

  constructor(options: SendEngineOptions) {
    const layout = options.layout ?? queueLayoutFor(options.home);
    const now = options.now ?? (() => Math.floor(Date.now() / 1000));
    const pump = () => this.#pump();
    this.#layout = layout;
    this.#now = now;
    this.#timers = options.timers ?? true;
    this.#watch = options.watchTrigger ?? true;
    this.#settings = new SendSettings(options.home);
    const channels = this.#channels;
    this.#finisher = new MessageFinisher({
      layout,
      now,
      open: options.open,
      bounced: () => this.#todo.request(),
      settled: pump,
    });
    const finished = (id: bigint, due: number) => this.#finisher.add(id, due);
    this.#todo = new TodoIntake({
      layout,
      queued: (id, queued, at, passes) => {
        if (passes !== undefined) this.#passes.prepared(id, passes);
        if (queued.local) channels.local.queue.insert(id, at);
        if (queued.remote) channels.remote.queue.insert(id, at);
        if (!queued.local && !queued.remote) finished(id, at);
      },
      settled: pump,
    });
    this.#passes = new DeliveryPasses({
      layout,
      channels,
      settings: this.#settings,
      held: this.#held,
      deliver: options.deliver,
      remoteDelivery: options.remoteDelivery ?? false,
      now,
      finished,
      changed: () => this.#logStatus(),
      settled: pump,
    });
    this.#saved = new SavedSchedule({ layout, channels, now, finished });
    this.#writer = engineQueueWriter({
      channels,
      held: this.#held,
      routing: () => this.#settings.routing,
      now,
      finishing: () => this.#finisher.finishingId,
      finished,
      forgotten: (id) => this.#passes.forget(id),
      pump,
    });
    this.#cleanup = new CleanupSchedule(
      layout,
      options.recover ?? ((layout, now) => recoverQueue(layout, new Date(now * 1000))),
      pump,
    );
  }

  get layout(): QueueLayout {
    return this.#layout;
  }

  get controls(): SendControls {
    return this.#settings.controls;
  }

  /**
   * qmail-send's start-up (§4.1): read controls, take lock/sendmutex, run
   * the recovery, schedule what info/ holds (§4.9), then scan todo/.
   * Throws SendStartError with qmail's alert wording.
   */
  async start(): Promise<void> {
    this.#settings.load();
    this.#applyLimits();
    this.#mutex = SendMutex.take(this.#layout.sendmutex);
    try {
      await this.#cleanup.runAtStart(this.#now);
      this.#held.load(this.#layout);
      for (const id of this.#layout.listIds("info")) this.#saved.restore(id);
    } catch (error) {
      this.close();
      throw new SendStartError(
        `cannot start: unable to scan the queue: ${(error as Error).message}`,
        { cause: error },
      );
    }
    this.#todo.request();
    this.#started = true;
    if (this.#watch) {
      this.#trigger = watchTrigger(
        this.#layout,
        (bytes) => this.trigger(triggeredDirectories(this.#layout, bytes)),
      );
    }
    this.#logStatus();
    this.#pump();
  }

  /**
   * A queue writer committed a message and pulled the trigger FIFO: list the
   * todo directories its byte named, or all of todo/.
   */
  trigger(directories?: readonly string[]): void {
    this.#todo.request(directories);
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
    const errors = this.#settings.reload();
    this.#applyLimits();
    this.#pump();
    return errors;
  }

  /**
   * An operator's request (`qmd queue`, qmail-remove), carried out here so
   * that the send role stays the one writer of every queue transition.
   */
  async control(request: QueueRequest): Promise<QueueReply> {
    if (!this.#started || this.#closed || this.#draining) {
      return { now: this.#now(), by: "send role", error: "the send role is not running" };
    }
    return await runQueueRequest(this.#layout, request, this.#writer);
  }

  /** A spawner's report for one delivery (§4.6). */
  report(report: DeliveryReport, channel: Channel = "local"): void {
    this.#passes.report(report, channel);
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
    this.#passes.lost(channel);
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
    this.#passes.abandon(this.#now());
    this.#logStatus();
    await new Promise<void>((resolve) => {
      this.#drainWaiters.push(resolve);
      this.#checkDrained();
    });
    if (this.#closed) return;
    for (const { id, channel } of this.#held.takeParked()) {
      this.#channels[channel].queue.insert(id, this.#now());
    }
    this.#saved.save();
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
    this.#mutex?.release();
    this.#mutex = undefined;
    this.#passes.close();
    for (const resolve of this.#drainWaiters.splice(0)) resolve();
  }

  /** Runs all work that is due now, including bounce injection; for tests and shutdown. */
  async settle(): Promise<void> {
    for (let round = 0; round < 100000; round++) {
      this.#pump();
      if (this.#todo.busy || this.#finisher.busy || this.#cleanup.busy || this.#passes.busy) {
        await this.#todo.busy;
        await this.#finisher.busy;
        await this.#cleanup.busy;
        await this.#passes.busy;
        continue;
      }
      if (!this.#hasImmediateWork()) return;
    }
    throw new Error("Send engine did not settle");
  }

  status(): SendStatus {
    return readSendStatus(this.#channels, this.#finisher.size, this.#draining);
  }

  /** The queued jobs of a channel with their due times (for tests). */
  queued(channel: Channel): { id: bigint; due: number }[] {
    return listQueued(this.#channels, channel);
  }

  // --- the loop ---

  #applyLimits(): void {
    this.#channels.local.slots.limit = this.#settings.controls.concurrencyLocal;
    this.#channels.remote.slots.limit = this.#settings.controls.concurrencyRemote;
  }

  /** Does due work in bounded steps, starts a bounce if one is due, arms the timer. */
  #pump(): void {
    if (!this.#started || this.#closed) return;
    let steps = 0;
    while (steps < STEPS_PER_TURN && this.#step()) steps++;
    this.#finisher.start(this.#settings.controls.bounce);
    if (!this.#draining) this.#cleanup.startIfDue(this.#now());
    this.#checkDrained();
    this.#arm(steps >= STEPS_PER_TURN);
  }

  /** One unit of work; false when nothing is due now. */
  #step(): boolean {
    const now = this.#now();
    if (!this.#draining) {
      for (const channel of CHANNELS) {
        if (this.#passes.step(channel, now)) return true;
      }
      if (this.#todo.step(now, this.#settings.routing)) return true;
    }
    return this.#saved.retryDue(now);
  }

  #hasImmediateWork(): boolean {
    if (this.#closed) return false;
    const now = this.#now();
    if (!this.#draining) {
      if (this.#todo.hasWork(now)) return true;
      if (CHANNELS.some((channel) => this.#passes.hasWork(channel, now))) return true;
    }
    return this.#finisher.hasDue(now) || this.#saved.hasDue(now);
  }

  #arm(immediately: boolean): void {
    if (!this.#timers || this.#closed) return;
    const now = this.#now();
    let wake = now + MAX_SLEEP_SECONDS;
    const consider = (due: number | undefined) => {
      if (due !== undefined && due < wake) wake = due;
    };
    if (!this.#draining) {
      consider(this.#todo.wakeAt(now));
      for (const channel of CHANNELS) consider(this.#passes.wakeAt(channel));
      consider(this.#cleanup.wakeAt());
    }
    consider(this.#finisher.wakeAt());
    consider(this.#saved.wakeAt());
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

  #logStatus(): void {
    logSendStatus(this.#channels, this.#draining);
  }

  /** Resolves drain()'s wait once nothing is in flight. */
  #checkDrained(): void {
    if (!this.#draining || this.#drainWaiters.length === 0) return;
    if (this.#passes.inFlight || this.#passes.busy) return;
    if (this.#todo.busy || this.#finisher.busy || this.#cleanup.busy) return;
    for (const resolve of this.#drainWaiters.splice(0)) resolve();
  }
}
