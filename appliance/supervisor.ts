/**
 * The supervisor, qmd's qmail-start: one table of roles (module, count,
 * permissions), spawning each as a Worker with only the permissions its job
 * needs, routing messages between them the way qmail-start wires pipes,
 * restarting crashed roles with backoff, and turning signals into reload,
 * flush and drain.
 */
import {
  type FromRole,
  LOOKUP_ROLES,
  RESTART_WATCHERS,
  type RoleName,
  type ToRole,
  unanswerableLookup,
} from "./ipc.ts";
import { PendingRequests } from "./pending_requests.ts";
import { formatLogRecord, logEvent, type LogFormat, type LogRecord, setLogSink } from "./log.ts";
import { LogBacklog } from "./log_backlog.ts";
import type { Replacement, RunningRole } from "./running_role.ts";
import { StdoutLines } from "./stdout_lines.ts";
import {
  localRoleSpec,
  readHomeGrants,
  readUserHomes,
  type RoleSpec,
  roleTable,
  type RoleTableOptions,
} from "./role_table.ts";
import { ReloadReport } from "./reload_report.ts";
import { Takeovers } from "./listener_takeover.ts";
import { TlsFilesWatch, type TlsStatus } from "./tls/tls_files_watch.ts";
import type { QueueReply, QueueRequest } from "./queue/control_request.ts";
import { AdminFeed } from "./admin_feed.ts";
import { answerAdminWrite } from "./admin/admin_writes.ts";
import { type IsolateUsage, UsageCollector } from "./isolate_usage.ts";

export type { ListenAddress, RoleSpec } from "./role_table.ts";

export interface SupervisorOptions extends RoleTableOptions {
  logFormat: LogFormat;
  /** Seconds that sessions and deliveries get to finish on SIGTERM. */
  graceSeconds: number;
  /** Where log lines go (stdout by default, buffered: see StdoutLines). */
  writeLine?: (line: string) => void;
  /** Replaces the role table (tests). */
  roles?: RoleSpec[];
}

const MAX_BACKOFF_MS = 60_000;

/** How long a queue request waits for the send role (the asking command waits 10 s). */
const QUEUE_REQUEST_TIMEOUT_MS = 9_000;

/** The spawners: they finish what send gave them and stop when send has drained. */
const DELIVERY_ROLES: ReadonlySet<RoleName> = new Set(["local", "remote"]);

/** The roles that serve TLS: they get the certificate from the supervisor. */
const TLS_ROLES: ReadonlySet<RoleName> = new Set(["smtpd", "pop3d"]);

export class Supervisor {
  readonly #options: SupervisorOptions;
  readonly #roles: RunningRole[] = [];
  readonly #writeLine: (line: string) => void;
  readonly #flushLines: () => void;
  #stopping = false;
  #readyWaiters: Array<() => void> = [];
  #drainedRoles = new Set<RunningRole>();
  #onDrained: (() => void) | undefined;
  #fatal: ((message: string) => void) | undefined;
  readonly #reloads = new ReloadReport();
  /** The one reader of the TLS files; every smtpd and pop3d isolate serves what it found good. */
  readonly #tls: TlsFilesWatch;
  /** The user homes local may touch; undefined when the table came from options.roles. */
  #userHomes: string[] | undefined;
  readonly #replacing = new Map<RunningRole, Replacement>();
  /** Listener isolates handing over to successors with new permissions (listener_takeover.ts). */
  readonly #takeovers = new Takeovers<RunningRole>();
  /** Queue requests the send role has not answered yet, by number. */
  readonly #queueRequests = new PendingRequests<QueueReply>(QUEUE_REQUEST_TIMEOUT_MS);
  readonly #usage = new UsageCollector();

  /** Counts every record written and feeds the admin isolate (live log, dashboard, metrics). */
  readonly #adminFeed: AdminFeed;

  constructor(options: SupervisorOptions) {
    this.#options = options;
    const admin = options.admin !== undefined ||
      (options.roles ?? []).some((spec) => spec.name === "admin");
    this.#adminFeed = new AdminFeed((message) => this.#post("admin", message), admin);
    this.#tls = new TlsFilesWatch(options.home, (files) => {
      for (const name of TLS_ROLES) this.#post(name, { type: "tls", files });
    });
    if (options.writeLine !== undefined) {
      this.#writeLine = options.writeLine;
      this.#flushLines = () => {};
    } else {
      const stdout = new StdoutLines();
      this.#writeLine = (line) => stdout.write(line);
      this.#flushLines = () => stdout.flush();
    }
    setLogSink((record) => this.#writeLog(record), "supervisor");
  }

  #writeLog(record: LogRecord): void {
    this.#writeLine(formatLogRecord(record, this.#options.logFormat));
    this.#adminFeed.record(record);
  }

  /** Spawns every role and resolves when all have reported ready. Rejects on a fatal start error. */
  async start(): Promise<void> {
    const fatal = new Promise<never>((_, reject) => {
      this.#fatal = (message) => reject(new Error(message));
    });
    this.#tls.start();
    for (const spec of this.#options.roles ?? this.#roleTable()) {
      for (let index = 0; index < spec.count; index++) this.#spawn(spec, index, 0);
    }
    const ready = new Promise<void>((resolve) => {
      const check = () => {
        if (this.#roles.every((role) => role.ready)) resolve();
        else this.#readyWaiters.push(check);
      };
      check();
    });
    try {
      await Promise.race([ready, fatal]);
    } finally {
      // Start-up lines come before whatever the caller prints next.
      this.#flushLines();
    }
    this.#fatal = undefined;
  }

  /** The role table with what the home's files grant now. */
  #roleTable(): RoleSpec[] {
    const grants = readHomeGrants(this.#options.home);
    this.#userHomes = grants.userHomes;
    return roleTable(this.#options, grants);
  }

  #spawn(spec: RoleSpec, index: number, restarts: number): RunningRole {
    const worker = new Worker(spec.module, {
      type: "module",
      name: `${spec.name}-${index + 1}`,
      deno: { permissions: spec.permissions },
    });
    const role: RunningRole = {
      spec,
      index,
      worker,
      ready: false,
      restarts,
      startedAt: Date.now(),
      logBacklog: new LogBacklog(),
    };
    const existing = this.#roles.findIndex((r) => r.spec.name === spec.name && r.index === index);
    if (existing >= 0) this.#roles[existing] = role;
    else this.#roles.push(role);
    worker.onmessage = (event: MessageEvent<FromRole>) => this.#receive(role, event.data);
    worker.onerror = (event) => {
      event.preventDefault();
      this.#crashed(role, event.message);
    };
    worker.postMessage(
      {
        type: "start",
        settings: {
          home: this.#options.home,
          env: this.#options.env,
          options: spec.options(index),
          logBacklog: role.logBacklog.buffer,
          ...(spec.nice === undefined ? {} : { nice: spec.nice }),
          // The console serves HTTPS with the same certificate under --admin-tls.
          ...(TLS_ROLES.has(spec.name) || spec.name === "admin" ? { tls: this.#tls.files } : {}),
        },
      } satisfies ToRole,
    );
    return role;
  }

  #crashed(role: RunningRole, reason: string): void {
    role.worker.terminate();
    const current = this.#roles.find((r) => r === role);
    if (current === undefined) return;
    this.#reloads.gone(roleKey(role));
    if (this.#takeovers.retired(role)) return this.#retire(role);
    this.#takeovers.failed(role);
    if (this.#stopping) {
      this.#markDrained(role);
      return;
    }
    if (this.#fatal !== undefined && !role.ready) {
      this.#fatal(`${role.spec.name} failed to start: ${reason}`);
      return;
    }
    // A role that ran for a minute has earned a fresh backoff.
    const restarts = Date.now() - role.startedAt > 60_000 ? 0 : role.restarts + 1;
    const delay = Math.min(MAX_BACKOFF_MS, 500 * 2 ** Math.min(restarts, 7));
    logEvent(
      "role_crashed",
      `alert: ${role.spec.name} ${role.index + 1} crashed (${reason}); restarting in ${delay} ms`,
      { role: role.spec.name, index: role.index + 1, reason, delayMs: delay },
    );
    role.ready = false;
    setTimeout(() => {
      if (this.#stopping) return;
      // A planned restart's spec wins; what waited for it is lost, and peer-restarted says so.
      const spec = this.#replacing.get(role)?.spec ?? role.spec;
      this.#replacing.delete(role);
      this.#spawn(spec, role.index, restarts);
      for (const peer of RESTART_WATCHERS[role.spec.name] ?? []) {
        this.#post(peer, { type: "peer-restarted", role: role.spec.name });
      }
    }, delay);
  }

  #receive(role: RunningRole, message: FromRole): void {
    switch (message.type) {
      case "log":
        this.#writeLog(message.record);
        break;
      case "logs":
        for (const record of message.records) this.#writeLog(record);
        role.logBacklog.written(message.records.length);
        if (message.then !== undefined) this.#receive(role, message.then);
        break;
      case "ready":
        role.ready = true;
        if (message.listening !== undefined) role.listening = message.listening;
        // The console shows the counters and the records so far at once.
        if (role.spec.name === "admin") this.#adminFeed.flush();
        for (const waiter of this.#readyWaiters.splice(0)) waiter();
        // A successor listens: the isolate it replaces stops accepting and finishes its sessions.
        this.#takeovers.ready(role)?.worker.postMessage({ type: "drain" } satisfies ToRole);
        break;
      case "reload-request":
        this.reload();
        break;
      case "admin-write":
        void answerAdminWrite(this.#options.home, message, (request) => this.controlQueue(request))
          .then((answer) => role.worker.postMessage(answer));
        break;
      case "deliver":
        this.#post(message.channel ?? "local", { type: "deliver", job: message.job });
        break;
      case "report":
        this.#post("send", {
          type: "report",
          report: message.report,
          channel: role.spec.name === "remote" ? "remote" : "local",
        });
        break;
      case "auth-verify":
        this.#post("auth", { ...message, role: role.spec.name });
        break;
      case "auth-result":
        this.#postTo(message.role ?? "smtpd", message.worker - 1, message);
        break;
      case "lookup": {
        const owner = LOOKUP_ROLES[message.lookup.kind];
        if (owner !== undefined && this.#roles.some((each) => each.spec.name === owner)) {
          this.#post(owner, { ...message, role: role.spec.name });
        } else role.worker.postMessage(unanswerableLookup(message, role.spec.name));
        break;
      }
      case "lookup-result":
        this.#postTo(message.role ?? "smtpd", message.worker - 1, message);
        break;
      case "drained": {
        const replacement = this.#replacing.get(role);
        if (this.#takeovers.retired(role)) this.#retire(role);
        else if (replacement !== undefined) this.#replace(role, replacement);
        else this.#markDrained(role);
        break;
      }
      case "queue-control-result":
        this.#queueRequests.answer(message.request, message.reply);
        break;
      case "usage":
        this.#usage.answer(message.request, roleKey(role), message.usage);
        break;
      case "reloaded":
        this.#reloads.answer(message.round, roleKey(role), message.errors);
        break;
      case "fatal":
        // Said once: at start by `qmd start` ("qmd: cannot start: ..."), later in the crash line.
        if (this.#fatal !== undefined) this.#fatal(message.message);
        else this.#crashed(role, message.message);
        break;
    }
  }

  #postTo(name: RoleName, index: number, message: ToRole): void {
    this.#roles.find((role) => role.spec.name === name && role.index === index)?.worker
      .postMessage(message);
  }

  #post(name: RoleName, message: ToRole): void {
    for (const role of this.#roles) {
      if (role.spec.name !== name) continue;
      const replacement = this.#replacing.get(role);
      if (replacement !== undefined) replacement.held.push(message);
      else role.worker.postMessage(message);
    }
  }

  /**
   * SIGHUP: every role re-reads its control files and the supervisor the TLS
   * files; connections stay up. ReloadReport logs the outcome once.
   */
  reload(): void {
    logEvent("reload", "status: reloading control files");
    const problems = this.#tls.refresh(true);
    const ready = this.#roles.filter((role) => role.ready);
    const round = this.#reloads.begin(ready.map(roleKey), problems);
    for (const role of ready) {
      role.worker.postMessage({ type: "reload", round } satisfies ToRole);
    }
    this.#regrantLocal();
    this.#regrantListeners();
  }

  /** SIGHUP: smtpd and pop3d isolates hand over to successors with new permissions, if any. */
  #regrantListeners(): void {
    if (this.#stopping || this.#options.roles !== undefined) return;
    const fresh = roleTable(this.#options, readHomeGrants(this.#options.home));
    for (const { old, spec, index } of this.#takeovers.plan(this.#roles, fresh)) {
      this.#takeovers.begin(old, this.#spawn(spec, index, 0));
    }
  }

  /** A replaced listener isolate drained (or died): it ends, and nothing takes its place. */
  #retire(role: RunningRole): void {
    role.worker.terminate();
    this.#reloads.gone(roleKey(role));
    this.#roles.splice(this.#roles.indexOf(role), 1);
    if (this.#stopping) this.#markDrained(role);
  }

  /**
   * SIGHUP, when the user homes changed (users/cdb or users/assign): local's
   * permissions are fixed when its isolate starts, so it finishes the
   * deliveries in flight and restarts with the new homes. Jobs send gives it
   * meanwhile wait for the new isolate, so none is lost.
   */
  #regrantLocal(): void {
    if (this.#stopping) return;
    const before = this.#userHomes;
    const after = readUserHomes(this.#options.home);
    if (before === undefined || after === undefined || sameMembers(before, after)) return;
    this.#userHomes = after;
    const spec = localRoleSpec(this.#options, after);
    for (const role of this.#roles.filter((each) => each.spec.name === "local")) {
      const replacement = this.#replacing.get(role);
      if (replacement !== undefined) {
        replacement.spec = spec;
        continue;
      }
      this.#replacing.set(role, { spec, held: [] });
      role.worker.postMessage({ type: "drain" } satisfies ToRole);
    }
    logEvent(
      "local_regranted",
      "status: user homes changed; local restarts with the new ones when its deliveries finish",
      { homes: after.length },
    );
  }

  /** A replaced isolate has drained: its successor starts and gets what waited. */
  #replace(role: RunningRole, { spec, held }: Replacement): void {
    this.#replacing.delete(role);
    this.#reloads.gone(roleKey(role));
    role.worker.terminate();
    if (this.#stopping) {
      // No successor now: what waited stays queued, and send must not wait for it.
      this.#markDrained(role);
      if (held.some((message) => message.type === "deliver")) {
        this.#post("send", { type: "peer-restarted", role: spec.name });
      }
      return;
    }
    const successor = this.#spawn(spec, role.index, 0);
    for (const message of held) successor.worker.postMessage(message);
  }

  /** Where an isolate of `name` said it listens (the console's port when it asked for port 0). */
  listening(name: RoleName): { host: string; port: number } | undefined {
    return this.#roles.find((role) => role.spec.name === name)?.listening;
  }

  /** Each isolate's CPU time and heap (`qmd status`), the supervisor's own first. */
  usage(): Promise<IsolateUsage[]> {
    return this.#usage.collect(this.#roles.map((role) => ({
      key: roleKey(role),
      ask: (request) => role.worker.postMessage({ type: "usage", request } satisfies ToRole),
    })));
  }

  /** The certificate the TLS listeners serve, and what is wrong with the files on disk. */
  tlsStatus(): TlsStatus {
    return this.#tls.status();
  }

  /**
   * `qmd queue`, qmail-remove: the send role carries the request out (it is
   * the one writer of queue transitions) and its answer comes back here.
   */
  controlQueue(request: QueueRequest): Promise<QueueReply> {
    const answer = (error: string): QueueReply => ({ now: unixNow(), by: "send role", error });
    const send = this.#roles.find((role) => role.spec.name === "send");
    if (send === undefined || !send.ready || this.#stopping || this.#replacing.has(send)) {
      return Promise.resolve(answer("the send role is not ready"));
    }
    return this.#queueRequests.ask(
      (number) =>
        send.worker.postMessage(
          { type: "queue-control", request: number, action: request } satisfies ToRole,
        ),
      () => answer("the send role did not answer"),
    );
  }

  /** SIGALRM or `qmd flush`: every queued delivery is due now. */
  flush(): void {
    this.#post("send", { type: "flush" });
  }

  #markDrained(role: RunningRole): void {
    this.#drainedRoles.add(role);
    if (role.spec.name === "send") {
      // Nothing is in flight any more: the delivery roles can stop now.
      for (const spawner of this.#roles.filter((r) => DELIVERY_ROLES.has(r.spec.name))) {
        this.#drainedRoles.add(spawner);
      }
    }
    if (this.#roles.every((r) => this.#drainedRoles.has(r))) this.#onDrained?.();
  }

  /**
   * SIGTERM: stop accepting, let sessions and deliveries finish within the
   * grace period, then end every isolate. Work cut off by the grace period is
   * still on disk and is redone at the next start (at worst a duplicate).
   */
  async drain(): Promise<void> {
    if (this.#stopping) return;
    this.#stopping = true;
    logEvent("draining", `status: draining, grace ${this.#options.graceSeconds} s`);
    const drained = new Promise<void>((resolve) => (this.#onDrained = resolve));
    for (const role of this.#roles) {
      if (!DELIVERY_ROLES.has(role.spec.name)) {
        role.worker.postMessage({ type: "drain" } satisfies ToRole);
      }
    }
    let timer: ReturnType<typeof setTimeout> | undefined;
    const grace = new Promise<"timeout">((resolve) => {
      timer = setTimeout(() => resolve("timeout"), this.#options.graceSeconds * 1000);
    });
    const result = await Promise.race([drained, grace]);
    clearTimeout(timer);
    if (result === "timeout") {
      logEvent(
        "grace_expired",
        "warning: grace period over; stopping the remaining work (it stays queued)",
      );
    }
    for (const role of this.#roles) role.worker.terminate();
    this.#stopTimers();
    this.#flushLines();
  }

  #stopTimers(): void {
    this.#adminFeed.stop();
    this.#tls.stop();
    this.#reloads.stop();
  }

  /** Terminates every isolate at once (tests). */
  terminate(): void {
    this.#stopping = true;
    this.#stopTimers();
    for (const role of this.#roles) role.worker.terminate();
    this.#flushLines();
  }
}

function unixNow(): number {
  return Math.floor(Date.now() / 1000);
}

/** How log lines and reload answers name an isolate: "smtpd 2". */
function roleKey(role: RunningRole): string {
  return `${role.spec.name} ${role.index + 1}`;
}

/** Whether two lists hold the same strings, in any order. */
function sameMembers(a: readonly string[], b: readonly string[]): boolean {
  const set = new Set(a);
  return set.size === new Set(b).size && b.every((item) => set.has(item));
}
