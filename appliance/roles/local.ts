/**
 * The local role: qmail-lspawn in an isolate. It receives `deliver` jobs from
 * send (through the supervisor), runs each one as qmail-local would
 * (appliance/deliver/local.ts), several at a time, and posts one `report` per
 * job; a forward that queued a message also posts `queued`. It opens no
 * sockets: forwards go through the queue (injectMessage), as qmail-local's
 * go through qmail-queue.
 *
 * LocalRole holds the logic so tests drive it without a Worker; the bottom of
 * the file wires it to the Worker protocol (ipc.ts).
 */
import { deliverLocal, type LocalContext } from "../deliver/local.ts";
import { createLocalContext, hostnameFor } from "../deliver/local_context.ts";
import type { DeliveryJob, FromRole, RoleSettings, ToRole } from "../ipc.ts";
import { logWarning, setLogSink } from "../log.ts";

/** The role's state: deliveries in flight and the drain request. */
export class LocalRole {
  readonly #post: (message: FromRole) => void;
  readonly #running = new Set<Promise<void>>();
  #context: LocalContext | undefined;
  #close: () => void = () => {};
  #draining = false;

  constructor(post: (message: FromRole) => void) {
    this.#post = post;
  }

  /** Number of deliveries in flight. */
  get running(): number {
    return this.#running.size;
  }

  start(settings: RoleSettings): void {
    const { context, close } = createLocalContext(
      settings,
      (id) => this.#post({ type: "queued", id: String(id) }),
    );
    this.#context = context;
    this.#close = close;
    this.#post({ type: "ready" });
  }

  /** SIGHUP: the host name may have changed; users/cdb is re-read per delivery anyway. */
  reload(): void {
    if (this.#context) this.#context.hostname = hostnameFor(this.#context.home);
  }

  /** Runs one job; resolves when its report has been posted. */
  deliver(job: DeliveryJob): Promise<void> {
    const context = this.#context;
    const task = (async () => {
      if (context === undefined) {
        this.#post({
          type: "report",
          report: {
            delivery: job.delivery,
            status: "Z",
            text: "Temporary failure in qmail-lspawn.\n",
          },
        });
        return;
      }
      let report;
      try {
        report = await deliverLocal(job, context);
      } catch (error) {
        logWarning(`local delivery ${job.delivery} failed: ${(error as Error).message}`);
        report = {
          delivery: job.delivery,
          status: "Z" as const,
          text: "Temporary failure in qmail-lspawn.\n",
        };
      }
      this.#post({ type: "report", report });
    })();
    this.#running.add(task);
    return task.finally(() => {
      this.#running.delete(task);
      if (this.#draining && this.#running.size === 0) this.#finishDrain();
    });
  }

  /** Finish what is running, then post `drained`. */
  drain(): void {
    this.#draining = true;
    if (this.#running.size === 0) this.#finishDrain();
  }

  #finishDrain(): void {
    this.#close();
    this.#post({ type: "drained" });
  }

  close(): void {
    this.#close();
  }
}

// --- Worker wiring (ipc.ts role protocol) ---

interface WorkerScope {
  postMessage(message: FromRole): void;
  onmessage: ((event: MessageEvent<ToRole>) => void) | null;
}

/** Connects a LocalRole to the supervisor's messages inside a Worker. */
export function runLocalWorker(scope: WorkerScope): LocalRole {
  const post = (message: FromRole) => scope.postMessage(message);
  setLogSink((record) => post({ type: "log", record }), "local");
  const role = new LocalRole(post);
  scope.onmessage = (event) => {
    const message = event.data;
    try {
      switch (message.type) {
        case "start":
          role.start(message.settings);
          break;
        case "deliver":
          void role.deliver(message.job);
          break;
        case "reload":
          role.reload();
          post({ type: "reloaded", round: message.round, errors: [] });
          break;
        case "drain":
          role.drain();
          break;
      }
    } catch (error) {
      post({ type: "fatal", message: `local: ${(error as Error).message}` });
    }
  };
  return role;
}

const workerGlobal = (globalThis as { WorkerGlobalScope?: abstract new () => unknown })
  .WorkerGlobalScope;
if (workerGlobal !== undefined && globalThis instanceof workerGlobal) {
  runLocalWorker(globalThis as unknown as WorkerScope);
}
