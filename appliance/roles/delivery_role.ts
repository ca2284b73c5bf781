/**
 * The skeleton of the delivery roles (local, remote), qmail-lspawn's and
 * qmail-rspawn's loop: take `deliver` jobs from send (through the
 * supervisor), run several at a time, post one `report` per job, and on
 * `drain` post `drained` once the last job in flight has reported. What a
 * delivery is comes from the role's DeliveryWork.
 *
 * DeliveryRole holds the logic so tests drive it without a Worker;
 * runDeliveryWorker wires it to the Worker protocol (ipc.ts).
 */
import {
  type DeliveryJob,
  type DeliveryReport,
  type FromRole,
  type RoleSettings,
  settingsFor,
  type ToRole,
} from "../ipc.ts";
import type { Lookup, LookupAnswer } from "../filters/filter.ts";
import { logWarning } from "../log.ts";
import { rolePoster, runRoleLoop } from "./worker_loop.ts";

export type DeliveryName = "local" | "remote";

/** One delivery role's own part. */
export interface DeliveryWork<R extends DeliveryName> {
  /** Opens what deliveries need (controls, pool, database); a throw stops the start. */
  open(settings: RoleSettings<R>, post: (message: FromRole) => void): void | Promise<void>;
  /** One delivery; a throw becomes the spawner's temporary failure. */
  deliver(job: DeliveryJob): Promise<DeliveryReport>;
  /** SIGHUP: re-read the controls; each broken file's error (the old controls stay). */
  reload(): string[];
  /** Releases what open() took (pooled connections, the database). */
  close(): void;
  /** A filter lookup this role answers for smtpd (local: `recipient`); a throw is temporary. */
  lookup?(lookup: Lookup): Promise<LookupAnswer>;
}

export class DeliveryRole<R extends DeliveryName> {
  readonly #name: R;
  readonly #post: (message: FromRole) => void;
  readonly #work: DeliveryWork<R>;
  /** The spawner's text when a job cannot run ("Temporary failure in qmail-lspawn."). */
  readonly #failure: string;
  readonly #running = new Set<Promise<void>>();
  /** Settles true once open() succeeded; jobs that come before wait for it. */
  #opened: Promise<boolean> | undefined;
  #draining = false;

  constructor(
    name: R,
    post: (message: FromRole) => void,
    work: DeliveryWork<R>,
    spawner: "qmail-lspawn" | "qmail-rspawn",
  ) {
    this.#name = name;
    this.#post = post;
    this.#work = work;
    this.#failure = `Temporary failure in ${spawner}.\n`;
  }

  /** Number of deliveries in flight. */
  get running(): number {
    return this.#running.size;
  }

  /** Opens the work and posts `ready`; rejects (the caller posts `fatal`) when it cannot. */
  async start(settings: RoleSettings): Promise<void> {
    const opening = (async () => {
      await this.#work.open(settingsFor(settings, this.#name), this.#post);
    })();
    this.#opened = opening.then(() => true, () => false);
    await opening;
    this.#post({ type: "ready" });
  }

  /** SIGHUP: each broken control file's error. */
  reload(): string[] {
    return this.#work.reload();
  }

  /** Runs one job; resolves when its report has been posted. */
  deliver(job: DeliveryJob): Promise<void> {
    const task = (async () => {
      let report: DeliveryReport;
      if (!(await (this.#opened ?? false))) {
        report = { delivery: job.delivery, status: "Z", text: this.#failure };
      } else {
        try {
          report = await this.#work.deliver(job);
        } catch (error) {
          logWarning(`${this.#name} delivery ${job.delivery} failed: ${(error as Error).message}`);
          report = { delivery: job.delivery, status: "Z", text: this.#failure };
        }
      }
      this.#post({ type: "report", report });
    })();
    this.#running.add(task);
    return task.finally(() => {
      this.#running.delete(task);
      if (this.#draining && this.#running.size === 0) this.#finishDrain();
    });
  }

  /** Answers one filter lookup; posts `lookup-result` to the asking isolate. */
  async lookup(message: Extract<ToRole, { type: "lookup" }>): Promise<void> {
    let answer: LookupAnswer;
    if (this.#work.lookup === undefined || !(await (this.#opened ?? false))) {
      answer = { kind: "temporary", reason: `${this.#name} cannot answer it now` };
    } else {
      try {
        answer = await this.#work.lookup(message.lookup);
      } catch (error) {
        answer = { kind: "temporary", reason: (error as Error).message };
      }
    }
    this.#post({
      type: "lookup-result",
      request: message.request,
      worker: message.worker,
      role: message.role,
      answer,
    });
  }

  /** Finish what is running, then post `drained`. */
  drain(): void {
    this.#draining = true;
    if (this.#running.size === 0) this.#finishDrain();
  }

  #finishDrain(): void {
    this.#work.close();
    this.#post({ type: "drained" });
  }

  close(): void {
    this.#work.close();
  }
}

/** Runs a delivery role inside its Worker. */
export function runDeliveryWorker<R extends DeliveryName>(
  name: R,
  role: (post: (message: FromRole) => void) => DeliveryRole<R>,
): void {
  const post = rolePoster();
  const delivery = role(post);
  runRoleLoop(name, {
    start: (message) => delivery.start(message.settings),
    deliver: (message) => void delivery.deliver(message.job),
    lookup: (message) => void delivery.lookup(message),
    reload: (message) =>
      post({ type: "reloaded", round: message.round, errors: delivery.reload() }),
    drain: () => delivery.drain(),
  }, post);
}
