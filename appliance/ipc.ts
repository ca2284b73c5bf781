/**
 * The typed messages between the supervisor and the role isolates. They play
 * the part of qmail's pipes: qmail-send → qmail-lspawn commands and reports,
 * qmail-queue's trigger, and qmail-start's signals. Everything here must
 * survive structured clone (plain data only).
 */
import type { Usage } from "./isolate_usage.ts";
import type { LogRecord } from "./log.ts";
import type { Credentials, VerifyResult } from "./auth/sasl_server.ts";
import type { TlsFiles } from "./tls/tls_files.ts";
import type { Lookup, LookupAnswer } from "./filters/filter.ts";
import type { QueueReply, QueueRequest } from "./queue/control_request.ts";

import type { CounterSnapshot } from "./log_counters.ts";

/** The roles the supervisor runs. */
export type RoleName =
  | "smtpd"
  | "send"
  | "local"
  | "remote"
  | "pop3d"
  | "admin"
  | "auth"
  | "acme";

/** What an SMTP listener is for: port 25, submission (587, AUTH first) or SMTPS (465). */
export type ListenerKind = "smtp" | "submission" | "smtps" | "pop3" | "pop3s";

/** One address a listener isolate serves, and what it is for. */
export interface ListenerAddress {
  host: string;
  port: number;
  kind: ListenerKind;
}

/**
 * What the smtpd and pop3d isolates share: the addresses, the isolate's
 * number among its role's (1-based), and the tables every isolate of the
 * role works on together (SharedArrayBuffers: open sessions per IP, failed
 * logins, which challenge mechanisms can succeed).
 */
export interface ListenerOptions {
  listen: ListenerAddress[];
  index: number;
  limits: SharedArrayBuffer;
  authFailures: SharedArrayBuffer;
  authCapabilities: SharedArrayBuffer;
}

/** Each role's own start options; `role` names the role they are for. */
interface OptionsByRole {
  smtpd: { role: "smtpd" } & ListenerOptions;
  pop3d: { role: "pop3d" } & ListenerOptions;
  /** remoteDelivery false: remote recipients stay queued (tests). */
  send: { role: "send"; remoteDelivery: boolean };
  /** qmail-start's default delivery instructions (./Maildir/ when absent). */
  local: { role: "local"; defaultDelivery?: string };
  /** The connection pool's bounds (tests and the bench; defaults 10 per destination, 10 s idle). */
  remote: { role: "remote"; maxPerDestination?: number; idleMs?: number };
  /** auth publishes which challenge mechanisms can succeed into this table. */
  auth: { role: "auth"; authCapabilities: SharedArrayBuffer };
  /** The console's address (port resolved: never 0); tls: HTTPS with control/servercert.pem. */
  admin: { role: "admin"; listen: { host: string; port: number }; tls: boolean };
  /** control/acme's renewer (started when the file exists); it reads the file itself. */
  acme: { role: "acme" };
}

/** The roles the supervisor starts. */
export type StartedRole = keyof OptionsByRole;

export type OptionsFor<R extends StartedRole> = OptionsByRole[R];

/** Any role's start options. */
export type RoleOptions = OptionsByRole[StartedRole];

/** What every role receives when it starts. */
export interface RoleSettings<R extends StartedRole = StartedRole> {
  /** Absolute path of the qmd home (QMAILHOME). */
  home: string;
  /** Environment layered for the role (QMAILQUEUE, DATABYTES, RELAYCLIENT, ...). */
  env: Record<string, string>;
  options: OptionsFor<R>;
  /** smtpd, pop3d, admin: the TLS files the supervisor checked (the last good ones). */
  tls?: TlsFiles;
  /** The isolate's count of log records posted and not yet written (log_backlog.ts). */
  logBacklog?: SharedArrayBuffer;
  /** Nice levels this isolate's thread goes below the process's (send, local, remote). */
  nice?: number;
}

/** The settings for role R, or an error when the supervisor sent another role's. */
export function settingsFor<R extends StartedRole>(
  settings: RoleSettings,
  role: R,
): RoleSettings<R> {
  if (settings.options.role !== role) {
    throw new Error(`${role} was started with ${settings.options.role}'s options`);
  }
  return settings as RoleSettings<R>;
}

/** Supervisor → role. */
export type ToRole =
  | { type: "start"; settings: RoleSettings }
  /** SIGHUP: re-read control files; keep connections; answer with `reloaded` and this round. */
  | { type: "reload"; round: number }
  /** smtpd, pop3d: serve these TLS files from the next session on (they changed). */
  | { type: "tls"; files: TlsFiles }
  /** SIGTERM: stop accepting, finish what is running, then post `drained`. */
  | { type: "drain" }
  /** SIGALRM / `qmd flush`: retry everything now (send only). */
  | { type: "flush" }
  /** `qmd status`: answer with this isolate's CPU time and heap (isolate_usage.ts). */
  | { type: "usage"; request: number }
  /** `qmd queue`, qmail-remove: an operator's queue request, numbered by the supervisor (send only). */
  | { type: "queue-control"; request: number; action: QueueRequest }
  /** send → local or remote: one delivery, as qmail-send's command to qmail-lspawn/rspawn. */
  | { type: "deliver"; job: DeliveryJob }
  /** local/remote → send: the report for one delivery; the channel says which spawner sent it. */
  | { type: "report"; report: DeliveryReport; channel?: DeliveryChannel }
  /**
   * smtpd/pop3d → auth: check credentials (the request number is the asking
   * isolate's own); `home` asks for the user's home as well (POP3).
   */
  | {
    type: "auth-verify";
    request: number;
    worker: number;
    role?: RoleName;
    credentials: Credentials;
    home?: boolean;
  }
  /** auth → smtpd/pop3d: the answer to one auth-verify. */
  | { type: "auth-result"; request: number; worker: number; role?: RoleName; result: VerifyResult }
  /** smtpd → the role that answers a filter lookup of this kind (LOOKUP_ROLES), via the supervisor. */
  | { type: "lookup"; request: number; worker: number; role?: RoleName; lookup: Lookup }
  /** The answer to one lookup, back to the asking isolate. */
  | {
    type: "lookup-result";
    request: number;
    worker: number;
    role?: RoleName;
    answer: LookupAnswer;
  }
  /** The supervisor restarted a role; work in flight with it is lost. */
  | { type: "peer-restarted"; role: RoleName }
  /** supervisor → admin: log records written since the last feed, and the counters now. */
  | { type: "admin-feed"; records: LogRecord[]; counters: CounterSnapshot }
  /** supervisor → admin: what became of one admin-write. */
  | { type: "admin-write-result"; request: number; result: AdminWriteResult };

/**
 * Records in order (worker_loop.ts rolePoster); smtpd/pop3d count them in
 * their LogBacklog. `then`: the message the role posted next, handled right
 * after the records are written (one postMessage for both).
 */
export interface LogsMessage {
  type: "logs";
  records: LogRecord[];
  then?: FromRole;
}

/** Role → supervisor. */
export type FromRole =
  | { type: "log"; record: LogRecord }
  | LogsMessage
  /** The role is up; `listening`: where it listens, when the supervisor could not know (port 0). */
  | { type: "ready"; listening?: { host: string; port: number } }
  | { type: "drained" }
  /** The answer to `usage`: this isolate's own figures. */
  | { type: "usage"; request: number; usage: Usage }
  /** The answer to `reload`: each broken control file's error (the role kept its old controls). */
  | { type: "reloaded"; round: number; errors: string[] }
  /** send → supervisor: the answer to one queue-control request. */
  | { type: "queue-control-result"; request: number; reply: QueueReply }
  /** send → the channel's delivery role: route a delivery command (default channel local). */
  | { type: "deliver"; job: DeliveryJob; channel?: DeliveryChannel }
  /** local/remote → send: route a delivery report (the supervisor adds the channel). */
  | { type: "report"; report: DeliveryReport }
  /** smtpd/pop3d → auth (routed by the supervisor, which fills in `role`). */
  | {
    type: "auth-verify";
    request: number;
    worker: number;
    role?: RoleName;
    credentials: Credentials;
    home?: boolean;
  }
  /** auth → the asking isolate (`role`, numbered `worker`). */
  | { type: "auth-result"; request: number; worker: number; role?: RoleName; result: VerifyResult }
  /** smtpd → a filter lookup another role answers (routed by the supervisor by kind). */
  | { type: "lookup"; request: number; worker: number; role?: RoleName; lookup: Lookup }
  /** The answering role → the asking isolate (`role`, numbered `worker`). */
  | {
    type: "lookup-result";
    request: number;
    worker: number;
    role?: RoleName;
    answer: LookupAnswer;
  }
  /** A fatal configuration problem: the supervisor logs it and does not restart blindly. */
  | { type: "fatal"; message: string }
  /** admin → supervisor: re-read the control files, as SIGHUP does. */
  | { type: "reload-request" }
  /** admin → supervisor: a change or queue request the admin isolate may not make itself. */
  | { type: "admin-write"; request: number; write: AdminWrite };

/**
 * The role that answers each kind of filter lookup an smtpd isolate cannot
 * answer itself (its permissions do not reach the files): whether local
 * delivery would take an address is local's question (it may read the user
 * homes), greylisting triplets live in the accounts database, which auth
 * keeps. The other kinds (dns, spf, program, callback) smtpd runs itself.
 */
export const LOOKUP_ROLES: Readonly<Partial<Record<Lookup["kind"], RoleName>>> = {
  recipient: "local",
  greylist: "auth",
};

/** The answer to a lookup no running role answers (LOOKUP_ROLES): try later. */
export function unanswerableLookup(
  message: FromRole & { type: "lookup" },
  asker: RoleName,
): ToRole {
  return {
    type: "lookup-result",
    request: message.request,
    worker: message.worker,
    role: asker,
    answer: { kind: "temporary", reason: `no role answers ${message.lookup.kind} lookups` },
  };
}

/**
 * Who is told `peer-restarted` when a role's isolate is started again, because
 * what it had asked of the old one is lost: send (deliveries in flight with
 * local and remote), smtpd (realrcptto's lookups with local; logins and
 * greylisting with auth), pop3d (logins with auth).
 */
export const RESTART_WATCHERS: Readonly<Partial<Record<RoleName, readonly RoleName[]>>> = {
  local: ["send", "smtpd"],
  remote: ["send"],
  auth: ["smtpd", "pop3d"],
};

/** A change the admin console asks the supervisor to make (admin/admin_writes.ts applies it). */
export type AdminWrite =
  /** Replaces control/NAME with these bytes, or removes it (null). */
  | { kind: "control"; name: string; bytes: Uint8Array | null }
  | { kind: "password"; address: string; password: string; challengeAuth: boolean }
  | { kind: "quota"; address: string; quotaBytes?: number; quotaMessages?: number }
  /** `qmd alias add` / `del` on ADDRESS's .qmail file (del with no targets: the whole alias). */
  | { kind: "alias"; change: "add" | "del"; address: string; targets: string[] }
  /** A queue request, carried to the send role as `qmd queue`'s are (Supervisor.controlQueue). */
  | { kind: "queue"; request: QueueRequest };

/**
 * What became of an AdminWrite: done (an alias change with what it did, a
 * queue request with the send role's reply), or refused with the reason
 * and an HTTP status.
 */
export type AdminWriteResult =
  | { ok: true; text?: string; queue?: QueueReply }
  | { ok: false; error: string; status: 400 | 404 | 500 };

/** qmail-send's two channels: qmail-lspawn's and qmail-rspawn's. */
export type DeliveryChannel = "local" | "remote";

/** One recipient of one message (docs/queue-format.md §4.6 command). */
export interface DeliveryJob {
  /** Slot number (qmail's delnum), unique among outstanding deliveries. */
  delivery: number;
  /** Message number (decimal string; it is an inode number and may exceed 2^53). */
  id: string;
  /** "NN/ID", relative to queue/mess. */
  mess: string;
  /** Envelope sender after VERP expansion. */
  sender: string;
  /** Routed recipient from the channel file. */
  recipient: string;
}

/** The spawner's report: K success, Z temporary failure, D permanent failure. */
export interface DeliveryReport {
  delivery: number;
  status: "K" | "Z" | "D";
  /** Human-readable text, normally LF-terminated lines. */
  text: string;
}

/** The worker's side of its channel to the supervisor, typed. */
export interface RolePort {
  postMessage(message: FromRole): void;
  onmessage: ((event: MessageEvent<ToRole>) => void) | null;
}

/** This isolate's port to the supervisor (the Worker global scope). */
export function rolePort(): RolePort {
  return globalThis as unknown as RolePort;
}
