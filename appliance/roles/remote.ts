/**
 * The remote role: qmail-rspawn and qmail-remote in an isolate. Each
 * `deliver` job from send runs as qmail-remote would
 * (appliance/remote/remote_delivery.ts), or through the extraremote wrapper.
 * Connections to one host are shared between jobs (ConnectionPool). Start-up
 * clears lock/tcpto as qmail-rspawn does. The job loop, reports and drain are
 * the delivery skeleton's (delivery_role.ts).
 */
import type { DeliveryJob, DeliveryReport, FromRole, RoleSettings } from "../ipc.ts";
import { ConnectionPool } from "../remote/connection_pool.ts";
import type { SmtpConnection } from "../remote/pooled_connection.ts";
import { buildRemoteContext, type RemoteContext } from "../remote/remote_context.ts";
import { deliverRemote } from "../remote/remote_delivery.ts";
import { runExtraRemote } from "../remote/extra_remote.ts";
import { clearTcpto } from "../remote/tcpto.ts";
import { sendDueTlsReports, TLS_REPORT_CHECK_MS } from "../remote/tls_report_send.ts";
import { logWarning } from "../log.ts";
import { controlErrorMessages, loadAllControls } from "../../config/control.ts";
import { DeliveryRole, type DeliveryWork, runDeliveryWorker } from "./delivery_role.ts";

/** The remote part of the skeleton: the controls, the resolver and the connection pool. */
class RemoteWork implements DeliveryWork<"remote"> {
  #home: string | undefined;
  #context: RemoteContext | undefined;
  #reports: ReturnType<typeof setInterval> | undefined;
  pool: ConnectionPool<SmtpConnection> | undefined;

  async open(settings: RoleSettings<"remote">): Promise<void> {
    this.#home = settings.home;
    this.pool = new ConnectionPool<SmtpConnection>({
      idleMs: settings.options.idleMs,
      maxPerDestination: settings.options.maxPerDestination,
    });
    this.#context = buildRemoteContext(settings.home, this.pool);
    await clearTcpto(this.#context.layout.tcpto);
    // TLS-RPT (RFC 8460): a finished day's reports are queued within the hour.
    this.#reports = setInterval(() => {
      const context = this.#context;
      if (context === undefined) return;
      sendDueTlsReports(context, Date.now()).catch((error) =>
        logWarning(`TLS-RPT reports not queued: ${(error as Error).message}`)
      );
    }, TLS_REPORT_CHECK_MS);
  }

  deliver(job: DeliveryJob): Promise<DeliveryReport> {
    const context = this.#context;
    if (context === undefined) throw new Error("the remote context is not open");
    // extraremote (docs/patches.md seed 001): a wrapper script takes qmail-remote's place.
    return context.controls.extraRemote
      ? runExtraRemote(job, context.home, context.layout)
      : deliverRemote(job, context);
  }

  /** SIGHUP: re-read the controls and name servers; pooled connections stay. */
  reload(): string[] {
    const home = this.#home;
    const pool = this.pool;
    if (home === undefined || pool === undefined) return [];
    try {
      this.#context = loadAllControls(() => buildRemoteContext(home, pool));
      return [];
    } catch (error) {
      return controlErrorMessages(error);
    }
  }

  close(): void {
    clearInterval(this.#reports);
    this.pool?.close();
  }
}

/** qmail-rspawn: deliveries in flight, the shared pool, drain. */
export class RemoteRole extends DeliveryRole<"remote"> {
  readonly #work: RemoteWork;

  constructor(post: (message: FromRole) => void) {
    const work = new RemoteWork();
    super("remote", post, work, "qmail-rspawn");
    this.#work = work;
  }

  /** The connection pool (tests and the bench). */
  get pool(): ConnectionPool<SmtpConnection> | undefined {
    return this.#work.pool;
  }
}

if (import.meta.main) runDeliveryWorker("remote", (post) => new RemoteRole(post));
