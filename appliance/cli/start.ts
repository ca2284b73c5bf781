/**
 * `qmd start`: the appliance in the foreground. Creates the home on first
 * start; before any role starts, names every broken control file, refuses to
 * run twice on one queue (qmail's sendmutex) and refuses an address another
 * program holds, each as one line `qmd: cannot start: ...` and exit 111.
 * Then it spawns the roles, prints where everything is (start_banner.ts),
 * and turns signals into drain (TERM, INT), reload (HUP) and flush (ALRM).
 */
import { parseCommand, usageError } from "./args.ts";
import { resolveHome } from "../../config/home.ts";
import { findControlProblems } from "../../config/check_controls.ts";
import type { ListenerKind } from "../ipc.ts";
import { initHome } from "../home/init_home.ts";
import { type ListenAddress, Supervisor } from "../supervisor.ts";
import { DELIVERY_NICE } from "../role_table.ts";
import { queueLayoutFor } from "../queue/layout.ts";
import {
  formatListenAddress,
  type HeldAddress,
  holdListen,
  probeListen,
} from "../net/listen_probe.ts";
import type { LogFormat } from "../log.ts";
import { AuthFailures } from "../net/auth_failures.ts";
import { answerBlockRequests } from "../home/login_blocks.ts";
import { answerQueueRequests } from "../queue_control/control.ts";
import { printBanner } from "./start_banner.ts";
import { EXIT } from "../exit_codes.ts";
import { exitCodeFor, MailError } from "../mail_error.ts";

const USAGE = `usage: qmd start [--home DIR] [--smtp ADDR:PORT ...] [--submission ADDR:PORT ...]
                 [--smtps ADDR:PORT ...] [--pop3 ADDR:PORT ...] [--pop3s ADDR:PORT ...]
                 [--admin ADDR:PORT|off] [--admin-tls] [--smtpd-workers N]
                 [--delivery-nice N] [--log-format text|json] [--grace SECONDS]
                 [--default-delivery TEXT]

Runs the appliance in the foreground with its log on stdout (the banner goes
to stderr with --log-format json, so stdout holds JSON lines only).
  --home DIR          the qmd home (default $QMD_HOME, else ./qmd-home; created if missing)
  --smtp ADDR:PORT    an SMTP listener; repeat for several (default 127.0.0.1:2525)
  --submission A:P    a submission listener, AUTH before MAIL (default 127.0.0.1:2587)
  --smtps ADDR:PORT   an SMTPS listener, TLS from the first byte (default 127.0.0.1:2465)
  --pop3 ADDR:PORT    a POP3 listener, STLS offered (default 127.0.0.1:2110)
  --pop3s ADDR:PORT   a POP3S listener, TLS from the first byte (default 127.0.0.1:2995)
                      (--submission, --smtps, --pop3, --pop3s off: no such listener)
  --admin ADDR:PORT   the admin console and /metrics (default 127.0.0.1:8025; off: none)
  --admin-tls         serve the console over HTTPS with control/servercert.pem
  --smtpd-workers N   smtpd isolates sharing each port (default: number of CPUs)
  --delivery-nice N   send, local and remote run N nice levels below the sessions,
                      0 to 19 (default 10; Linux; 0: all alike)
  --log-format F      text (qmail's lines with a timestamp) or json (one object a line)
  --grace SECONDS     how long SIGTERM waits for sessions and deliveries (default 10)
  --default-delivery TEXT
                      the delivery for a user without .qmail, .qmail lines (default ./Maildir/;
                      qmail-start's first argument: ./Mailbox, |program, &address)
Signals: TERM/INT drain and exit 0, HUP re-reads control files, ALRM retries the queue now,
USR1 answers qmd status, qmd unblock and qmd queue.`;

export function parseListen(text: string): ListenAddress | undefined {
  const match = /^\[?([^\]]*?)\]?:(\d{1,5})$/.exec(text);
  if (match === null) return undefined;
  const port = Number(match[2]);
  if (port > 65535 || match[1] === "") return undefined;
  return { host: match[1], port };
}

/** A reason not to start, printed as one line `qmd: cannot start: REASON`; exit 111. */
class StartError extends MailError {
  constructor(message: string) {
    super(message, { temporary: true });
  }
}

/** Refuses a second start on one queue, as qmail-send's lock/sendmutex does. */
function checkSendMutex(path: string): void {
  let file: Deno.FsFile;
  try {
    file = Deno.openSync(path, { write: true, create: true });
  } catch (error) {
    throw new StartError(`cannot open ${path}: ${osErrorText(error)}`);
  }
  try {
    if (!file.tryLockSync(true)) {
      throw new StartError(
        `${path} is locked: qmd or qmail-send is already running on this queue`,
      );
    }
    file.unlockSync();
  } finally {
    file.close();
  }
}

/** Deno's error text without the "(os error N)" that says nothing more. */
function osErrorText(error: unknown): string {
  return (error as Error).message.replace(/ \(os error \d+\)/, "");
}

/**
 * Each address is free for this appliance alone (listen_probe.ts): not held
 * by another qmd or mail server, and not given twice. Each is then held for
 * the isolates until they listen; port 0 becomes the port the kernel chose
 * for the hold, so two listeners never get the same free port.
 */
async function holdAddresses(addresses: ListenAddress[]): Promise<HeldAddress[]> {
  const seen = new Set<string>();
  const held: HeldAddress[] = [];
  try {
    for (const address of addresses) {
      const { host, port } = address;
      if (port !== 0) {
        const where = formatListenAddress(host, port);
        if (seen.has(where)) throw new StartError(`${where} is given for two listeners`);
        seen.add(where);
        const problem = await probeListen(host, port);
        if (problem !== undefined) throw new StartError(problem);
      }
      const hold = await holdListen(host, port).catch((error: Error) => {
        throw new StartError(
          `cannot listen on ${formatListenAddress(host, port)}: ${error.message}`,
        );
      });
      held.push(hold);
      address.port = hold.port;
      seen.add(formatListenAddress(host, hold.port));
    }
  } catch (error) {
    await Promise.all(held.map((hold) => hold.release()));
    throw error;
  }
  return held;
}

/** Where the log goes, when not to stdout (qmail-start's logger: qmail_start.ts). */
export interface StartWiring {
  /** Each log line, without its newline. */
  writeLine?: (line: string) => void;
}

export async function main(args: string[], wiring: StartWiring = {}): Promise<number> {
  const parsed = parseCommand({
    name: "qmd start",
    usage: USAGE,
    positionals: false,
    options: {
      home: { type: "string" },
      smtp: { type: "string", multiple: true },
      submission: { type: "string", multiple: true },
      smtps: { type: "string", multiple: true },
      pop3: { type: "string", multiple: true },
      pop3s: { type: "string", multiple: true },
      "smtpd-workers": { type: "string" },
      "delivery-nice": { type: "string" },
      admin: { type: "string" },
      "admin-tls": { type: "boolean" },
      "log-format": { type: "string" },
      grace: { type: "string" },
      "default-delivery": { type: "string" },
    },
  }, args);
  if (!parsed.ok) return parsed.exitCode;
  const values = parsed.values;
  const home = resolveHome(values.home);
  const smtp: ListenAddress[] = [];
  const listeners: Array<[ListenerKind, string[]]> = [
    ["smtp", values.smtp ?? ["127.0.0.1:2525"]],
    ["submission", values.submission ?? ["127.0.0.1:2587"]],
    ["smtps", values.smtps ?? ["127.0.0.1:2465"]],
    ["pop3", values.pop3 ?? ["127.0.0.1:2110"]],
    ["pop3s", values.pop3s ?? ["127.0.0.1:2995"]],
  ];
  for (const [kind, texts] of listeners) {
    for (const text of texts) {
      if (text === "off" && kind !== "smtp") continue;
      const address = parseListen(text);
      if (address === undefined) {
        return usageError(
          "qmd start",
          `bad --${kind} address ${JSON.stringify(text)}, expected ADDR:PORT`,
        );
      }
      smtp.push({ ...address, kind });
    }
  }
  const adminText = values.admin ?? "127.0.0.1:8025";
  const admin = adminText === "off" ? undefined : parseListen(adminText);
  if (adminText !== "off" && admin === undefined) {
    return usageError(
      "qmd start",
      `bad --admin address ${JSON.stringify(adminText)}, expected ADDR:PORT or off`,
    );
  }
  const adminTls = values["admin-tls"] ?? false;
  if (adminTls && admin === undefined) {
    return usageError("qmd start", "--admin-tls needs the console on (not --admin off)");
  }
  const workers = Number(values["smtpd-workers"] ?? navigator.hardwareConcurrency ?? 1);
  if (!Number.isInteger(workers) || workers < 1 || workers > 64) {
    return usageError("qmd start", "--smtpd-workers must be a whole number from 1 to 64");
  }
  const deliveryNice = Number(values["delivery-nice"] ?? DELIVERY_NICE);
  if (!Number.isInteger(deliveryNice) || deliveryNice < 0 || deliveryNice > 19) {
    return usageError("qmd start", "--delivery-nice must be a whole number from 0 to 19");
  }
  const logFormat = (values["log-format"] ?? "text") as LogFormat;
  if (logFormat !== "text" && logFormat !== "json") {
    return usageError("qmd start", "--log-format must be text or json");
  }
  const graceSeconds = Number(values.grace ?? 10);
  if (!Number.isFinite(graceSeconds) || graceSeconds < 0) {
    return usageError("qmd start", "--grace must be seconds");
  }
  const defaultDelivery = values["default-delivery"];
  if (defaultDelivery !== undefined && defaultDelivery.trim() === "") {
    return usageError(
      "qmd start",
      "--default-delivery needs a delivery (./Maildir/, ./Mailbox, ...)",
    );
  }
  const isPop3 = (address: ListenAddress) => address.kind === "pop3" || address.kind === "pop3s";

  let prepared: Prepared;
  try {
    // The admin address is checked and held with the others, unless it is port 0: then the
    // admin isolate takes whatever port the kernel gives it and says which.
    const held = admin !== undefined && admin.port !== 0 ? [admin] : [];
    prepared = await prepare(home, [...smtp, ...held], smtp.some(isPop3));
  } catch (error) {
    if (!(error instanceof StartError)) throw error;
    for (const line of error.message.split("\n")) console.error(`qmd: cannot start: ${line}`);
    return exitCodeFor(error);
  }

  if (admin !== undefined && admin.port !== 0) {
    // Deno.serve cannot share a port (SO_REUSEPORT is unstable there): the console's
    // address, found free, is let go for the admin isolate to take.
    await prepared.held.pop()?.release();
  }
  // The console's address as held (port 0 resolved), and whether it serves HTTPS.
  const adminConsole = admin === undefined ? undefined : { ...admin, tls: adminTls };
  const env = Deno.env.toObject();
  // The name this process was started under is not the roles' programs' name.
  delete env.QMD_ARGV0;
  const authFailures = AuthFailures.createBuffer();
  const supervisor = new Supervisor({
    home,
    authFailures,
    smtp: smtp.filter((address) => !isPop3(address)),
    pop3: smtp.filter(isPop3),
    smtpdWorkers: workers,
    deliveryNice,
    admin: adminConsole,
    logFormat,
    graceSeconds,
    env,
    ...(defaultDelivery === undefined ? {} : { defaultDelivery }),
    ...(wiring.writeLine === undefined ? {} : { writeLine: wiring.writeLine }),
  });
  try {
    await supervisor.start();
    if (adminConsole?.port === 0) adminConsole.port = supervisor.listening("admin")?.port ?? 0;
  } catch (error) {
    console.error(`qmd: cannot start: ${(error as Error).message}`);
    supervisor.terminate();
    return EXIT.temporary;
  } finally {
    // The isolates listen now (or never will): the holds can go.
    await Promise.all(prepared.held.map((hold) => hold.release()));
  }
  const pidFile = queueLayoutFor(home).supervisorPid;
  try {
    Deno.writeTextFileSync(pidFile, `${Deno.pid}\n`, { mode: 0o644 });
    Deno.chmodSync(pidFile, 0o644); // 0644 whatever the umask
  } catch (error) {
    console.error(`qmd: cannot start: cannot write ${pidFile}: ${osErrorText(error)}`);
    await supervisor.drain();
    return EXIT.temporary;
  }
  printBanner({
    home,
    listeners: smtp,
    fresh: prepared.created,
    notes: prepared.notes,
    admin: adminConsole,
    adminPassword: prepared.adminPassword,
    tls: supervisor.tlsStatus(),
    // With a logger the log is its input: the banner goes to stderr, as with JSON lines.
    json: logFormat === "json" || wiring.writeLine !== undefined,
  });

  const stopped = new Promise<void>((resolve) => {
    const stop = () => {
      supervisor.drain().then(resolve);
    };
    Deno.addSignalListener("SIGTERM", stop);
    Deno.addSignalListener("SIGINT", stop);
  });
  Deno.addSignalListener("SIGHUP", () => supervisor.reload());
  Deno.addSignalListener("SIGALRM", () => supervisor.flush());
  // `qmd status`, `qmd unblock` and `qmd queue` left a request in queue/lock/.
  const loginBlocks = new AuthFailures(authFailures);
  Deno.addSignalListener("SIGUSR1", () => {
    answerBlockRequests(home, loginBlocks, () => supervisor.usage());
    answerQueueRequests(home, (request) => supervisor.controlQueue(request));
  });
  await stopped;
  try {
    Deno.removeSync(pidFile);
  } catch {
    // already gone
  }
  return EXIT.ok;
}

/** What prepare() made and holds. */
interface Prepared {
  created: boolean;
  notes: string[];
  held: HeldAddress[];
  /** The admin password initHome made (a home without one): the banner shows it once. */
  adminPassword?: string;
}

/**
 * Everything checked before an isolate starts: the home exists (created if
 * missing), its control files are usable, no other qmd runs on its queue,
 * and every address is free and held for the isolates (port 0 becomes the
 * kernel's choice). Returns whether a new home was created, what init noted
 * and the holds to release once the isolates listen; throws StartError.
 */
/**
 * Deno asks for every permission for any path under /dev, which the
 * isolates never have: a home there (e.g. /dev/shm) would start and then
 * fail in every isolate. Said at once, before anything is created.
 */
function refuseDeviceHome(home: string): void {
  let path = home.startsWith("/") ? home : `${Deno.cwd()}/${home}`;
  try {
    path = Deno.realPathSync(path);
  } catch {
    // Not there yet: the path as given.
  }
  if (path === "/dev" || path.startsWith("/dev/")) {
    throw new StartError(
      `the home ${home} lies under /dev, where Deno asks for every permission and the ` +
        "isolates have none; use another directory (a tmpfs mounted elsewhere for a home in memory)",
    );
  }
}

async function prepare(
  home: string,
  addresses: ListenAddress[],
  pop3: boolean,
): Promise<Prepared> {
  refuseDeviceHome(home);
  let created: boolean;
  let notes: string[];
  let adminPassword: string | undefined;
  try {
    const result = await initHome(home, {});
    created = result.created.length > 0;
    notes = result.notes;
    adminPassword = result.adminPassword;
  } catch (error) {
    const exists = (() => {
      try {
        return Deno.statSync(home).isDirectory;
      } catch {
        return false;
      }
    })();
    const what = exists ? "complete" : "create";
    throw new StartError(`cannot ${what} the home ${home}: ${osErrorText(error)}`);
  }
  const problems = findControlProblems(home, { pop3 });
  if (problems.length > 0) throw new StartError(problems.join("\n"));
  checkSendMutex(queueLayoutFor(home).sendmutex);
  const held = await holdAddresses(addresses);
  return { created, notes, held, adminPassword };
}
