/**
 * Issue 5's part of `deno task bench` (the SMTP front door): figures, never
 * assertions. On temporary homes it measures
 *  - accepted/s with STARTTLS per message at 10 sessions, against the same
 *    sessions without TLS;
 *  - accepted/s with AUTH PLAIN and with AUTH CRAM-MD5 per message at 10
 *    sessions;
 *  - the appliance's RSS while it holds 10,000 idle connections (target
 *    under 512 MB);
 *  - a 2,000-connection flood from one IP with the per-IP limit at 20, while
 *    legitimate sessions come from another IP.
 * Every loop is bounded in count and time; only loopback addresses are used
 * (client sockets bind 127.0.0.2 and up to act as different IPs).
 * `deno run -A tests/bench/front_door.ts` runs just this part.
 */
import { MESSAGE as BENCH_MESSAGE } from "./smtp_load.ts";
import net from "node:net";
import tls from "node:tls";
import { cramResponse, plainInitialResponse } from "../../appliance/auth/sasl_client.ts";
import { makeTempHome, type RunningQmd, runQmd, startQmd } from "../harness.ts";

const TARGETS = { idleRssMb: 512 };
const ME = "mx.example.test";
const USER = "joe@example.test";
const PASSWORD = "bench password 5";
/** The load tool's 2 KiB message (smtp_load.ts), with CR LF line ends and the final dot. */
const MESSAGE = BENCH_MESSAGE.replace(/\n/g, "\r\n") + ".\r\n";
const REPLY_TIMEOUT_MS = 15_000;
const LATIN1 = new TextDecoder("latin1");

/** A raw SMTP client over node:net, upgradable to TLS, with a bounded wait for every reply. */
class BenchClient {
  #socket: net.Socket;
  #buffer = "";
  #closed = false;
  #wake: (() => void) | undefined;
  #onData = (chunk: Uint8Array) => {
    this.#buffer += LATIN1.decode(chunk);
    this.#notify();
  };
  #onEnd = () => {
    this.#closed = true;
    this.#notify();
  };

  private constructor(socket: net.Socket) {
    this.#socket = socket;
    this.#attach();
  }

  /** Connects to 127.0.0.1:port, from localAddress when given. */
  static connect(
    port: number,
    options: { localAddress?: string; timeoutMs?: number } = {},
  ): Promise<BenchClient> {
    return new Promise((resolve, reject) => {
      const socket = net.connect({ host: "127.0.0.1", port, localAddress: options.localAddress });
      const timer = setTimeout(() => {
        socket.destroy();
        reject(new Error("connect timed out"));
      }, options.timeoutMs ?? REPLY_TIMEOUT_MS);
      socket.once("error", (error) => {
        clearTimeout(timer);
        reject(error);
      });
      socket.once("connect", () => {
        clearTimeout(timer);
        socket.removeAllListeners("error");
        socket.on("error", () => {});
        resolve(new BenchClient(socket));
      });
    });
  }

  #attach(): void {
    this.#socket.on("data", this.#onData);
    this.#socket.on("end", this.#onEnd);
    this.#socket.on("close", this.#onEnd);
  }

  #detach(): void {
    this.#socket.off("data", this.#onData);
    this.#socket.off("end", this.#onEnd);
    this.#socket.off("close", this.#onEnd);
  }

  #notify(): void {
    const wake = this.#wake;
    this.#wake = undefined;
    wake?.();
  }

  /** One complete reply (possibly multi-line); rejects on close or after timeoutMs. */
  async reply(timeoutMs = REPLY_TIMEOUT_MS): Promise<string> {
    const deadline = performance.now() + timeoutMs;
    while (true) {
      const lines = this.#buffer.split("\r\n");
      for (let i = 0; i < lines.length - 1; i++) {
        if (/^\d{3}( |$)/.test(lines[i])) {
          this.#buffer = lines.slice(i + 1).join("\r\n");
          return lines.slice(0, i + 1).join("\r\n");
        }
      }
      if (this.#closed) {
        throw new Error(`connection closed; buffered ${JSON.stringify(this.#buffer)}`);
      }
      const left = deadline - performance.now();
      if (left <= 0) throw new Error(`no reply within ${timeoutMs} ms`);
      let timer: ReturnType<typeof setTimeout> | undefined;
      await new Promise<void>((resolve) => {
        this.#wake = resolve;
        timer = setTimeout(resolve, left);
      });
      clearTimeout(timer);
    }
  }

  send(text: string): void {
    this.#socket.write(text);
  }

  async command(line: string): Promise<string> {
    this.send(line + "\r\n");
    return await this.reply();
  }

  /** After a 220 to STARTTLS: the TLS handshake over the same socket. */
  startTls(ca: string, servername: string): Promise<void> {
    this.#detach();
    const raw = this.#socket;
    return new Promise((resolve, reject) => {
      const secure = tls.connect({ socket: raw, ca, servername });
      const timer = setTimeout(() => {
        secure.destroy();
        reject(new Error("TLS handshake timed out"));
      }, REPLY_TIMEOUT_MS);
      secure.once("error", (error) => {
        clearTimeout(timer);
        reject(error);
      });
      secure.once("secureConnect", () => {
        clearTimeout(timer);
        secure.removeAllListeners("error");
        secure.on("error", () => {});
        this.#socket = secure;
        this.#buffer = "";
        this.#attach();
        resolve();
      });
    });
  }

  close(): void {
    this.#socket.destroy();
  }
}

type SessionKind = "plain" | "starttls" | "auth-plain" | "auth-cram-md5";

interface SessionContext {
  port: number;
  ca: string;
  localAddress?: string;
}

/** One message on a new connection; true when the message was accepted (250 after the dot). */
async function messageSession(kind: SessionKind, context: SessionContext): Promise<boolean> {
  const client = await BenchClient.connect(context.port, { localAddress: context.localAddress });
  try {
    if (!(await client.reply()).startsWith("220")) return false;
    let ehlo = await client.command("EHLO bench.example");
    if (!ehlo.startsWith("250")) return false;
    let sender = "bench@example.org";
    if (kind === "starttls") {
      if (!(await client.command("STARTTLS")).startsWith("220")) return false;
      await client.startTls(context.ca, ME);
      ehlo = await client.command("EHLO bench.example");
      if (!ehlo.startsWith("250")) return false;
    } else if (kind === "auth-plain") {
      const reply = await client.command(`AUTH PLAIN ${plainInitialResponse(USER, PASSWORD)}`);
      if (!reply.startsWith("235")) throw new Error(`AUTH PLAIN: ${reply}`);
      sender = USER;
    } else if (kind === "auth-cram-md5") {
      const challenge = await client.command("AUTH CRAM-MD5");
      if (!challenge.startsWith("334 ")) throw new Error(`AUTH CRAM-MD5: ${challenge}`);
      const reply = await client.command(
        cramResponse("CRAM-MD5", USER, PASSWORD, challenge.slice(4).trim()),
      );
      if (!reply.startsWith("235")) throw new Error(`AUTH CRAM-MD5: ${reply}`);
      sender = USER;
    }
    // PIPELINING (RFC 2920): MAIL, RCPT and DATA in one write, then the message and QUIT.
    client.send(`MAIL FROM:<${sender}>\r\nRCPT TO:<${USER}>\r\nDATA\r\n`);
    for (let i = 0; i < 3; i++) {
      const reply = await client.reply();
      if (i === 2 && !reply.startsWith("354")) return false;
    }
    client.send(MESSAGE + "QUIT\r\n");
    return (await client.reply()).startsWith("250");
  } finally {
    client.close();
  }
}

interface LoadResult {
  accepted: number;
  failed: number;
  seconds: number;
  firstError?: string;
}

/** `count` messages (or until maxMs) from `sessions` concurrent loops, one connection each. */
async function load(
  kind: SessionKind,
  context: SessionContext,
  sessions: number,
  count: number,
  maxMs: number,
): Promise<LoadResult> {
  let next = 0;
  const result: LoadResult = { accepted: 0, failed: 0, seconds: 0 };
  const started = performance.now();
  const deadline = started + maxMs;
  await Promise.all(Array.from({ length: sessions }, async () => {
    while (next < count && performance.now() < deadline) {
      next++;
      try {
        if (await messageSession(kind, context)) result.accepted++;
        else result.failed++;
      } catch (error) {
        result.failed++;
        result.firstError ??= error instanceof Error ? error.message : String(error);
      }
    }
  }));
  result.seconds = (performance.now() - started) / 1000;
  return result;
}

function perSecond(result: LoadResult): number {
  return result.accepted / result.seconds;
}

function describeLoad(result: LoadResult): string {
  const failures = result.failed === 0
    ? ""
    : `, ${result.failed} failed${result.firstError ? ` (first: ${result.firstError})` : ""}`;
  return `${result.accepted} accepted in ${result.seconds.toFixed(2)} s = ${
    perSecond(result).toFixed(0)
  } msg/s${failures}`;
}

/** VmRSS in kB of pid and every descendant process. */
function treeRssKb(pid: number): number {
  const parents = new Map<number, number>();
  for (const entry of Deno.readDirSync("/proc")) {
    if (!/^\d+$/.test(entry.name)) continue;
    try {
      const stat = Deno.readTextFileSync(`/proc/${entry.name}/stat`);
      // pid (comm) state ppid ...: comm may hold spaces and parentheses.
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      parents.set(Number(entry.name), ppid);
    } catch {
      // gone meanwhile
    }
  }
  const inTree = (candidate: number): boolean => {
    for (let p = candidate, depth = 0; p > 1 && depth < 64; p = parents.get(p) ?? 0, depth++) {
      if (p === pid) return true;
    }
    return false;
  };
  let total = 0;
  for (const candidate of parents.keys()) {
    if (!inTree(candidate)) continue;
    try {
      const status = Deno.readTextFileSync(`/proc/${candidate}/status`);
      total += Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
    } catch {
      // gone meanwhile
    }
  }
  return total;
}

/** The soft limit on open files of this process (the appliance inherits it). */
function openFilesLimit(): number {
  try {
    const limits = Deno.readTextFileSync("/proc/self/limits");
    const soft = /^Max open files\s+(\S+)/m.exec(limits)?.[1];
    return soft === undefined || soft === "unlimited" ? Infinity : Number(soft);
  } catch {
    return Infinity;
  }
}

function mb(kb: number): string {
  return (kb / 1024).toFixed(1);
}

function percentile(values: number[], fraction: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(fraction * sorted.length))];
}

/** A fresh home for `qmd start`, with control files written before the start. */
async function prepareHome(controls: Record<string, string>): Promise<string> {
  const home = await makeTempHome(Deno.env.get("QMD_BENCH_DIR"));
  const init = await runQmd(["init", "--home", home, "--me", ME]);
  if (init.code !== 0) throw new Error(`qmd init failed: ${init.stderr}`);
  const add = await runQmd(
    ["user", "add", USER, "--password-stdin", "--challenge-auth", "--home", home],
    { stdin: `${PASSWORD}\n` },
  );
  if (add.code !== 0) throw new Error(`qmd user add failed: ${add.stderr}`);
  for (const [name, value] of Object.entries(controls)) {
    const path = `${home}/control/${name}`;
    await Deno.mkdir(path.slice(0, path.lastIndexOf("/")), { recursive: true });
    await Deno.writeTextFile(path, `${value}\n`);
  }
  return home;
}

/** Lines of the appliance's output that look like trouble, for the report. */
function troubleLines(qmd: RunningQmd): string[] {
  return qmd.output().split("\n").filter((line) =>
    /error|uncaught|panic|alert|warning|fatal|crash|restart/i.test(line) &&
    !/smtp_limit|limit reached/.test(line)
  );
}

/** Items 1 and 2: STARTTLS and AUTH per message at 10 sessions. */
async function perMessageRows(ca: string, qmd: RunningQmd): Promise<string[]> {
  const context: SessionContext = { port: qmd.port, ca };
  const rows: string[] = [];
  // One untimed round first, so that every isolate has compiled its paths.
  await load("starttls", context, 10, 20, 20_000);
  await load("auth-cram-md5", context, 10, 20, 20_000);
  const plain = await load("plain", context, 10, 2000, 30_000);
  const starttls = await load("starttls", context, 10, 2000, 30_000);
  rows.push(`plain SMTP, 10 sessions, 2 KiB, one connection per message: ${describeLoad(plain)}`);
  rows.push(
    `STARTTLS per message, 10 sessions: ${describeLoad(starttls)} (ratio to plain ${
      (perSecond(starttls) / perSecond(plain)).toFixed(2)
    })`,
  );
  const authPlain = await load("auth-plain", context, 10, 300, 30_000);
  rows.push(
    `AUTH PLAIN per message (scrypt), 10 sessions: ${describeLoad(authPlain)} (ratio to plain ${
      (perSecond(authPlain) / perSecond(plain)).toFixed(2)
    })`,
  );
  const authCram = await load("auth-cram-md5", context, 10, 2000, 30_000);
  rows.push(
    `AUTH CRAM-MD5 per message, 10 sessions: ${describeLoad(authCram)} (ratio to plain ${
      (perSecond(authCram) / perSecond(plain)).toFixed(2)
    })`,
  );
  return rows;
}

/** Opens up to `count` connections from `addresses` (round robin), `inFlight` at a time. */
async function openMany(
  port: number,
  addresses: string[],
  count: number,
  inFlight: number,
  maxMs: number,
  onOpened: (client: BenchClient, greeting: string) => void,
): Promise<{ greeted: number; refused: number; failed: number; firstError?: string }> {
  const tally = { greeted: 0, refused: 0, failed: 0, firstError: undefined as string | undefined };
  const deadline = performance.now() + maxMs;
  let next = 0;
  await Promise.all(Array.from({ length: inFlight }, async () => {
    while (next < count && performance.now() < deadline) {
      const localAddress = addresses[next++ % addresses.length];
      let client: BenchClient | undefined;
      try {
        client = await BenchClient.connect(port, { localAddress });
        const greeting = await client.reply();
        if (greeting.startsWith("220")) tally.greeted++;
        else tally.refused++;
        onOpened(client, greeting);
      } catch (error) {
        client?.close();
        tally.failed++;
        tally.firstError ??= error instanceof Error ? error.message : String(error);
      }
    }
  }));
  return tally;
}

/** Sessions the appliance logged as opened and as closed so far. */
function loggedSessions(qmd: RunningQmd): { opened: number; closed: number } {
  const output = qmd.output();
  return {
    opened: output.match(/^.*smtpd \S+: connect /gm)?.length ?? 0,
    closed: output.match(/^.*smtpd \S+: close$/gm)?.length ?? 0,
  };
}

/** Waits (bounded) until the appliance has logged a close for every session it opened. */
async function waitAllClosed(qmd: RunningQmd, maxMs: number): Promise<number | undefined> {
  const started = performance.now();
  while (performance.now() - started < maxMs) {
    const { opened, closed } = loggedSessions(qmd);
    if (opened === closed) return (performance.now() - started) / 1000;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return undefined;
}

interface HoldResult {
  tally: Awaited<ReturnType<typeof openMany>>;
  held: number;
  openSeconds: number;
  heldKb: number;
  peakKb: number;
  probeAccepted: boolean;
  /** Seconds until the appliance logged every close, undefined when it did not within 30 s. */
  closeSeconds: number | undefined;
  afterKb: number;
}

/** Opens `count` idle connections from 20 IPs, samples RSS, tries one session, closes all. */
async function holdIdle(qmd: RunningQmd, count: number, addresses: string[]): Promise<HoldResult> {
  const pid = qmd.process.pid;
  const clients: BenchClient[] = [];
  const started = performance.now();
  let peakKb = treeRssKb(pid);
  const sampler = setInterval(() => (peakKb = Math.max(peakKb, treeRssKb(pid))), 250);
  try {
    const tally = await openMany(qmd.port, addresses, count, 200, 90_000, (client, greeting) => {
      if (greeting.startsWith("220")) clients.push(client);
      else client.close();
    });
    const openSeconds = (performance.now() - started) / 1000;
    let heldKb = treeRssKb(pid);
    // A fresh session while they are held: is the appliance still serving?
    const probe = await load("plain", { port: qmd.port, ca: "" }, 1, 1, 20_000);
    heldKb = Math.max(heldKb, treeRssKb(pid));
    clearInterval(sampler);
    const held = clients.length;
    for (const client of clients.splice(0)) client.close();
    const closeSeconds = await waitAllClosed(qmd, 30_000);
    return {
      tally,
      held,
      openSeconds,
      heldKb,
      peakKb: Math.max(peakKb, heldKb),
      probeAccepted: probe.accepted === 1,
      closeSeconds,
      afterKb: treeRssKb(pid),
    };
  } finally {
    clearInterval(sampler);
    for (const client of clients) client.close();
  }
}

/** Item 3: RSS while holding 10,000 idle connections, three times (what churn leaves shows later). */
async function idleConnectionRows(qmd: RunningQmd): Promise<string[]> {
  const rows: string[] = [];
  const limit = openFilesLimit();
  // Both this process and the appliance hold one descriptor per connection, plus their own.
  const count = Math.max(0, Math.min(10_000, limit - 1000));
  if (count < 10_000) {
    rows.push(
      `note: open files limit ${limit} (ulimit -n): holding ${count} connections, not 10000`,
    );
  }
  await load("plain", { port: qmd.port, ca: "" }, 2, 20, 10_000);
  const baselineKb = treeRssKb(qmd.process.pid);
  const addresses = Array.from({ length: 20 }, (_, i) => `127.0.0.${i + 2}`);
  // Three rounds: the first shows the cost per connection, the later ones what stays after churn.
  const rounds: HoldResult[] = [];
  for (let round = 0; round < 3; round++) rounds.push(await holdIdle(qmd, count, addresses));
  const [first] = rounds;
  const { tally } = first;
  rows.push(
    `${tally.greeted} idle connections greeted from ${addresses.length} IPs in ${
      first.openSeconds.toFixed(1)
    } s (${tally.refused} refused, ${tally.failed} failed${
      tally.firstError ? `, first: ${tally.firstError}` : ""
    }); a new session meanwhile: ${first.probeAccepted ? "accepted" : "NOT accepted"}`,
  );
  const perConnection = first.held > 0 ? (first.heldKb - baselineKb) / first.held : 0;
  rows.push(
    `RSS holding ${first.held} idle connections: ${mb(baselineKb)} MB idle -> ${
      mb(first.heldKb)
    } MB (peak ${mb(first.peakKb)} MB, ${
      perConnection.toFixed(1)
    } kB per connection) (target < ${TARGETS.idleRssMb} MB, ratio ${
      (first.heldKb / 1024 / TARGETS.idleRssMb).toFixed(2)
    })`,
  );
  const closed = (result: HoldResult) =>
    result.closeSeconds === undefined
      ? `NOT all closed within 30 s (${JSON.stringify(loggedSessions(qmd))})`
      : `all closed in ${result.closeSeconds.toFixed(1)} s`;
  const worstKb = Math.max(...rounds.map((round) => round.heldKb));
  rows.push(
    `three rounds of open ${count} / close all: ${
      rounds.map((round, i) =>
        `#${i + 1} ${round.held} held at ${mb(round.heldKb)} MB, ${closed(round)}, then ${
          mb(round.afterKb)
        } MB`
      ).join("; ")
    } (worst held ${mb(worstKb)} MB, target < ${TARGETS.idleRssMb} MB, ratio ${
      (worstKb / 1024 / TARGETS.idleRssMb).toFixed(2)
    })`,
  );
  return rows;
}

interface Timed {
  ok: boolean;
  ms: number;
  /** performance.now() at the connect */
  started: number;
}

/**
 * `count` full sessions from one IP, `sessions` at a time, each one's latency; more (up to
 * 10 x count) while `busy()` says the load is still on.
 */
async function timedSessions(
  port: number,
  localAddress: string,
  count: number,
  sessions: number,
  maxMs: number,
  busy: () => boolean = () => false,
): Promise<Timed[]> {
  const results: Timed[] = [];
  const deadline = performance.now() + maxMs;
  let next = 0;
  await Promise.all(Array.from({ length: sessions }, async () => {
    while ((next < count || (busy() && next < 10 * count)) && performance.now() < deadline) {
      next++;
      const started = performance.now();
      const ok = await messageSession("plain", { port, ca: "", localAddress }).catch(() => false);
      results.push({ ok, ms: performance.now() - started, started });
    }
  }));
  return results;
}

function describeTimed(results: Timed[]): string {
  const ms = results.map((result) => result.ms);
  return `${results.filter((result) => result.ok).length}/${results.length} accepted, median ${
    percentile(ms, 0.5).toFixed(1)
  } ms, p95 ${percentile(ms, 0.95).toFixed(1)} ms`;
}

/** Item 4: a 2,000-connection flood from 127.0.0.50 with the per-IP limit at 20. */
async function floodRows(qmd: RunningQmd): Promise<string[]> {
  const legitimate = "127.0.0.60";
  const flooder = "127.0.0.50";
  await timedSessions(qmd.port, legitimate, 10, 1, 10_000);
  const baseline = await timedSessions(qmd.port, legitimate, 40, 2, 30_000);
  const held: BenchClient[] = [];
  const started = performance.now();
  let flooding = true;
  let floodSeconds = 0;
  let legitSeconds = 0;
  let flood: Awaited<ReturnType<typeof openMany>>;
  let loaded: Timed[];
  try {
    [flood, loaded] = await Promise.all([
      openMany(qmd.port, [flooder], 2000, 500, 60_000, (client, greeting) => {
        // Greeted flood connections stay open (they hold the IP's slots); refused ones are closed.
        if (greeting.startsWith("220")) held.push(client);
        else client.close();
      }).finally(() => {
        flooding = false;
        floodSeconds = (performance.now() - started) / 1000;
      }),
      timedSessions(qmd.port, legitimate, 40, 2, 60_000, () => flooding).finally(() =>
        legitSeconds = (performance.now() - started) / 1000
      ),
    ]);
  } finally {
    for (const client of held) client.close();
  }
  // After the flood: is the flooder's count released?
  const deadline = performance.now() + 20_000;
  let again = await timedSessions(qmd.port, flooder, 1, 1, 10_000);
  while (!again[0]?.ok && performance.now() < deadline) {
    again = await timedSessions(qmd.port, flooder, 1, 1, 10_000);
  }
  const ratio = percentile(loaded.map((r) => r.ms), 0.5) /
    percentile(baseline.map((r) => r.ms), 0.5);
  const duringFlood = loaded.filter((r) => r.started - started < floodSeconds * 1000).length;
  return [
    `flood of 2000 connections from ${flooder}, per-IP limit 20: ${flood.greeted} greeted, ${flood.refused} got 421, ${flood.failed} failed${
      flood.firstError ? ` (first: ${flood.firstError})` : ""
    } in ${floodSeconds.toFixed(1)} s`,
    `legitimate sessions from ${legitimate} with the flood (${duringFlood} begun before it ended): ${
      describeTimed(loaded)
    } in ${legitSeconds.toFixed(1)} s; unloaded: ${describeTimed(baseline)} (median ratio ${
      ratio.toFixed(2)
    })`,
    `after the flood, a session from ${flooder}: ${again[0]?.ok ? "accepted" : "NOT accepted"}`,
  ];
}

/** Runs issue 5's measurements; returns the rows to print (without the leading indent). */
export async function frontDoorBench(): Promise<string[]> {
  const rows: string[] = [];
  const workers = navigator.hardwareConcurrency;
  const trouble: string[] = [];
  // 1 and 2: PLAIN/LOGIN allowed before TLS (63); limits out of the way of 10 sessions.
  const home = await prepareHome({
    "auth/smtp": "63",
    concurrencyincoming: "20000",
    concurrencyperip: "20000",
  });
  const ca = await Deno.readTextFile(`${home}/control/servercert.pem`);
  let qmd = await startQmd(home, { workers });
  try {
    rows.push(...await perMessageRows(ca, qmd));
  } finally {
    await qmd.stop();
    trouble.push(...troubleLines(qmd));
  }
  // 3: a fresh appliance (no delivery backlog) with the limits above 10,000.
  const idleHome = await prepareHome({ concurrencyincoming: "20000", concurrencyperip: "20000" });
  qmd = await startQmd(idleHome, { workers });
  try {
    rows.push(...await idleConnectionRows(qmd));
  } finally {
    await qmd.stop();
    trouble.push(...troubleLines(qmd));
  }
  // 4: the per-IP limit at 20.
  const floodHome = await prepareHome({ concurrencyperip: "20" });
  qmd = await startQmd(floodHome, { workers });
  try {
    rows.push(...await floodRows(qmd));
  } finally {
    await qmd.stop();
    trouble.push(...troubleLines(qmd));
  }
  if (trouble.length > 0) {
    rows.push(`appliance output worth a look (${trouble.length} lines), first ones:`);
    rows.push(...trouble.slice(0, 10).map((line) => `  ${line.slice(0, 300)}`));
  }
  for (const dir of [home, idleHome, floodHome]) {
    await Deno.remove(dir.replace(/\/home$/, ""), { recursive: true }).catch(() => {});
  }
  return rows;
}

if (import.meta.main) {
  console.log(
    `qmd bench, SMTP front door (${navigator.hardwareConcurrency} CPUs, Deno ${Deno.version.deno})`,
  );
  for (const row of await frontDoorBench()) console.log(`  ${row}`);
}
