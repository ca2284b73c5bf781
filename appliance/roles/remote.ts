/**
 * The remote role: qmail-rspawn and qmail-remote in an isolate. It receives
 * `deliver` jobs from send (through the supervisor), runs each as
 * qmail-remote would (appliance/remote/remote_delivery.ts), several at a time,
 * and posts one `report` per job. Connections to one host are shared between
 * jobs (ConnectionPool). Start-up clears lock/tcpto as qmail-rspawn does.
 *
 * RemoteRole holds the logic so tests drive it without a Worker; the bottom
 * of the file wires it to the Worker protocol (ipc.ts).
 */
import type { DeliveryJob, FromRole, RoleSettings, ToRole } from "../ipc.ts";
import { logWarning, setLogSink } from "../log.ts";
import { ConnectionPool } from "../remote/connection_pool.ts";
import type { SmtpConnection } from "../remote/pooled_connection.ts";
import { buildRemoteContext, type RemoteContext } from "../remote/remote_context.ts";
import { deliverRemote } from "../remote/remote_delivery.ts";
import { runExtraRemote } from "../remote/extra_remote.ts";
import { clearTcpto } from "../remote/tcpto.ts";
import { controlErrorMessages, loadAllControls } from "../../config/control.ts";

const TEMPORARY_FAILURE = "Temporary failure in qmail-rspawn.\n";

/** Options the role takes from RoleSettings.options (tests). */
export interface RemoteRoleOptions {
  /** Per-destination connection bound (default 10). */
  maxPerDestination?: number;
  /** Idle connection lifetime in ms (default 10,000). */
  idleMs?: number;
}

/** The role's state: deliveries in flight, the shared pool, and the drain request. */
export class RemoteRole {
  readonly #post: (message: FromRole) => void;
  readonly #running = new Set<Promise<void>>();
  #settings: RoleSettings | undefined;
  #context: RemoteContext | undefined;
  #pool: ConnectionPool<SmtpConnection> | undefined;
  #draining = false;

  constructor(post: (message: FromRole) => void) {
    this.#post = post;
  }

  get running(): number {
    return this.#running.size;
  }

  /** The connection pool (tests). */
  get pool(): ConnectionPool<SmtpConnection> | undefined {
    return this.#pool;
  }

  async start(settings: RoleSettings): Promise<void> {
    const options = settings.options as RemoteRoleOptions;
    this.#settings = settings;
    this.#pool = new ConnectionPool<SmtpConnection>({
      idleMs: options.idleMs,
      maxPerDestination: options.maxPerDestination,
    });
    this.#context = buildRemoteContext(settings.home, this.#pool);
    await clearTcpto(`${this.#context.layout.root}/lock/tcpto`);
    this.#post({ type: "ready" });
  }

  /** SIGHUP: re-read the controls and name servers; pooled connections stay. */
  reload(): string[] {
    const { home } = this.#settings ?? {};
    const pool = this.#pool;
    if (home === undefined || pool === undefined) return [];
    try {
      this.#context = loadAllControls(() => buildRemoteContext(home, pool));
      return [];
    } catch (error) {
      return controlErrorMessages(error);
    }
  }

  deliver(job: DeliveryJob): Promise<void> {
    const context = this.#context;
    const task = (async () => {
      let report;
      if (context === undefined) {
        report = { delivery: job.delivery, status: "Z" as const, text: TEMPORARY_FAILURE };
      } else {
        try {
          // extraremote (seed 001): a wrapper script takes qmail-remote's place.
          report = context.controls.extraRemote
            ? await runExtraRemote(job, context.home, context.layout)
            : await deliverRemote(job, context);
        } catch (error) {
          logWarning(`remote delivery ${job.delivery} failed: ${(error as Error).message}`);
          report = { delivery: job.delivery, status: "Z" as const, text: TEMPORARY_FAILURE };
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

  drain(): void {
    this.#draining = true;
    if (this.#running.size === 0) this.#finishDrain();
  }

  #finishDrain(): void {
    this.#pool?.close();
    this.#post({ type: "drained" });
  }

  close(): void {
    this.#pool?.close();
  }
}

// --- Worker wiring (ipc.ts role protocol) ---

interface WorkerScope {
  postMessage(message: FromRole): void;
  onmessage: ((event: MessageEvent<ToRole>) => void) | null;
}

export function runRemoteWorker(scope: WorkerScope): RemoteRole {
  const post = (message: FromRole) => scope.postMessage(message);
  setLogSink((record) => post({ type: "log", record }), "remote");
  const role = new RemoteRole(post);
  const fatal = (error: unknown) =>
    post({ type: "fatal", message: `remote: ${(error as Error).message}` });
  scope.onmessage = (event) => {
    const message = event.data;
    try {
      switch (message.type) {
        case "start":
          role.start(message.settings).catch(fatal);
          break;
        case "deliver":
          void role.deliver(message.job);
          break;
        case "reload":
          post({ type: "reloaded", round: message.round, errors: role.reload() });
          break;
        case "drain":
          role.drain();
          break;
      }
    } catch (error) {
      fatal(error);
    }
  };
  return role;
}

const workerGlobal = (globalThis as { WorkerGlobalScope?: abstract new () => unknown })
  .WorkerGlobalScope;
if (workerGlobal !== undefined && globalThis instanceof workerGlobal) {
  runRemoteWorker(globalThis as unknown as WorkerScope);
}
