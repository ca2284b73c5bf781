/**
 * What the smtpd and pop3d roles share, so each role file keeps only its own
 * policy: listening on several addresses with SO_REUSEPORT, counting open
 * sessions so that a drain ends when the last one closes, asking the auth
 * role (through the supervisor) to check credentials, and the Worker message
 * loop of ipc.ts, with the TLS files the supervisor sends (so every isolate
 * serves the same certificate).
 */
import net from "node:net";
import { type FromRole, type RoleName, rolePort, type RoleSettings, type ToRole } from "../ipc.ts";
import { logEvent, setLogSink } from "../log.ts";
import { LogBacklog } from "../log_backlog.ts";
import type { Credentials, VerifyResult } from "../auth/sasl_server.ts";
import { controlErrorMessages } from "../../config/control.ts";
import { ServerTls } from "../tls/server_tls.ts";
import { NO_TLS_FILES } from "../tls/tls_files.ts";

export interface ListenerRoleHooks {
  /** Opens the listeners (through listen()) and loads the controls. */
  start(settings: RoleSettings): Promise<void>;
  /** SIGHUP: re-read the controls; throws (ControlErrors) and keeps the old ones if one is broken. */
  reload(): void;
}

export class ListenerRole {
  readonly #name: RoleName;
  readonly #servers: net.Server[] = [];
  #open = 0;
  #draining = false;
  #requests = 0;
  readonly #pending = new Map<number, (result: VerifyResult) => void>();
  #logBacklog: LogBacklog | undefined;
  /** This isolate's number among its role's (1-based), for session ids and auth replies. */
  workerIndex = 0;
  /** The certificate and client-certificate settings, as the supervisor last sent them. */
  readonly serverTls: ServerTls;

  constructor(name: RoleName) {
    this.#name = name;
    this.serverTls = new ServerTls(NO_TLS_FILES, {
      onError: (message) => logEvent("tls_error", `alert: ${name}: ${message}`),
    });
  }

  post(message: FromRole): void {
    // Log records go first: nothing may overtake them (a drain's last lines).
    this.#logBacklog?.flush();
    rolePort().postMessage(message);
  }

  /** Listens on every address (SO_REUSEPORT, so N isolates share each port). */
  async listen<A extends { host: string; port: number }>(
    addresses: readonly A[],
    serve: (socket: net.Socket, address: A) => void,
  ): Promise<void> {
    for (const address of addresses) {
      const server = net.createServer((socket) => serve(socket, address));
      await new Promise<void>((resolve, reject) => {
        server.once("error", reject);
        server.listen({ host: address.host, port: address.port, reusePort: true }, () => resolve());
      });
      this.#servers.push(server);
    }
  }

  /** Runs one admitted session; a drain waits for it. */
  async session(work: () => Promise<void>): Promise<void> {
    this.#open++;
    try {
      await work();
    } finally {
      this.#open--;
      if (this.#draining && this.#open === 0) this.post({ type: "drained" });
    }
  }

  /** Asks the auth role to check credentials; `home` asks for the user's home too (POP3). */
  verify(credentials: Credentials, home = false): Promise<VerifyResult> {
    const request = ++this.#requests;
    return new Promise((resolve) => {
      this.#pending.set(request, resolve);
      this.post({
        type: "auth-verify",
        request,
        worker: this.workerIndex,
        credentials,
        ...(home ? { home } : {}),
      });
    });
  }

  /** Stops accepting; "drained" goes out when the last session has ended. */
  drain(): void {
    this.#draining = true;
    for (const server of this.#servers) server.close();
    if (this.#open === 0) this.post({ type: "drained" });
  }

  /**
   * With the supervisor's LogBacklog, this isolate's records are counted in
   * flight and the connection drivers wait (logPressure) when the writer is
   * behind, so a client cannot make log records pile up in memory.
   */
  #countLogRecords(settings: RoleSettings): void {
    const buffer = settings.options.logBacklog;
    if (!(buffer instanceof SharedArrayBuffer)) return;
    const backlog = new LogBacklog(buffer);
    setLogSink(
      backlog.sink((records) => rolePort().postMessage({ type: "logs", records })),
      this.#name,
      () => backlog.pressure(),
    );
    this.#logBacklog = backlog;
  }

  /** Runs the role inside its Worker. */
  run(hooks: ListenerRoleHooks): void {
    const name = this.#name;
    setLogSink((record) => this.post({ type: "log", record }), name);
    const fatal = (error: unknown) =>
      this.post({ type: "fatal", message: `${name}: ${(error as Error).message}` });
    rolePort().onmessage = (event: MessageEvent<ToRole>) => {
      const message = event.data;
      try {
        switch (message.type) {
          case "start":
            this.#countLogRecords(message.settings);
            if (message.settings.tls !== undefined) this.serverTls.update(message.settings.tls);
            hooks.start(message.settings).then(() => this.post({ type: "ready" }), fatal);
            break;
          case "reload": {
            // The supervisor logs each broken file once, whichever isolates met it.
            let errors: string[] = [];
            try {
              hooks.reload();
            } catch (error) {
              errors = controlErrorMessages(error);
            }
            this.post({ type: "reloaded", round: message.round, errors });
            break;
          }
          case "tls":
            this.serverTls.update(message.files);
            break;
          case "drain":
            this.drain();
            break;
          case "auth-result":
            this.#pending.get(message.request)?.(message.result);
            this.#pending.delete(message.request);
            break;
          case "peer-restarted":
            if (message.role !== "auth") break;
            // Requests in flight with the old auth isolate are lost: fail them temporarily.
            for (const resolve of this.#pending.values()) resolve({ ok: false, temporary: true });
            this.#pending.clear();
            break;
        }
      } catch (error) {
        fatal(error);
      }
    };
  }
}
