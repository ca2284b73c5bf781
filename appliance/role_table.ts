/**
 * The role table: what each isolate runs, how many of it, its start options
 * and what it may touch. This is qmail's privilege separation in Deno's
 * terms: smtpd can write only the queue's intake directories and cannot read
 * a Maildir; local cannot open sockets; send has no network and runs no
 * programs. What the home's files grant (user homes, programs to run) is
 * read through config/, the same readers the roles use.
 */
import type { ListenerAddress, ListenerKind, OptionsFor, StartedRole } from "./ipc.ts";
import { homePaths } from "../config/home.ts";
import { ControlError } from "../config/control.ts";
import { readAssignedHomes } from "../config/users.ts";
import { readPop3Homes } from "../config/pop3d.ts";
import { readCheckpassword } from "../config/checkpassword.ts";
import { readExtraRemote } from "../config/remote.ts";
import { loadTcpRules } from "../config/tcprules.ts";
import { clamdSocketPath, loadClamdControls } from "../config/clamd.ts";
import { loadRcptCheck, readRecipientsList, recipientCdbPath } from "../config/recipient_checks.ts";
import { createLimitsBuffer } from "./net/connection_limits.ts";
import { AuthFailures } from "./net/auth_failures.ts";
import { AuthCapabilities } from "./net/auth_capabilities.ts";
import { extraRemotePath } from "./remote/extra_remote.ts";
import { mailSecurityDirectory } from "./remote/mta_sts_cache.ts";
import { loadMailSecurityControls } from "../config/mail_security.ts";
import { INTAKE_DIRECTORIES, lockFile, queueDirectory } from "./queue/layout.ts";
import { type AcmeControls, loadAcmeControls } from "../config/acme.ts";

/** A listener as `qmd start` names it; the kind defaults to smtp. */
export interface ListenAddress {
  host: string;
  port: number;
  kind?: ListenerKind;
}

/** What the table is built from: `qmd start`'s choices. */
export interface RoleTableOptions {
  home: string;
  /** SMTP, submission and SMTPS listeners, each with its kind. */
  smtp: ListenAddress[];
  smtpdWorkers: number;
  /** POP3 and POP3S listeners (kinds pop3, pop3s); none = no pop3d role. */
  pop3?: ListenAddress[];
  /** Environment passed to the roles (RELAYCLIENT, DATABYTES, QMAILQUEUE, ...). */
  env: Record<string, string>;
  /** The failed-login table (AuthFailures.createBuffer), kept by `qmd start` for `qmd unblock`. */
  authFailures?: SharedArrayBuffer;
  /**
   * The admin console's address and whether it serves HTTPS; none = off. Port 0: the admin
   * isolate takes the port the kernel gives it and reports it (RunningRole.listening).
   */
  admin?: { host: string; port: number; tls?: boolean };
  /** qmail-start's default delivery, for a user without .qmail (absent: ./Maildir/). */
  defaultDelivery?: string;
  /** Nice levels below the process for send, local and remote (default DELIVERY_NICE; 0: none). */
  deliveryNice?: number;
}

/** One role: its Worker module, how many isolates, their permissions and start options. */
export type RoleSpec = {
  [R in StartedRole]: {
    name: R;
    module: URL;
    count: number;
    permissions: Deno.PermissionOptionsObject;
    options: (index: number) => OptionsFor<R>;
    /** Nice levels the isolate's thread goes below the process's (inBackground). */
    nice?: number;
  };
}[StartedRole];

/**
 * How many nice levels the delivery roles (send, local, remote) run below
 * the process by default (`qmd start --delivery-nice`). When the CPU is
 * short, the SMTP and POP3 sessions, whose clients wait, go first, and the
 * delivery isolates catch up afterwards. Measured: sessions accepted a third
 * faster or more under load, the end-to-end rate the same within the runs'
 * spread (README, issue 16's sixth round).
 */
export const DELIVERY_NICE = 10;

/**
 * `spec` with its thread `nice` levels lower (default DELIVERY_NICE); Linux only (nice is per
 * thread there).
 */
function inBackground<S extends RoleSpec>(spec: S, nice = DELIVERY_NICE): S {
  if (nice <= 0 || Deno.build.os !== "linux") return spec;
  const sys = spec.permissions.sys;
  return {
    ...spec,
    nice,
    permissions: {
      ...spec.permissions,
      sys: sys === true ? true : [...(sys || []), "getPriority", "setPriority"],
    },
  };
}

/** What the home's files grant the roles, each read through config/. */
export interface HomeGrants {
  /** users/cdb's homes, else users/assign's: local reads and writes them, pop3d serves them. */
  userHomes: string[];
  /** control/pop3homes: the trees of checkpassword users' homes, for pop3d. */
  pop3Homes: string[];
  /** control/checkpassword's command line, run by auth. */
  checkpassword: string[] | undefined;
  /** control/extraremote: remote runs HOME/bin/qmail-remote.extra. */
  extraRemote: boolean;
  /** control/tlsrpt: remote queues the daily TLS-RPT reports (qmail-queue's intake). */
  tlsRpt?: boolean;
  /** QMAILQUEUE programs named in tcp.smtp (or tcp.smtp.cdb), run by smtpd. */
  qmailQueues: string[];
  /** control/clamd's Unix socket, which smtpd connects to (docs/patches.md seed 000, md24). */
  clamdSocket?: string;
  /** control/rcptcheck's program and RCPTCHECK programs in tcp.smtp, run by smtpd. */
  rcptChecks: string[];
  /** The cdbs control/recipients lists (recipientchk 2), read by smtpd. */
  recipientCdbs: string[];
  /** control/acme: absent (no acme role), broken (the role starts, reports it and stops) or read. */
  acme?: { controls: AcmeControls | undefined };
}

/**
 * A file that is broken grants nothing: the role that reads it reports it
 * (at start: qmd does not start).
 */
function orNothing<T>(read: () => T, nothing: T): T {
  try {
    return read();
  } catch (error) {
    if (error instanceof ControlError) return nothing;
    throw error;
  }
}

/**
 * The user homes the local role may read and write, or undefined when the
 * users file cannot be read (malformed, a bad cdb, unreadable): the caller
 * keeps what it had, and local reports the file when a delivery needs it.
 */
export function readUserHomes(home: string): string[] | undefined {
  try {
    return readAssignedHomes(home);
  } catch {
    return undefined;
  }
}

/** Reads what the home's files grant, now. Fixed until the isolates restart. */
export function readHomeGrants(home: string): HomeGrants {
  return {
    userHomes: readUserHomes(home) ?? [],
    pop3Homes: orNothing(() => readPop3Homes(home), []),
    checkpassword: orNothing(() => readCheckpassword(home), undefined),
    extraRemote: orNothing(() => readExtraRemote(home), false),
    tlsRpt: orNothing(() => loadMailSecurityControls(home).tlsRpt, false),
    qmailQueues: orNothing(
      () => loadTcpRules(homePaths(home).tcpSmtp)?.valuesOf("QMAILQUEUE") ?? [],
      [],
    ),
    clamdSocket: orNothing(() => clamdSocketPath(loadClamdControls(home)), undefined),
    rcptChecks: [
      ...orNothing(() => [loadRcptCheck(home).program ?? ""], []),
      ...orNothing(() => loadTcpRules(homePaths(home).tcpSmtp)?.valuesOf("RCPTCHECK") ?? [], []),
    ].filter((program) => program !== ""),
    recipientCdbs: orNothing(
      () => readRecipientsList(home).map(({ file }) => recipientCdbPath(home, file)),
      [],
    ),
    acme: orNothing<HomeGrants["acme"]>(() => {
      const controls = loadAcmeControls(home);
      return controls === undefined ? undefined : { controls };
    }, { controls: undefined }),
  };
}

/** A run permission: /bin/sh (which starts them) and the programs, or none at all. */
function runThroughShell(programs: readonly string[]): string[] | false {
  return programs.length === 0 ? false : ["/bin/sh", ...programs];
}

/** The queue directories smtpd and a forwarding local delivery write (qmail-queue's). */
function intakePaths(queue: string): string[] {
  return [
    ...INTAKE_DIRECTORIES.map((name) => queueDirectory(queue, name)),
    lockFile(queue, "trigger"),
  ];
}

/** The accounts database and SQLite's files beside it. */
function accountsPaths(accounts: string): string[] {
  return [accounts, `${accounts}-wal`, `${accounts}-shm`, `${accounts}-journal`];
}

/**
 * The admin console: it reads the whole home (queue, controls, traces,
 * accounts) and writes only its own state, HOME/admin (password hash,
 * tokens, the control files' history, the scratch copy where an edit is
 * checked). A control file or an account it changes is written by the
 * supervisor on its request (admin/admin_writes.ts). It listens on its one
 * address and connects nowhere.
 */
function adminRoleSpec(
  home: string,
  admin: { host: string; port: number; tls?: boolean },
): RoleSpec {
  const listen = { host: admin.host, port: admin.port };
  return {
    name: "admin",
    module: new URL("./roles/admin.ts", import.meta.url),
    count: 1,
    permissions: {
      read: [home],
      write: [`${home}/admin`],
      net: [`${listen.host.includes(":") ? `[${listen.host}]` : listen.host}:${listen.port}`],
      env: false,
      run: false,
      ffi: false,
      sys: false,
      import: false,
    },
    options: () => ({ role: "admin", listen, tls: admin.tls ?? false }),
  };
}

/**
 * control/acme's renewer (roles/acme.ts): it connects to the CA's directory
 * host only, listens on control/acme's http address only (HTTP-01), reads
 * control/ (control/acme, control/me, servercert.pem), HOME/acme and the ca
 * file, and writes HOME/acme (account key, state) and servercert.pem through
 * a temporary file beside it. A broken control/acme grants no network: the role
 * reports the file and stops.
 */
function acmeRoleSpec(home: string, controls: AcmeControls | undefined): RoleSpec {
  const paths = homePaths(home);
  const state = `${home}/acme`;
  const certificate = `${paths.control}/servercert.pem`;
  const net = controls === undefined ? false : [
    new URL(controls.directory).host || "",
    `${
      controls.http.host.includes(":") ? `[${controls.http.host}]` : controls.http.host
    }:${controls.http.port}`,
  ];
  return {
    name: "acme",
    module: new URL("./roles/acme.ts", import.meta.url),
    count: 1,
    permissions: {
      read: [paths.control, state, ...(controls?.caFile === undefined ? [] : [controls.caFile])],
      // servercert.pem is replaced through servercert.pem.tmp.PID (control_files.ts); isolates
      // are threads of this process, so the PID is this one.
      write: [state, certificate, `${certificate}.tmp.${Deno.pid}`],
      net,
      // Read only: npm debug (inside acme-client) lists the environment when it loads, and
      // axios reads HTTPS_PROXY and NO_PROXY, which an operator behind a proxy needs.
      env: true,
      run: false,
      ffi: false,
      sys: false,
      import: false,
    },
    options: () => ({ role: "acme" }),
  };
}

/**
 * The local role with these user homes: SIGHUP rebuilds it when the homes
 * change (the supervisor restarts local with it).
 */
export function localRoleSpec(
  { home, defaultDelivery, deliveryNice }: Pick<
    RoleTableOptions,
    "home" | "defaultDelivery" | "deliveryNice"
  >,
  userHomes: readonly string[],
): RoleSpec {
  const paths = homePaths(home);
  return inBackground({
    name: "local",
    module: new URL("./roles/local.ts", import.meta.url),
    count: 1,
    permissions: {
      // Delivery reads a user's home (its mode, .qmail files, Maildir) before writing to it:
      // homes outside the qmd home (/home/joe) need both.
      read: [paths.home, ...userHomes],
      write: [
        paths.mail,
        paths.alias,
        ...intakePaths(paths.queue),
        ...accountsPaths(paths.accounts),
        ...userHomes,
      ],
      // |program lines in .qmail files run as qmail-local would run them.
      run: true,
      env: true,
      sys: ["hostname", "uid", "gid"],
      net: false,
      ffi: false,
      import: false,
    },
    options: () => ({
      role: "local",
      ...(defaultDelivery === undefined ? {} : { defaultDelivery }),
    }),
  }, deliveryNice);
}

/** The table for these options; `grants` as read from the home unless given. */
export function roleTable(
  options: RoleTableOptions,
  grants: HomeGrants = readHomeGrants(options.home),
): RoleSpec[] {
  const paths = homePaths(options.home);
  // Shared by every smtpd isolate: connection counts per IP.
  const limits = createLimitsBuffer();
  const pop3Limits = createLimitsBuffer();
  // One failed-login table for SMTP AUTH and POP3: guessing on both counts together.
  const authFailures = options.authFailures ?? AuthFailures.createBuffer();
  // Which challenge mechanisms can succeed: written by auth, read by the listeners.
  const authCapabilities = AuthCapabilities.createBuffer();
  const q = paths.queue;
  const intake = intakePaths(q);
  const accounts = accountsPaths(paths.accounts);
  const listeners = (addresses: readonly ListenAddress[]): ListenerAddress[] =>
    addresses.map((address) => ({ ...address, kind: address.kind ?? "smtp" }));
  // QMAILQUEUE from the environment and from tcp.smtp; "" means the built-in queue.
  const qmailQueues = [...new Set([options.env.QMAILQUEUE ?? "", ...grants.qmailQueues])]
    .filter((program) => program !== "");
  // The rcptcheck programs, started directly (no shell): the environment's, the control
  // file's and tcp.smtp's. One named later is runnable after a reload (listener_takeover.ts).
  const rcptChecks = [...new Set([options.env.RCPTCHECK ?? "", ...grants.rcptChecks])]
    .filter((program) => program !== "");
  // recipientchk 2's cdbs: qmd recipients' default one and those control/recipients lists.
  const recipientCdbs = [
    ...new Set([`${paths.home}/users/recipients.cdb`, ...grants.recipientCdbs]),
  ];
  const pop3 = options.pop3 ?? [];
  const clamdSocket = grants.clamdSocket === undefined ? [] : [grants.clamdSocket];
  const table: RoleSpec[] = [
    inBackground({
      name: "send",
      module: new URL("./roles/send.ts", import.meta.url),
      count: 1,
      permissions: {
        read: [paths.control, q],
        write: [q],
        env: false,
        net: false,
        run: false,
        ffi: false,
        // The u record of an injected bounce's envelope (qmail-queue's getuid()).
        sys: ["uid"],
        import: false,
      },
      options: () => ({ role: "send", remoteDelivery: true }),
    }, options.deliveryNice),
    localRoleSpec(options, grants.userHomes),
    inBackground({
      name: "remote",
      module: new URL("./roles/remote.ts", import.meta.url),
      count: 1,
      permissions: {
        // Controls (tlshosts/, clientcert.pem, dkim/ keys), the messages, the tcpto table, and
        // the MTA-STS policy cache (HOME/mailsec).
        read: [
          paths.control,
          queueDirectory(q, "mess"),
          lockFile(q, "tcpto"),
          "/etc/resolv.conf",
          mailSecurityDirectory(options.home),
        ],
        // With control/tlsrpt also qmail-queue's intake, for the daily TLS-RPT reports.
        write: [
          lockFile(q, "tcpto"),
          mailSecurityDirectory(options.home),
          ...(grants.tlsRpt ? intakePaths(q) : []),
        ],
        net: true,
        env: false,
        // control/extraremote: the wrapper, started by /bin/sh under qmail-start's umask 077.
        run: runThroughShell(grants.extraRemote ? [extraRemotePath(options.home)] : []),
        ffi: false,
        // ipme needs the interface addresses (qmail's ipme_init); verified TLS (MTA-STS)
        // the system's root certificates.
        // A queued TLS-RPT report's u record (qmail-queue's getuid()).
        sys: ["networkInterfaces", "hostname", "ca", ...(grants.tlsRpt ? ["uid" as const] : [])],
        import: false,
      },
      options: () => ({ role: "remote" }),
    }, options.deliveryNice),
    {
      name: "auth",
      module: new URL("./roles/auth.ts", import.meta.url),
      count: 1,
      permissions: {
        // The account database and control/checkpassword; nothing else of the home.
        read: [paths.control, ...accounts],
        // Greylisting's triplets live in the accounts database (accounts/greylist_store.ts):
        // auth writes them for smtpd, which may not touch the database itself.
        write: accounts,
        // control/checkpassword's programs, through /bin/sh for the fd 3 interface.
        run: runThroughShell((grants.checkpassword ?? []).filter((word) => word.startsWith("/"))),
        env: false,
        net: false,
        ffi: false,
        sys: false,
        import: false,
      },
      options: () => ({ role: "auth", authCapabilities }),
    },
    {
      name: "smtpd",
      module: new URL("./roles/smtpd.ts", import.meta.url),
      count: options.smtpdWorkers,
      permissions: {
        // /etc/resolv.conf: the name servers of the filter checks' DNS lookups without
        // control/dnsservers (appliance/net/filter_lookups.ts), as remote reads it. A Unix
        // socket (control/clamd's) is connected to with read and write permission on its path.
        // log/trace: each session's decisions (appliance/trace/store.ts appends and prunes).
        read: [
          paths.control,
          paths.tcpSmtp,
          `${paths.tcpSmtp}.cdb`,
          ...intake,
          "/etc/resolv.conf",
          ...recipientCdbs,
          paths.trace,
          ...clamdSocket,
        ],
        write: [...intake, paths.trace, ...clamdSocket],
        net: true,
        env: false,
        // QMAILQUEUE programs, started by /bin/sh with the envelope on fd 1; rcptcheck's.
        run: runThroughShell([...qmailQueues, ...rcptChecks]),
        ffi: false,
        sys: ["hostname", "uid"],
        import: false,
      },
      options: (index) => ({
        role: "smtpd",
        listen: listeners(options.smtp),
        index: index + 1,
        limits,
        authFailures,
        authCapabilities,
      }),
    },
  ];
  if (options.admin !== undefined) table.push(adminRoleSpec(options.home, options.admin));
  if (grants.acme !== undefined) table.push(acmeRoleSpec(options.home, grants.acme.controls));
  if (pop3.length > 0) {
    table.push({
      name: "pop3d",
      module: new URL("./roles/pop3d.ts", import.meta.url),
      count: options.smtpdWorkers,
      permissions: {
        // Mailboxes: virtual ones under mail/, the user homes, and for
        // checkpassword users the trees named in control/pop3homes.
        read: [paths.control, paths.mail, ...grants.userHomes, ...grants.pop3Homes],
        write: [paths.mail, ...grants.userHomes, ...grants.pop3Homes],
        net: true,
        env: false,
        run: false,
        ffi: false,
        sys: ["hostname"],
        import: false,
      },
      options: (index) => ({
        role: "pop3d",
        listen: listeners(pop3),
        index: index + 1,
        limits: pop3Limits,
        authFailures,
        authCapabilities,
      }),
    });
  }
  return table;
}
