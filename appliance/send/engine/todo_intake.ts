/**
 * qmail-send's todo scan (docs/queue-format.md §4.3): lists todo/ when a queue
 * writer pulls the trigger or every TODO_RESCAN_SECONDS, preprocesses the
 * entries in batches (todo → info/local/remote, S4 → S5), logs `new msg`
 * and `info msg` as qmail does, and hands each message's channels on.
 */
import { logMessageInfo, logNewMessage, logWarning } from "../../log.ts";
import { bytesToString } from "../../bytes.ts";
import { describeError } from "../../queue/error_text.ts";
import type { QueueLayout } from "../../queue/layout.ts";
import {
  type PreprocessedPasses,
  preprocessMessages,
  type PreprocessResult,
} from "../../queue/preprocess.ts";
import { TODO_RESCAN_SECONDS } from "../retry.ts";
import type { RoutingTable } from "../routing.ts";

/**
 * Todo entries preprocessed together (their fsyncs run concurrently and each
 * directory is fsynced once per batch). qmail-send takes one per loop; the
 * result per message, its log lines and their order are the same.
 */
const TODO_BATCH = 64;

export interface TodoIntakeOptions {
  layout: QueueLayout;
  /**
   * A message is in info/ with these channel files (neither: it is already
   * done); `passes`, when there, holds its channel files open for the first
   * pass, and the callee owns them.
   */
  queued(
    id: bigint,
    channels: { local: boolean; remote: boolean },
    now: number,
    passes?: PreprocessedPasses,
  ): void;
  /** A batch is over (the loop looks for more work). */
  settled(): void;
}

/** The scan of todo/ and the batch being preprocessed. */
export class TodoIntake {
  #options: TodoIntakeOptions;
  /** A request named all of todo/ (not only the directories in #hinted). */
  #everywhere = false;
  /** The todo directories the requests named (a qmd writer's trigger byte). */
  #hinted = new Set<string>();
  #ids: bigint[] = [];
  #nextScan = 0;
  #preprocessing: Promise<void> | undefined;

  constructor(options: TodoIntakeOptions) {
    this.#options = options;
  }

  /** The batch in flight, if any. */
  get busy(): Promise<void> | undefined {
    return this.#preprocessing;
  }

  /**
   * A queue writer committed a message: scan at the next step the todo
   * directories it named, or all of todo/ (no `directories`).
   */
  request(directories?: readonly string[]): void {
    if (directories === undefined) this.#everywhere = true;
    else if (!this.#everywhere) {
      for (const directory of directories) this.#hinted.add(directory);
    }
  }

  /** A scan was asked for since the last one. */
  get #requested(): boolean {
    return this.#everywhere || this.#hinted.size > 0;
  }

  /** Whether a scan or a batch is due at `now` (a batch in flight aside). */
  hasWork(now: number): boolean {
    return this.#requested || this.#ids.length > 0 || now >= this.#nextScan;
  }

  /** When the next scan is due; undefined while a batch is in flight (it ends with settled()). */
  wakeAt(now: number): number | undefined {
    if (this.#preprocessing) return undefined;
    return this.#requested ? now : this.#nextScan;
  }

  /** Scans todo/ if due and starts one batch; false when there is nothing to start. */
  step(now: number, routing: RoutingTable): boolean {
    // A batch in flight still has its ids in todo/: no rescan until it is done.
    if (this.#preprocessing) return false;
    if (this.#ids.length === 0) {
      if (!this.#requested && now < this.#nextScan) return false;
      const everywhere = this.#everywhere || now >= this.#nextScan;
      const only = everywhere ? undefined : [...this.#hinted];
      this.#everywhere = false;
      this.#hinted.clear();
      if (everywhere) this.#nextScan = now + TODO_RESCAN_SECONDS;
      try {
        this.#ids = this.#options.layout.listIds("todo", only);
      } catch (error) {
        logWarning(`unable to scan todo: ${(error as Error).message}`);
        return false;
      }
      if (this.#ids.length === 0) return false;
    }
    const ids = this.#ids.splice(0, TODO_BATCH);
    const keep = { keepChannelFiles: true };
    this.#preprocessing = preprocessMessages(this.#options.layout, ids, routing, now, keep).then(
      (results) => results.forEach((result, index) => this.#preprocessed(ids[index], result, now)),
      (error) => logWarning(`trouble preprocessing todo: ${describeError(error)}`),
    ).finally(() => {
      this.#preprocessing = undefined;
      this.#options.settled();
    });
    return true;
  }

  /** Logs a preprocessed message as qmail-send does and hands its channels on. */
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
    this.#options.queued(id, { local: result.local, remote: result.remote }, now, result.passes);
  }
}
