/**
 * Issue 7's part of `deno task bench` (POP3): figures, never assertions.
 * On a temporary home it starts the appliance, writes a 1,000-message
 * Maildir (20 KiB each, LF line ends, mtimes an hour ago: qmail-pop3d lists
 * only messages older than the current second) and 20 small mailboxes, then
 * measures with a raw POP3 client (node:net) on loopback:
 *  - RETR of all 1,000 messages in one session, 10 RETRs in flight (CAPA
 *    PIPELINING, RFC 2449 section 6.6): messages/s and MB/s on the wire;
 *  - login rate: sessions/s of connect, greeting, USER/PASS (or APOP),
 *    STAT, QUIT from 10 concurrent clients. qmd allows one session per
 *    mailbox ([IN-USE]), so client i alternates between its own two of the
 *    20 mailboxes. qmd's PASS checks a scrypt hash; APOP (RFC 1939 section 7,
 *    md5(timestamp + password)) uses the stored challenge secret and so shows
 *    the rate without scrypt.
 *
 * When Dovecot is installed (dovecot on PATH or in /usr/sbin), the same runs
 * go against `dovecot -F`, running beside qmd (the RETR sessions of the two
 * take turns, so both meet the same load from the rest of the machine; each
 * server's CPU for them is read: qmd's pop3d isolates from `qmd status`,
 * Dovecot's pop3 and pop3-login processes from /proc), with a minimal
 * config in a temporary directory:
 * POP3 only on a kernel-chosen 127.0.0.1 port, ssl = no, plaintext passwords
 * in a passwd-file, a static userdb pointing at a copy of the same Maildirs,
 * and its high-performance login mode (pop3-login service_count = 0). Run as
 * root, the login and internal users are dovenull/dovecot (else nobody) and
 * the copy is chowned to the mail user; run as another user, everything is
 * that user and the anvil and pop3-login services do not chroot. Without Dovecot (or if it does not start) a row says why.
 *
 * Every loop is bounded in count and time; only loopback addresses are used.
 * `deno run -A tests/bench/pop3.ts` runs just this part.
 */
import net from "node:net";
import { createHash } from "node:crypto";
import { Buffer } from "node:buffer";
import process from "node:process";
import { collectOutput, makeTempHome, runQmd, startQmd } from "../harness.ts";
import type { IsolateUsage } from "../../appliance/isolate_usage.ts";

const MESSAGES = 1000;
const MESSAGE_BYTES = 20 * 1024;
const IN_FLIGHT = 10;
const LOGIN_USERS = 20;
const LOGIN_CLIENTS = 10;
const LOGIN_MAILBOX_MESSAGES = 10;
const PASSWORD = "pw";
const RETR_MAX_MS = 30_000;
const RETR_RUNS = 10;
const LOGIN_RUNS = [
  { kind: "pass" as const, count: 300, maxMs: 10_000 },
  { kind: "apop" as const, count: 3000, maxMs: 10_000 },
];
const START_WAIT_MS = 10_000;
const STOP_WAIT_MS = 5_000;
const REPLY_TIMEOUT_MS = 10_000;
const MESSAGE_AGE_SECONDS = 3600;

type LoginKind = "pass" | "apop";

interface Server {
  name: string;
  port: number;
  /** Mail user name for the 1,000-message box and the login boxes. */
  retrUser: string;
  loginUsers: string[];
  /** The server's CPU ms so far, where it can be read. */
  cpuMs?: () => Promise<number | undefined>;
}

interface RetrResult {
  ok: number;
  bytes: number;
  seconds: number;
  /** This process's (the client's) CPU seconds during the RETRs. */
  clientCpu: number;
  error?: string;
}

interface LoginResult {
  ok: number;
  inUse: number;
  failed: number;
  seconds: number;
  firstError?: string;
}

/** A realistic message of exactly `size` bytes with LF line ends (and one dot-led line). */
export function makeMessage(index: number, size: number): string {
  const date = new Date(Date.UTC(2024, 0, 1, 0, 0, index % 3600)).toUTCString()
    .replace("GMT", "+0000");
  const header = [
    `Return-Path: <sender${index % 50}@example.org>`,
    `Delivered-To: joe@example.test`,
    `Received: from mail.example.org (mail.example.org [192.0.2.${1 + (index % 200)}])`,
    `\tby mx.example.test (qmd) with ESMTP id ${index}; ${date}`,
    `Message-ID: <${index}.bench@example.org>`,
    `Date: ${date}`,
    `From: Sender ${index % 50} <sender${index % 50}@example.org>`,
    `To: Joe <joe@example.test>`,
    `Subject: Bench message ${index} about the quarterly figures`,
    `MIME-Version: 1.0`,
    `Content-Type: text/plain; charset=us-ascii`,
    "",
    "Hello Joe,",
    ".this line starts with a dot and is byte-stuffed on the way out",
    "",
  ].join("\n") + "\n";
  const line = "Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod.\n";
  let body = "";
  while (header.length + body.length + line.length < size) body += line;
  const rest = size - header.length - body.length;
  return header + body + (rest > 0 ? "x".repeat(rest - 1) + "\n" : "");
}

/** Writes `count` messages into maildir/cur with mtimes in the past. */
export function fillMaildir(maildir: string, count: number, size: number, epoch: number): void {
  for (const sub of ["cur", "new", "tmp"]) Deno.mkdirSync(`${maildir}/${sub}`, { recursive: true });
  const past = new Date((epoch - MESSAGE_AGE_SECONDS) * 1000);
  for (let i = 0; i < count; i++) {
    const text = makeMessage(i, size);
    const path = `${maildir}/cur/${epoch - MESSAGE_AGE_SECONDS}.M${i}P1.bench,S=${text.length}:2,`;
    Deno.writeTextFileSync(path, text);
    Deno.utimeSync(path, past, past);
  }
}

/**
 * A minimal POP3 client: replies are read in order from one buffer; a
 * multi-line reply ends at CRLF.CRLF (RFC 1939 section 3).
 */
class Pop3Client {
  #socket: net.Socket;
  #buffer: Buffer = Buffer.alloc(0);
  #scan = 0;
  #waiting: { multi: boolean; resolve: (reply: Buffer) => void; reject: (e: Error) => void }[] = [];
  #closed: Error | undefined;

  private constructor(socket: net.Socket) {
    this.#socket = socket;
    socket.on("data", (chunk: Buffer) => {
      this.#buffer = this.#buffer.length === 0 ? chunk : Buffer.concat([this.#buffer, chunk]);
      this.#drain();
    });
    const fail = (error: Error) => {
      this.#closed ??= error;
      for (const waiter of this.#waiting.splice(0)) waiter.reject(this.#closed);
    };
    socket.on("error", fail);
    socket.on("close", () => fail(new Error("Connection closed")));
  }

  static connect(port: number): Promise<Pop3Client> {
    return new Promise((resolve, reject) => {
      const socket = net.connect({ host: "127.0.0.1", port });
      socket.setNoDelay(true);
      const timer = setTimeout(() => {
        socket.destroy();
        reject(new Error("Connect timed out"));
      }, REPLY_TIMEOUT_MS);
      socket.once("connect", () => {
        clearTimeout(timer);
        resolve(new Pop3Client(socket));
      });
      socket.once("error", (error) => {
        clearTimeout(timer);
        reject(error);
      });
    });
  }

  #drain(): void {
    while (this.#waiting.length > 0) {
      const waiter = this.#waiting[0];
      const lineEnd = this.#buffer.indexOf("\r\n");
      if (lineEnd < 0) return;
      let end = lineEnd + 2;
      if (waiter.multi && this.#buffer[0] === 0x2b /* + */) {
        const from = Math.max(lineEnd, this.#scan);
        const terminator = this.#buffer.indexOf("\r\n.\r\n", from);
        if (terminator < 0) {
          this.#scan = Math.max(lineEnd, this.#buffer.length - 4);
          return;
        }
        end = terminator + 5;
      }
      this.#scan = 0;
      const reply = this.#buffer.subarray(0, end);
      this.#buffer = this.#buffer.subarray(end);
      this.#waiting.shift();
      waiter.resolve(reply);
    }
  }

  /** Sends `command` (without CRLF; empty for the greeting) and returns its reply promise. */
  request(command: string, multi = false): Promise<Buffer> {
    if (this.#closed !== undefined) return Promise.reject(this.#closed);
    const reply = new Promise<Buffer>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`No reply to ${command}`)), REPLY_TIMEOUT_MS);
      this.#waiting.push({
        multi,
        resolve: (value) => {
          clearTimeout(timer);
          resolve(value);
        },
        reject: (error) => {
          clearTimeout(timer);
          reject(error);
        },
      });
    });
    if (command !== "") this.#socket.write(`${command}\r\n`);
    this.#drain();
    return reply;
  }

  close(): void {
    this.#socket.destroy();
  }
}

function firstLine(reply: Buffer): string {
  const end = reply.indexOf("\r\n");
  return reply.subarray(0, end < 0 ? Math.min(reply.length, 200) : end).toString("latin1");
}

async function login(
  client: Pop3Client,
  greeting: string,
  user: string,
  kind: LoginKind,
): Promise<string> {
  if (kind === "apop") {
    const timestamp = /<[^>]*>/.exec(greeting)?.[0];
    if (timestamp === undefined) return `-ERR no APOP timestamp in greeting: ${greeting}`;
    const digest = createHash("md5").update(timestamp + PASSWORD).digest("hex");
    return firstLine(await client.request(`APOP ${user} ${digest}`));
  }
  const userReply = firstLine(await client.request(`USER ${user}`));
  if (!userReply.startsWith("+OK")) return userReply;
  return firstLine(await client.request(`PASS ${PASSWORD}`));
}

/** One session: log in, then RETR 1..N with `IN_FLIGHT` outstanding, then QUIT. */
export async function retrAll(port: number, user: string, count: number): Promise<RetrResult> {
  const client = await Pop3Client.connect(port);
  let ok = 0;
  let bytes = 0;
  let clientCpu = 0;
  const started = performance.now();
  const deadline = started + RETR_MAX_MS;
  try {
    const greeting = firstLine(await client.request(""));
    const loggedIn = await login(client, greeting, user, "pass");
    if (!loggedIn.startsWith("+OK")) {
      return { ok, bytes, seconds: 0, clientCpu, error: `login: ${loggedIn}` };
    }
    const stat = firstLine(await client.request("STAT"));
    const listed = Number(/^\+OK (\d+)/.exec(stat)?.[1] ?? 0);
    if (listed < count) return { ok, bytes, seconds: 0, clientCpu, error: `STAT: ${stat}` };
    const retrStarted = performance.now();
    const cpuBefore = process.cpuUsage();
    let next = 1;
    let error: string | undefined;
    await Promise.all(Array.from({ length: IN_FLIGHT }, async () => {
      while (next <= count && error === undefined && performance.now() < deadline) {
        const reply = await client.request(`RETR ${next++}`, true);
        if (reply[0] === 0x2b) {
          ok++;
          bytes += reply.length;
        } else {
          error ??= `RETR: ${firstLine(reply)}`;
        }
      }
    }));
    const seconds = (performance.now() - retrStarted) / 1000;
    const cpu = process.cpuUsage(cpuBefore);
    clientCpu = (cpu.user + cpu.system) / 1e6;
    await client.request("QUIT").catch(() => undefined);
    return { ok, bytes, seconds, clientCpu, error };
  } catch (caught) {
    return {
      ok,
      bytes,
      seconds: (performance.now() - started) / 1000,
      clientCpu,
      error: (caught as Error).message,
    };
  } finally {
    client.close();
  }
}

/** `count` sessions (bounded by `maxMs`) of greeting, login, STAT, QUIT from LOGIN_CLIENTS. */
async function loginRate(
  port: number,
  users: string[],
  kind: LoginKind,
  count: number,
  maxMs: number,
): Promise<LoginResult> {
  const result: LoginResult = { ok: 0, inUse: 0, failed: 0, seconds: 0 };
  let started = 0;
  const begun = performance.now();
  const deadline = begun + maxMs;
  await Promise.all(Array.from({ length: LOGIN_CLIENTS }, async (_, clientIndex) => {
    // Client i alternates between mailboxes i and i + LOGIN_CLIENTS: no two clients share one.
    const mine = users.filter((_, index) => index % LOGIN_CLIENTS === clientIndex);
    let turn = 0;
    while (started < count && performance.now() < deadline) {
      started++;
      const user = mine[turn++ % mine.length];
      let client: Pop3Client | undefined;
      try {
        client = await Pop3Client.connect(port);
        const greeting = firstLine(await client.request(""));
        const reply = await login(client, greeting, user, kind);
        if (reply.startsWith("+OK")) {
          const stat = firstLine(await client.request("STAT"));
          await client.request("QUIT");
          if (stat.startsWith("+OK")) result.ok++;
          else {
            result.failed++;
            result.firstError ??= `STAT: ${stat}`;
          }
        } else if (reply.includes("[IN-USE]")) {
          result.inUse++;
        } else {
          result.failed++;
          result.firstError ??= reply;
        }
      } catch (caught) {
        result.failed++;
        result.firstError ??= (caught as Error).message;
      } finally {
        client?.close();
      }
    }
  }));
  result.seconds = (performance.now() - begun) / 1000;
  return result;
}

interface Figures {
  retr?: RetrResult;
  /** Median messages/s over the RETR sessions. */
  retrMedian?: number;
  /** The server's CPU ms per 1,000 messages retrieved (login and listing included). */
  retrCpuMs?: number;
  logins: Map<LoginKind, LoginResult>;
}

/** Warm-up: one session per mailbox lists it once (page cache; Dovecot builds its index). */
async function warmUp(server: Server): Promise<void> {
  await retrAll(server.port, server.retrUser, 0);
  for (const user of server.loginUsers) {
    await loginRate(server.port, [user], "pass", 1, 5_000).catch(() => undefined);
  }
}

/**
 * RETR_RUNS sessions per server (each retrieves all messages; none is
 * deleted), the servers taking turns so that both meet the same load from
 * the rest of the machine: the fastest session, the median, and the
 * server's CPU for them all.
 */
async function measureRetr(servers: Server[]): Promise<Figures[]> {
  const figures: Figures[] = servers.map(() => ({ logins: new Map() }));
  const rates: number[][] = servers.map(() => []);
  const cpuBefore = await Promise.all(servers.map((server) => server.cpuMs?.()));
  let retrieved = servers.map(() => 0);
  for (let run = 0; run < RETR_RUNS; run++) {
    for (let turn = 0; turn < servers.length; turn++) {
      const index = (run + turn) % servers.length;
      const server = servers[index];
      const result = await retrAll(server.port, server.retrUser, MESSAGES);
      retrieved[index] += result.ok;
      if (result.error === undefined && result.seconds > 0) {
        rates[index].push(result.ok / result.seconds);
      }
      const best = figures[index].retr;
      if (
        best === undefined || best.error !== undefined ||
        (result.error === undefined && result.ok / result.seconds > best.ok / best.seconds)
      ) figures[index].retr = result;
    }
  }
  const cpuAfter = await Promise.all(servers.map((server) => server.cpuMs?.()));
  retrieved = retrieved.map((count) => Math.max(count, 1));
  figures.forEach((figure, index) => {
    const sorted = rates[index].sort((a, b) => a - b);
    figure.retrMedian = sorted.length === 0 ? 0 : sorted[Math.floor(sorted.length / 2)];
    const before = cpuBefore[index];
    const after = cpuAfter[index];
    if (before !== undefined && after !== undefined) {
      figure.retrCpuMs = (after - before) * 1000 / retrieved[index];
    }
  });
  return figures;
}

async function measureLogins(server: Server, figures: Figures): Promise<void> {
  for (const run of LOGIN_RUNS) {
    figures.logins.set(
      run.kind,
      await loginRate(server.port, server.loginUsers, run.kind, run.count, run.maxMs),
    );
  }
}

/** CPU ms of qmd's pop3d isolates (`qmd status --json`, each isolate's own thread). */
async function qmdPop3dCpuMs(home: string): Promise<number | undefined> {
  const status = await runQmd(["status", "--home", home, "--json"]);
  if (status.code !== 0) return undefined;
  let total = 0;
  for (const { isolate, usage } of JSON.parse(status.stdout).isolates as IsolateUsage[]) {
    if (isolate.startsWith("pop3d") && usage !== undefined) {
      total += usage.cpuUserMs + usage.cpuSystemMs;
    }
  }
  return total;
}

/**
 * CPU ms of Dovecot's POP3 side: its pop3-login processes, and the pop3
 * processes (one per session) as the master has reaped them (its children's
 * times). Auth, log and config processes are left out, as qmd's auth role is.
 */
function dovecotPop3CpuMs(masterPid: number): number | undefined {
  const ticksPerSecond = 100; // USER_HZ on Linux
  const fields = (pid: string) => {
    const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
    const name = stat.slice(stat.indexOf("(") + 1, stat.lastIndexOf(")"));
    return { name, values: stat.slice(stat.lastIndexOf(")") + 2).split(" ").map(Number) };
  };
  try {
    // After the name: state ppid ... utime (11) stime (12) cutime (13) cstime (14).
    const master = fields(String(masterPid)).values;
    let ticks = master[13] + master[14];
    for (const entry of Deno.readDirSync("/proc")) {
      if (!/^\d+$/.test(entry.name)) continue;
      try {
        const { name, values } = fields(entry.name);
        if (values[1] === masterPid && /^pop3/.test(name)) ticks += values[11] + values[12];
      } catch {
        // gone meanwhile
      }
    }
    return ticks * 1000 / ticksPerSecond;
  } catch {
    return undefined;
  }
}

function findOnPath(name: string): string | undefined {
  for (const dir of (Deno.env.get("PATH") ?? "").split(":").concat(["/usr/sbin", "/sbin"])) {
    try {
      if (dir !== "" && Deno.statSync(`${dir}/${name}`).isFile) return `${dir}/${name}`;
    } catch {
      // not here
    }
  }
  return undefined;
}

/** A free loopback port chosen by the kernel (closed again at once). */
function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  return port;
}

/** uid, gid and name from /etc/passwd. */
function passwdEntry(match: (name: string, uid: number) => boolean) {
  try {
    for (const line of Deno.readTextFileSync("/etc/passwd").split("\n")) {
      const [name, , uid, gid] = line.split(":");
      if (name && uid !== undefined && match(name, Number(uid))) {
        return { name, uid: Number(uid), gid: Number(gid) };
      }
    }
  } catch {
    // no /etc/passwd
  }
  return undefined;
}

function chownTree(path: string, uid: number, gid: number): void {
  Deno.chownSync(path, uid, gid);
  if (!Deno.statSync(path).isDirectory) return;
  for (const entry of Deno.readDirSync(path)) chownTree(`${path}/${entry.name}`, uid, gid);
}

/** Waits (bounded) for a +OK greeting on 127.0.0.1:port. */
async function waitForGreeting(port: number, maxMs: number): Promise<boolean> {
  const deadline = performance.now() + maxMs;
  while (performance.now() < deadline) {
    try {
      const client = await Pop3Client.connect(port);
      const greeting = firstLine(await client.request(""));
      client.close();
      if (greeting.startsWith("+OK")) return true;
    } catch {
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
  return false;
}

interface RunningDovecot {
  port: number;
  pid: number;
  log(): string;
  stop(): Promise<void>;
}

/** Starts `dovecot -F` on a copy of the mailboxes, or returns why it cannot. */
async function startDovecot(
  binary: string,
  dir: string,
  users: string[],
  epoch: number,
): Promise<RunningDovecot | string> {
  const uid = Deno.uid() ?? 0;
  const self = passwdEntry((_, id) => id === uid);
  if (self === undefined) return `no /etc/passwd entry for uid ${uid}`;
  // Dovecot refuses to run login processes as root; mail must not be uid 0 either.
  const login = uid === 0
    ? passwdEntry((name) => name === "dovenull") ?? passwdEntry((name) => name === "nobody")
    : self;
  const internal = uid === 0
    ? passwdEntry((name) => name === "dovecot") ?? passwdEntry((name) => name === "nobody")
    : self;
  if (login === undefined || internal === undefined) {
    return "running as root and no dovenull/dovecot/nobody user";
  }
  Deno.chmodSync(dir, 0o755);
  for (const sub of ["run", "state", "mail"]) Deno.mkdirSync(`${dir}/${sub}`);
  const mailSize = (user: string) => user === "joe" ? MESSAGES : LOGIN_MAILBOX_MESSAGES;
  for (const user of users) {
    fillMaildir(`${dir}/mail/${user}/Maildir`, mailSize(user), MESSAGE_BYTES, epoch);
  }
  if (uid === 0) chownTree(`${dir}/mail`, internal.uid, internal.gid);
  Deno.writeTextFileSync(
    `${dir}/passwd`,
    users.map((user) => `${user}:{PLAIN}${PASSWORD}::::::\n`).join(""),
    { mode: 0o644 },
  );
  const port = freePort();
  const config = `# qmd bench: minimal unprivileged-style POP3-only Dovecot
base_dir = ${dir}/run
state_dir = ${dir}/state
instance_name = qmd-bench-${port}
protocols = pop3
listen = 127.0.0.1
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain apop
default_internal_user = ${internal.name}
default_internal_group = ${groupName(internal.gid) ?? internal.gid}
default_login_user = ${login.name}
first_valid_uid = ${internal.uid}
log_path = ${dir}/dovecot.log
passdb {
  driver = passwd-file
  args = ${dir}/passwd
}
userdb {
  driver = static
  args = uid=${internal.uid} gid=${internal.gid} home=${dir}/mail/%n mail=maildir:${dir}/mail/%n/Maildir
}
service pop3-login {
  inet_listener pop3 {
    address = 127.0.0.1
    port = ${port}
  }
  inet_listener pop3s {
    port = 0
  }
  service_count = 0
  process_min_avail = ${navigator.hardwareConcurrency}${uid === 0 ? "" : "\n  chroot ="}
}
${uid === 0 ? "" : "# Not root: chroot(2) is not permitted.\nservice anvil {\n  chroot =\n}\n"}`;
  Deno.writeTextFileSync(`${dir}/dovecot.conf`, config);
  const child = new Deno.Command(binary, {
    args: ["-F", "-c", `${dir}/dovecot.conf`],
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const { text: output, done } = collectOutput(child);
  let exited = false;
  child.status.then(() => (exited = true));
  const log = () => {
    let text = output();
    try {
      text += Deno.readTextFileSync(`${dir}/dovecot.log`);
    } catch {
      // no log yet
    }
    return text;
  };
  const stop = async () => {
    if (!exited) {
      try {
        child.kill("SIGTERM");
      } catch {
        // already gone
      }
    }
    const timer = setTimeout(() => {
      try {
        child.kill("SIGKILL");
      } catch {
        // already gone
      }
    }, STOP_WAIT_MS);
    await child.status;
    clearTimeout(timer);
    await done;
  };
  const deadline = performance.now() + START_WAIT_MS;
  while (!exited && performance.now() < deadline) {
    if (await waitForGreeting(port, 500)) return { port, pid: child.pid, log, stop };
  }
  await stop();
  const reason = log().split("\n").find((line) => /Fatal|Error/.test(line)) ??
    (exited ? "exited at once" : `no greeting within ${START_WAIT_MS} ms`);
  return `did not start: ${reason.trim()}`;
}

function groupName(gid: number): string | undefined {
  try {
    for (const line of Deno.readTextFileSync("/etc/group").split("\n")) {
      const [name, , id] = line.split(":");
      if (name && Number(id) === gid) return name;
    }
  } catch {
    // no /etc/group
  }
  return undefined;
}

function retrFigure(figures: Figures): { rate: number; mbps: number; text: string } {
  const result = figures.retr;
  if (result === undefined || result.seconds <= 0) {
    return { rate: 0, mbps: 0, text: `failed (${result?.error ?? "no result"})` };
  }
  const rate = result.ok / result.seconds;
  const mbps = result.bytes / 1e6 / result.seconds;
  const error = result.error === undefined ? "" : `, ${result.error}`;
  return {
    rate,
    mbps,
    text: `${rate.toFixed(0)} msg/s (${mbps.toFixed(1)} MB/s; ${result.ok} in ${
      result.seconds.toFixed(2)
    } s, client CPU ${result.clientCpu.toFixed(2)} s; median ${
      (figures.retrMedian ?? 0).toFixed(0)
    } msg/s${error})`,
  };
}

function loginFigure(result: LoginResult | undefined): { rate: number; text: string } {
  if (result === undefined || result.seconds <= 0) return { rate: 0, text: "no result" };
  const rate = result.ok / result.seconds;
  const extras = [
    result.inUse > 0 ? `${result.inUse} [IN-USE]` : "",
    result.failed > 0 ? `${result.failed} failed: ${result.firstError}` : "",
  ].filter((part) => part !== "").join(", ");
  return {
    rate,
    text: `${rate.toFixed(0)} sessions/s (${result.ok} in ${result.seconds.toFixed(2)} s${
      extras === "" ? "" : `; ${extras}`
    })`,
  };
}

function ratio(qmd: number, other: number): string {
  return other > 0 ? (qmd / other).toFixed(2) : "n/a";
}

/** Problem lines (errors, alerts, fatals) in a server's output, at most three. */
function problems(text: string): string[] {
  return text.split("\n").filter((line) => /\b(error|alert|fatal|panic)\b/i.test(line))
    .slice(0, 3);
}

export async function pop3Bench(): Promise<string[]> {
  const rows: string[] = [];
  const home = await makeTempHome(Deno.env.get("QMD_BENCH_DIR"));
  const root = home.replace(/\/home$/, "");
  const epoch = Math.floor(Date.now() / 1000);
  const loginUsers = Array.from(
    { length: LOGIN_USERS },
    (_, i) => `u${String(i + 1).padStart(2, "0")}`,
  );
  let dovecotDir: string | undefined;
  try {
    await runQmd(["init", "--home", home, "--me", "mx.example.test"]);
    for (const user of ["joe", ...loginUsers]) {
      const added = await runQmd([
        "user",
        "add",
        `${user}@example.test`,
        "--password-stdin",
        "--challenge-auth",
        "--home",
        home,
      ], { stdin: `${PASSWORD}\n` });
      if (added.code !== 0) throw new Error(`qmd user add ${user}: ${added.stderr.trim()}`);
      const maildir = `${home}/mail/example.test/${user}/Maildir`;
      fillMaildir(
        maildir,
        user === "joe" ? MESSAGES : LOGIN_MAILBOX_MESSAGES,
        MESSAGE_BYTES,
        epoch,
      );
    }
    // Both servers run side by side: their RETR sessions take turns (measureRetr).
    const qmd = await startQmd(home);
    let qmdFigures: Figures;
    let dovecotFigures: Figures | undefined;
    let dovecotNote = "";
    let dovecotProblems: string[] = [];
    const binary = findOnPath("dovecot");
    let dovecot: RunningDovecot | string | undefined;
    try {
      const servers: Server[] = [{
        name: "qmd",
        port: qmd.pop3Port,
        retrUser: "joe@example.test",
        loginUsers: loginUsers.map((user) => `${user}@example.test`),
        cpuMs: () => qmdPop3dCpuMs(home),
      }];
      if (binary === undefined) {
        dovecotNote = "dovecot: not installed (no dovecot on PATH, /usr/sbin or /sbin)";
      } else {
        dovecotDir = await Deno.makeTempDir({
          prefix: "qmd-bench-dovecot-",
          dir: Deno.env.get("QMD_BENCH_DIR"),
        });
        dovecot = await startDovecot(binary, dovecotDir, ["joe", ...loginUsers], epoch);
        if (typeof dovecot === "string") {
          dovecotNote = `dovecot: ${dovecot}`;
        } else {
          const pid = dovecot.pid;
          servers.push({
            name: "dovecot",
            port: dovecot.port,
            retrUser: "joe",
            loginUsers,
            cpuMs: () => Promise.resolve(dovecotPop3CpuMs(pid)),
          });
        }
      }
      for (const server of servers) await warmUp(server);
      const figures = await measureRetr(servers);
      for (const [index, server] of servers.entries()) {
        await measureLogins(server, figures[index]);
      }
      qmdFigures = figures[0];
      dovecotFigures = figures[1];
    } finally {
      await qmd.stop();
      if (typeof dovecot === "object") {
        await dovecot.stop();
        dovecotProblems = problems(dovecot.log());
      }
    }
    const qmdProblems = problems(qmd.output());

    const q = retrFigure(qmdFigures);
    const retrHead = `POP3 RETR ${MESSAGES.toLocaleString("en")} x ${
      MESSAGE_BYTES / 1024
    } KiB, one session, ${IN_FLIGHT} in flight, best of ${RETR_RUNS} sessions: qmd ${q.text}`;
    if (dovecotFigures === undefined) {
      rows.push(retrHead);
    } else {
      const d = retrFigure(dovecotFigures);
      rows.push(
        `${retrHead}; dovecot ${d.text}; ratio qmd/dovecot ${ratio(q.rate, d.rate)} (target >= 1)`,
      );
      rows.push(
        `POP3 RETR median of ${RETR_RUNS} sessions (taking turns): qmd ${
          (qmdFigures.retrMedian ?? 0).toFixed(0)
        } msg/s, dovecot ${(dovecotFigures.retrMedian ?? 0).toFixed(0)} msg/s; ratio ${
          ratio(qmdFigures.retrMedian ?? 0, dovecotFigures.retrMedian ?? 0)
        }`,
      );
    }
    const cpu = (figures: Figures | undefined) =>
      figures?.retrCpuMs === undefined ? "n/a" : `${figures.retrCpuMs.toFixed(0)} ms`;
    rows.push(
      `POP3 server CPU per 1,000 RETR (login and listing included): qmd pop3d ${cpu(qmdFigures)}` +
        (dovecotFigures === undefined
          ? ""
          : `, dovecot pop3 + pop3-login ${cpu(dovecotFigures)}; ratio dovecot/qmd ${
            ratio(dovecotFigures.retrCpuMs ?? 0, qmdFigures.retrCpuMs ?? 0)
          } (higher = qmd cheaper)`),
    );
    const labels: Record<LoginKind, string> = {
      pass: "USER/PASS (qmd: scrypt; dovecot: plaintext passwd-file)",
      apop: "APOP (no scrypt on either side)",
    };
    for (const run of LOGIN_RUNS) {
      const ql = loginFigure(qmdFigures.logins.get(run.kind));
      const head = `POP3 login rate, ${LOGIN_CLIENTS} clients, ${LOGIN_USERS} mailboxes, ${
        labels[run.kind]
      } + STAT + QUIT: qmd ${ql.text}`;
      if (dovecotFigures === undefined) {
        rows.push(head);
      } else {
        const dl = loginFigure(dovecotFigures.logins.get(run.kind));
        rows.push(
          `${head}; dovecot ${dl.text}; ratio qmd/dovecot ${ratio(ql.rate, dl.rate)} (target >= 1)`,
        );
      }
    }
    if (dovecotNote !== "") rows.push(`POP3 ${dovecotNote}; qmd figures only`);
    else {
      rows.push(
        `POP3 dovecot: ${binary} -F, POP3 only on loopback, ssl = no, plaintext passwd-file, ` +
          `pop3-login service_count = 0 (high-performance mode)`,
      );
    }
    for (const line of qmdProblems) rows.push(`POP3 qmd output: ${line.trim()}`);
    for (const line of dovecotProblems) rows.push(`POP3 dovecot log: ${line.trim()}`);
  } catch (error) {
    rows.push(`POP3 bench failed: ${(error as Error).message}`);
  } finally {
    for (const dir of [root, dovecotDir]) {
      if (dir === undefined) continue;
      try {
        await Deno.remove(dir, { recursive: true });
      } catch {
        // already gone
      }
    }
  }
  return rows;
}

if (import.meta.main) {
  for (const row of await pop3Bench()) console.log(`  ${row}`);
}
