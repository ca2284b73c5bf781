/**
 * The skeleton of the listener roles (smtpd, pop3d), so each role file keeps
 * only its own policy: take the settings and the shared tables (sessions per
 * IP, failed logins, challenge mechanisms), listen on every address with
 * SO_REUSEPORT, count open sessions so that a drain ends when the last one
 * closes, ask the auth role (through the supervisor) to check credentials,
 * and serve the TLS files the supervisor sends (so every isolate serves the
 * same certificate).
 */
import net from "node:net";
import {
  type FromRole,
  type ListenerAddress,
  LOOKUP_ROLES,
  type RoleName,
  rolePort,
  type RoleSettings,
  settingsFor,
} from "../ipc.ts";
import type { Lookup, LookupAnswer } from "../filters/filter.ts";
import { logEvent, setLogSink } from "../log.ts";
import { LogBacklog } from "../log_backlog.ts";
import type { Credentials, VerifyResult } from "../auth/sasl_server.ts";
import { controlErrorMessages } from "../../config/control.ts";
import { ServerTls } from "../tls/server_tls.ts";
import { NO_TLS_FILES } from "../tls/tls_files.ts";
import { ConnectionLimits, type StressChange } from "../net/connection_limits.ts";
import { AuthFailures } from "../net/auth_failures.ts";
import { AuthCapabilities } from "../net/auth_capabilities.ts";
import { runRoleLoop } from "./worker_loop.ts";
import { DeliverableCache } from "../net/deliverable_cache.ts";

type ListenerName = "smtpd" | "pop3d";

/** How long a lookup another role answers may take before it is a temporary failure. */
const LOOKUP_TIMEOUT_MS = 30_000;

/** A lookup in flight with another role. */
interface PendingLookup {
  owner: RoleName;
  resolve: (answer: LookupAnswer) => void;
}

export interface ListenerRoleHooks<R extends ListenerName> {
  /** Loads the controls; a throw (ControlErrors) stops the isolate from starting. */
  start(settings: RoleSettings<R>): void;
  /** One accepted connection on `address`. */
  connection(socket: net.Socket, address: ListenerAddress): void;
  /** SIGHUP: re-read the controls; throws (ControlErrors) and keeps the old ones if one is broken. */
  reload(): void;
  /** This isolate's session made stress mode begin or end (connection_limits.ts). */
  stressChanged(change: StressChange): void;
}

/** What every isolate of the role shares, from the start options. */
interface Shared {
  limits: ConnectionLimits;
  authFailures: AuthFailures;
  authCapabilities: AuthCapabilities;
}

export class ListenerRole<R extends ListenerName> {
  readonly #name: R;
  readonly #servers: net.Server[] = [];
  #open = 0;
  #draining = false;
  #requests = 0;
  readonly #pending = new Map<number, (result: VerifyResult) => void>();
  readonly #lookups = new Map<number, PendingLookup>();
  /** realrcptto's recent "yes" answers (deliverable_cache.ts). */
  readonly #deliverable = new DeliverableCache();
  #logBacklog: LogBacklog | undefined;
  #shared: Shared | undefined;
  /** This isolate's number among its role's (1-based), for session ids and auth replies. */
  workerIndex = 0;
  /** The certificate and client-certificate settings, as the supervisor last sent them. */
  readonly serverTls: ServerTls;

  constructor(name: R) {
    this.#name = name;
    this.serverTls = new ServerTls(NO_TLS_FILES, {
      onError: (message) => logEvent("tls_error", `alert: ${name}: ${message}`),
    });
  }

  /** Open sessions per IP and in all, shared by the role's isolates. */
  get limits(): ConnectionLimits {
    return this.#started().limits;
  }

  /** Failed logins per IP and user, shared by smtpd and pop3d. */
  get authFailures(): AuthFailures {
    return this.#started().authFailures;
  }

  /** Which challenge mechanisms can succeed now (auth publishes them). */
  get authCapabilities(): AuthCapabilities {
    return this.#started().authCapabilities;
  }

  #started(): Shared {
    if (this.#shared === undefined) throw new Error(`${this.#name} has not started`);
    return this.#shared;
  }

  post(message: FromRole): void {
    // Log records go first: nothing may overtake them (a drain's last lines).
    this.#logBacklog?.flush();
    rolePort().postMessage(message);
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

  /**
   * Asks the role that answers this kind of filter lookup (LOOKUP_ROLES:
   * local for `recipient`, auth for `greylist`) through the supervisor. No
   * answer within LOOKUP_TIMEOUT_MS, or the role restarted meanwhile, is a
   * temporary answer: the check says "try later", never "accepted". A "yes"
   * to a recipient lookup is kept, for knownAnswer() to give at once.
   */
  async lookup(lookup: Lookup): Promise<LookupAnswer> {
    const answer = await this.#ask(lookup);
    if (lookup.kind === "recipient" && answer.kind === "recipient" && answer.deliverable) {
      this.#deliverable.remember(lookup.address);
    }
    return answer;
  }

  /** An answer kept from an earlier lookup (realrcptto's "yes", deliverable_cache.ts), if any. */
  knownAnswer(lookup: Lookup): LookupAnswer | undefined {
    if (lookup.kind !== "recipient" || !this.#deliverable.knows(lookup.address)) return undefined;
    return { kind: "recipient", deliverable: true };
  }

  #ask(lookup: Lookup): Promise<LookupAnswer> {
    const owner = LOOKUP_ROLES[lookup.kind];
    if (owner === undefined) {
      return Promise.resolve({ kind: "temporary", reason: `no role answers ${lookup.kind}` });
    }
    const request = ++this.#requests;
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.#lookups.delete(request);
        resolve({ kind: "temporary", reason: `no answer from ${owner}` });
      }, LOOKUP_TIMEOUT_MS);
      this.#lookups.set(request, {
        owner,
        resolve: (answer) => {
          clearTimeout(timer);
          this.#lookups.delete(request);
          resolve(answer);
        },
      });
      this.post({ type: "lookup", request, worker: this.workerIndex, lookup });
    });
  }

  /** Listens on every address (SO_REUSEPORT, so N isolates share each port). */
  async #listen(
    addresses: readonly ListenerAddress[],
    serve: (socket: net.Socket, address: ListenerAddress) => void,
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

  /** Stops accepting; "drained" goes out when the last session has ended. */
  #drain(): void {
    this.#draining = true;
    for (const server of this.#servers) server.close();
    if (this.#open === 0) this.post({ type: "drained" });
  }

  /**
   * With the supervisor's LogBacklog, this isolate's records are counted in
   * flight and the connection drivers wait (logPressure) when the writer is
   * behind, so a client cannot make log records pile up in memory.
   */
  #countLogRecords(buffer: SharedArrayBuffer | undefined): void {
    if (buffer === undefined) return;
    const backlog = new LogBacklog(buffer);
    setLogSink(
      backlog.sink((records) => rolePort().postMessage({ type: "logs", records })),
      this.#name,
      () => backlog.pressure(),
    );
    this.#logBacklog = backlog;
  }

  async #start(received: RoleSettings, hooks: ListenerRoleHooks<R>): Promise<void> {
    const settings = settingsFor(received, this.#name);
    this.#countLogRecords(settings.logBacklog);
    if (settings.tls !== undefined) this.serverTls.update(settings.tls);
    const options = settings.options;
    this.workerIndex = options.index;
    this.#shared = {
      limits: new ConnectionLimits(options.limits, {
        onStressChange: (change) => hooks.stressChanged(change),
      }),
      authFailures: new AuthFailures(options.authFailures),
      authCapabilities: new AuthCapabilities(options.authCapabilities),
    };
    hooks.start(settings);
    await this.#listen(options.listen, (socket, address) => hooks.connection(socket, address));
    this.post({ type: "ready" });
  }

  /** Runs the role inside its Worker. */
  run(hooks: ListenerRoleHooks<R>): void {
    runRoleLoop(this.#name, {
      start: (message) => this.#start(message.settings, hooks),
      reload: (message) => {
        // The supervisor logs each broken file once, whichever isolates met it.
        let errors: string[] = [];
        try {
          this.#deliverable.clear();
          hooks.reload();
        } catch (error) {
          errors = controlErrorMessages(error);
        }
        this.post({ type: "reloaded", round: message.round, errors });
      },
      tls: (message) => this.serverTls.update(message.files),
      drain: () => this.#drain(),
      "auth-result": (message) => {
        this.#pending.get(message.request)?.(message.result);
        this.#pending.delete(message.request);
      },
      "lookup-result": (message) => this.#lookups.get(message.request)?.resolve(message.answer),
      "peer-restarted": (message) => {
        for (const pending of [...this.#lookups.values()]) {
          if (pending.owner === message.role) {
            pending.resolve({ kind: "temporary", reason: `${message.role} restarted` });
          }
        }
        if (message.role !== "auth") return;
        // Requests in flight with the old auth isolate are lost: fail them temporarily.
        for (const resolve of this.#pending.values()) resolve({ ok: false, temporary: true });
        this.#pending.clear();
      },
    }, (message) => this.post(message));
  }
}
