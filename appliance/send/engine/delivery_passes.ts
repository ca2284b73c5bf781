/**
 * qmail-send's delivery passes (docs/queue-format.md §4.6): a due message's
 * channel file is opened, each undone recipient becomes a job for the
 * channel's delivery role, and each report is logged, marked done or
 * bounced, and releases the job; a job whose records are all done has its
 * channel file removed. The decisions are scheduler.ts's; this class does
 * the I/O they call for.
 */
import type { DeliveryJob, DeliveryReport } from "../../ipc.ts";
import {
  logAlert,
  logDeliveryResult,
  logDeliveryStarted,
  logReportMangled,
  logWarning,
} from "../../log.ts";
import { bytesToString } from "../../bytes.ts";
import { describeError } from "../../queue/error_text.ts";
import { type Channel, type QueueLayout, queueName } from "../../queue/layout.ts";
import {
  appendBounce,
  type MessageInfo,
  openChannelFile,
  type OpenChannelPass,
  readMessageInfo,
  removeChannelFileAsync,
} from "../../queue/transitions.ts";
import type { PreprocessedPasses } from "../../queue/preprocess.ts";
import { probeFile } from "../../durable_file.ts";
import { recordDeferral } from "../../queue/deferrals.ts";
import { formatBounceParagraph } from "../bounce.ts";
import { SYSTEM_FAILURE_RETRY_SECONDS } from "../retry.ts";
import {
  type JobRelease,
  type OutstandingDelivery,
  type PassJob,
  settleReport,
} from "../scheduler.ts";
import { CHANNELS, type Channels } from "./channels.ts";
import type { HeldMessages } from "./held_messages.ts";
import { JobFiles } from "./job_files.ts";
import type { SendSettings } from "./send_settings.ts";

/** The text of a delivery lost with a crashed local role. */
export const LOCAL_CRASHED = "qmail-local crashed.\n";

/** The text of a delivery lost with a crashed remote role. */
const REMOTE_CRASHED = "qmail-remote crashed.\n";

/**
 * Prepared first passes kept per channel (each holds its channel file open);
 * a message preprocessed beyond this reads its files at its first pass.
 */
export const PREPARED_PASSES = 128;

/** A first pass as preprocessing wrote it: info's fields and the open channel file. */
type PreparedPass = { info: MessageInfo; pass: OpenChannelPass };

export interface DeliveryPassOptions {
  layout: QueueLayout;
  /** The two channels' schedulers (shared with the rest of the engine). */
  channels: Channels;
  settings: SendSettings;
  /** The held messages: a due job of one is parked instead of opening a pass. */
  held: HeldMessages;
  /** Posts one delivery to the channel's delivery role (the spawner command of §4.6). */
  deliver(job: DeliveryJob, channel: Channel): void;
  /** Start remote deliveries; without it remote jobs stay queued. */
  remoteDelivery: boolean;
  /** Unix seconds. */
  now(): number;
  /** A message has no channel file left: it is done at `due` (qmail's pqdone). */
  finished(id: bigint, due: number): void;
  /** Called when a delivery starts or ends, for the status line. */
  changed(): void;
  /** A closed job's channel file is unlinked: the engine looks for work (its pump). */
  settled(): void;
}

/** The passes and deliveries of both channels. */
export class DeliveryPasses {
  #options: DeliveryPassOptions;
  #layout: QueueLayout;
  #channels: Channels;
  #files: JobFiles;
  #nextDelid = 1;
  /** Jobs whose channel file is being unlinked on Deno's I/O threads. */
  readonly #closing = new Set<Promise<void>>();
  /** First passes preprocessing prepared, until they open (or the message is forgotten). */
  readonly #prepared: Record<Channel, Map<bigint, PreparedPass>> = {
    local: new Map(),
    remote: new Map(),
  };

  constructor(options: DeliveryPassOptions) {
    this.#options = options;
    this.#layout = options.layout;
    this.#channels = options.channels;
    this.#files = new JobFiles(options.layout);
  }

  /** Whether the channel starts deliveries (local always; remote with remoteDelivery). */
  enabled(channel: Channel): boolean {
    return channel === "local" || this.#options.remoteDelivery;
  }

  /** Whether the channel could start work at `now`: an open pass, or a due job and a free slot. */
  hasWork(channel: Channel, now: number): boolean {
    const scheduler = this.#channels[channel];
    if (!this.enabled(channel) || !scheduler.slots.available) return false;
    const first = scheduler.queue.peek();
    return scheduler.passOpen || (first !== undefined && first.due <= now);
  }

  /** When the channel's earliest job is due, if it could start one then. */
  wakeAt(channel: Channel): number | undefined {
    const scheduler = this.#channels[channel];
    if (!this.enabled(channel) || !scheduler.slots.available) return undefined;
    return scheduler.queue.peek()?.due;
  }

  /** Whether any delivery is in flight. */
  /** Resolves once every channel file being unlinked is gone; undefined when none is. */
  get busy(): Promise<unknown> | undefined {
    return this.#closing.size === 0 ? undefined : Promise.all(this.#closing);
  }

  get inFlight(): boolean {
    return CHANNELS.some((channel) => this.#channels[channel].deliveries().length > 0);
  }

  /** Opens a pass or takes one step of it; false when the channel has nothing to do now. */
  step(channel: Channel, now: number): boolean {
    if (!this.enabled(channel)) return false;
    const scheduler = this.#channels[channel];
    if (!scheduler.passOpen) {
      const id = scheduler.takeDue(now);
      if (id === undefined) return false;
      if (this.#options.held.park(channel, id)) {
        // Held for as long as the operator likes: its pass reads the files when it is released.
        this.#takePrepared(channel, id)?.pass.file?.close();
        return true;
      }
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

  /** A spawner's report for one delivery (§4.6). */
  report(report: DeliveryReport, channel: Channel): void {
    const delivery = this.#channels[channel].takeDelivery(report.delivery);
    if (delivery === undefined) {
      logWarning("internal error: delivery report out of range", {
        delivery: report.delivery,
        channel,
      });
      return;
    }
    this.#finishDelivery(delivery, report.status, report.text);
  }

  /** The channel's delivery role was restarted: its deliveries in flight count as deferred. */
  lost(channel: Channel): void {
    for (const lost of this.#channels[channel].deliveries()) {
      const delivery = this.#channels[channel].takeDelivery(lost.slot)!;
      this.#finishDelivery(delivery, "Z", channel === "local" ? LOCAL_CRASHED : REMOTE_CRASHED);
    }
  }

  /** Drain: the open passes close early (their unread records due at `now`) and free their files. */
  abandon(now: number): void {
    for (const channel of CHANNELS) this.#channels[channel].abandon(now);
    this.#files.closeUnreferenced();
    this.#dropPrepared();
  }

  /** Closes every channel file still open. */
  close(): void {
    this.#files.closeAll();
    this.#dropPrepared();
  }

  /**
   * A message was just preprocessed: its first pass in each channel starts
   * from what was written (info is not read again, the channel file not
   * opened again). The files are taken over: kept, or closed.
   */
  prepared(id: bigint, passes: PreprocessedPasses): void {
    for (const channel of CHANNELS) {
      const pass = passes.channels[channel];
      if (pass === undefined) continue;
      const kept = this.#prepared[channel];
      // A channel that starts no deliveries (remote delivery off) would keep its files for ever.
      if (!this.enabled(channel) || kept.size >= PREPARED_PASSES || kept.has(id)) {
        pass.file?.close();
        continue;
      }
      kept.set(id, { info: { sender: passes.sender, birth: passes.birth }, pass });
    }
  }

  /** The operator is about to change the message's files: its next pass reads them. */
  forget(id: bigint): void {
    for (const channel of CHANNELS) this.#takePrepared(channel, id)?.pass.file?.close();
  }

  #takePrepared(channel: Channel, id: bigint): PreparedPass | undefined {
    const prepared = this.#prepared[channel].get(id);
    if (prepared !== undefined) this.#prepared[channel].delete(id);
    return prepared;
  }

  #dropPrepared(): void {
    for (const channel of CHANNELS) {
      for (const { pass } of this.#prepared[channel].values()) pass.file?.close();
      this.#prepared[channel].clear();
    }
  }

  #openPass(channel: Channel, id: bigint, now: number): void {
    const prepared = this.#takePrepared(channel, id);
    const info = prepared?.info ?? readMessageInfo(this.#layout, id);
    let file: Deno.FsFile | undefined;
    try {
      if (info === undefined) throw new Error("no info");
      const pass = prepared?.pass ?? openChannelFile(this.#layout, channel, id);
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
        this.#options.settings.controls.queueLifetime,
      );
      this.#files.add(job, file);
    } catch {
      file?.close();
      const path = this.#layout.channel(channel, id);
      logWarning(`trouble opening ${queueName(this.#layout, path)}; will try again later`);
      this.#channels[channel].queue.insert(id, now + SYSTEM_FAILURE_RETRY_SECONDS);
    }
  }

  #startDelivery(delivery: OutstandingDelivery, sender: string): void {
    const { job, recipient } = delivery;
    const files = this.#files.of(job);
    this.#options.deliver({
      delivery: delivery.slot,
      id: files.id,
      mess: files.mess,
      sender,
      recipient,
    }, job.channel);
    logDeliveryStarted(delivery.delid, job.id, job.channel, recipient);
    this.#options.changed();
  }

  /** Handles one report (§4.6): log it, mark the record done or bounce it, release the job. */
  #finishDelivery(delivery: OutstandingDelivery, status: string, reportText: string): void {
    const { job, delid } = delivery;
    const { outcome, text } = settleReport(status, reportText, job.dying);
    const target = { id: job.id, channel: job.channel, recipient: delivery.recipient };
    if (outcome === "mangled") logReportMangled(delid, target);
    else logDeliveryResult(delid, outcome, text, target);
    if (outcome === "deferral" || outcome === "mangled") {
      this.#recordDeferral(job.id, delivery.recipient, text);
    } else if (outcome === "success") {
      this.#files.markDone(job, delivery.offset);
      job.open--;
    } else if (outcome === "failure") {
      const paragraph = formatBounceParagraph(
        delivery.recipient,
        text,
        this.#options.settings.routing,
      );
      try {
        appendBounce(this.#layout, job.id, paragraph);
        this.#files.markDone(job, delivery.offset);
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
    const release = this.#channels[job.channel].release(job, this.#options.now());
    this.#afterRelease(job, release);
    this.#options.changed();
  }

  /** Keeps the last temporary failure of a recipient for `qmd queue list` (queue/deferrals.ts). */
  #recordDeferral(id: bigint, recipient: string, text: string): void {
    try {
      recordDeferral(this.#layout, id, recipient, { at: this.#options.now(), text });
    } catch (error) {
      logWarning(`unable to record the deferral of msg ${id}: ${describeError(error)}`);
    }
  }

  /**
   * The I/O half of qmail's job_close: a job whose records are all done has
   * its channel file unlinked, and the message is finished once no channel
   * file is left.
   */
  #afterRelease(job: PassJob, release: JobRelease): void {
    if (release.kind === "pending") return;
    this.#files.close(job);
    if (release.kind !== "complete") return;
    // The unlink waits for the file system (a file just fsynced): off this thread, while the
    // next reports and passes go on. The message is finished only once the file is gone.
    const closing: Promise<void> = this.#closeJob(job).finally(() => {
      this.#closing.delete(closing);
      this.#options.settled();
    });
    this.#closing.add(closing);
  }

  async #closeJob(job: PassJob): Promise<void> {
    const { channel, id } = job;
    const now = this.#options.now();
    try {
      await removeChannelFileAsync(this.#layout, channel, id);
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
    this.#options.finished(id, now);
  }
}
