/**
 * Issue 6's part of `deno task bench` (remote delivery): figures, never
 * assertions. On a temporary home it drives the remote role's logic
 * in-process (RemoteRole, appliance/roles/remote.ts, without a Worker) against
 * a loopback SMTP sink and measures messages/s for 2 KiB messages, 20 jobs in
 * flight (as concurrencyremote 20), with and without connection reuse.
 *
 *  - The sink is postfix's smtp-sink when it is on PATH, else a minimal fast
 *    sink in a child process (this file run with `--sink`; greeting, EHLO with
 *    PIPELINING, 250/354/221, pipelined commands). Either way the sink is
 *    another process, so it and the role share this machine's cores: the
 *    rows give both processes' CPU use.
 *  - control/smtproutes `:127.0.0.1:PORT` sends every recipient to the sink
 *    without DNS (the relay is an IP literal).
 *  - "Without reuse" is RoleSettings.options idleMs 0 (a parked connection is
 *    retired on the next timer tick) and, so that a waiting job cannot take
 *    the parked connection before that tick, the pool's take() answers
 *    nothing: every message gets a fresh connection, QUIT and close, as
 *    qmail-remote does.
 *
 * Every loop is bounded in count and time; only loopback addresses are used.
 * `deno run -A tests/bench/remote.ts` runs just this part.
 */
import net from "node:net";
import type { FromRole } from "../../appliance/ipc.ts";
import { RemoteRole } from "../../appliance/roles/remote.ts";
import { makeTempHome, runQmd } from "../harness.ts";

const TARGET_PER_SECOND = 3000;
const IN_FLIGHT = 20;
const SPLIT = 23;
/** The same 2 KiB message as bench.ts (LF line ends, as qmail stores it in mess/). */
const MESSAGE = `Subject: bench\n\n${`${"x".repeat(72)}\n`.repeat(28)}`.slice(0, 2047) + "\n";
const RUNS = [
  { reuse: true, count: 20_000, maxMs: 60_000 },
  { reuse: false, count: 5_000, maxMs: 60_000 },
];
const SINK_WAIT_MS = 10_000;
const CLOCK_TICKS = 100;

/** utime + stime of a process in seconds (/proc; 0 when unreadable). */
function cpuSeconds(pid: number): number {
  try {
    const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS;
  } catch {
    return 0;
  }
}

/** A free loopback port chosen by the kernel (closed again at once). */
export function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  return port;
}

/** The program in PATH (or /usr/sbin, /sbin), or undefined. */
export function findOnPath(name: string): string | undefined {
  for (const dir of (Deno.env.get("PATH") ?? "").split(":").concat(["/usr/sbin", "/sbin"])) {
    try {
      if (dir !== "" && Deno.statSync(`${dir}/${name}`).isFile) return `${dir}/${name}`;
    } catch {
      // not here
    }
  }
  return undefined;
}

/** Waits (bounded) until something answers on 127.0.0.1:port with a 220 greeting. */
export async function waitForGreeting(port: number, maxMs: number): Promise<boolean> {
  const deadline = performance.now() + maxMs;
  while (performance.now() < deadline) {
    const greeted = await new Promise<boolean>((resolve) => {
      const socket = net.connect({ host: "127.0.0.1", port });
      const timer = setTimeout(() => done(false), 1000);
      const done = (ok: boolean) => {
        clearTimeout(timer);
        socket.destroy();
        resolve(ok);
      };
      socket.once("error", () => done(false));
      socket.once("data", (chunk) => done(String(chunk).startsWith("220")));
    });
    if (greeted) return true;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return false;
}

export interface Sink {
  name: string;
  port: number;
  pid: number;
  stop(): Promise<void>;
}

/** smtp-sink when installed, else this file's own sink in a child process. */
export async function startSink(): Promise<Sink> {
  const port = freePort();
  const smtpSink = Deno.env.get("QMD_BENCH_SINK") === "fake" ? undefined : findOnPath("smtp-sink");
  const args = smtpSink !== undefined
    ? ["-u", Deno.env.get("USER") ?? whoami(), "-m", "1000", `127.0.0.1:${port}`, "1000"]
    : ["run", "-A", new URL(import.meta.url).pathname, "--sink", String(port)];
  const child = new Deno.Command(smtpSink ?? Deno.execPath(), {
    args,
    stdin: "null",
    stdout: "null",
    stderr: "null",
  }).spawn();
  const stop = async () => {
    try {
      child.kill("SIGTERM");
    } catch {
      // already gone
    }
    await child.status;
  };
  if (!await waitForGreeting(port, SINK_WAIT_MS)) {
    await stop();
    throw new Error(`The sink on 127.0.0.1:${port} did not greet`);
  }
  return { name: smtpSink !== undefined ? "smtp-sink" : "fake sink", port, pid: child.pid, stop };
}

function whoami(): string {
  const result = new Deno.Command("id", { args: ["-un"], stdout: "piped" }).outputSync();
  return new TextDecoder().decode(result.stdout).trim();
}

/** Writes count message files under home's queue/mess/<id % 23>/<id>; returns their ids. */
export async function writeMessages(home: string, count: number): Promise<string[]> {
  const bytes = new TextEncoder().encode(MESSAGE);
  const mess: string[] = [];
  for (let i = 0; i < count; i++) {
    const id = 100_000 + i;
    const name = `${id % SPLIT}/${id}`;
    const dir = `${home}/queue/mess/${id % SPLIT}`;
    if (i < SPLIT) await Deno.mkdir(dir, { recursive: true });
    await Deno.writeFile(`${home}/queue/mess/${name}`, bytes);
    mess.push(name);
  }
  return mess;
}

export interface RunResult {
  reports: number;
  counts: { K: number; Z: number; D: number };
  seconds: number;
  reused: number;
  firstFailure?: string;
  roleCpu: number;
  sinkCpu: number;
}

/** One run: count jobs through a fresh RemoteRole, IN_FLIGHT at a time, bounded by maxMs. */
export async function runDeliveries(
  home: string,
  mess: string[],
  sinkPid: number,
  options: { reuse: boolean; count: number; maxMs: number },
): Promise<RunResult> {
  const counts = { K: 0, Z: 0, D: 0 };
  let reports = 0;
  let firstFailure: string | undefined;
  let wake: (() => void) | undefined;
  const role = new RemoteRole((message: FromRole) => {
    if (message.type !== "report") return;
    reports++;
    counts[message.report.status]++;
    if (message.report.status !== "K") firstFailure ??= message.report.text.trim();
    freeSlots.push(message.report.delivery);
    wake?.();
  });
  const freeSlots = Array.from({ length: IN_FLIGHT }, (_, slot) => slot);
  await role.start({
    home,
    env: {},
    options: options.reuse
      ? { role: "remote", maxPerDestination: IN_FLIGHT }
      : { role: "remote", maxPerDestination: IN_FLIGHT, idleMs: 0 },
  });
  const pool = role.pool!;
  const take = pool.take.bind(pool);
  let reused = 0;
  pool.take = (key: string) => {
    const connection = options.reuse ? take(key) : undefined;
    if (connection !== undefined) reused++;
    return connection;
  };
  const count = Math.min(options.count, mess.length);
  let sent = 0;
  const roleCpuBefore = cpuSeconds(Deno.pid);
  const sinkCpuBefore = cpuSeconds(sinkPid);
  const started = performance.now();
  const deadline = started + options.maxMs;
  const running: Promise<void>[] = [];
  while (reports < count && performance.now() < deadline) {
    while (freeSlots.length > 0 && sent < count) {
      const delivery = freeSlots.pop()!;
      const id = mess[sent].slice(mess[sent].indexOf("/") + 1);
      running.push(role.deliver({
        delivery,
        id,
        mess: mess[sent],
        sender: "bench@example.test",
        recipient: "x@sink.test",
      }));
      sent++;
    }
    if (reports >= count) break;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, Math.max(0, deadline - performance.now()));
      wake = () => {
        clearTimeout(timer);
        resolve();
      };
    });
    wake = undefined;
  }
  const seconds = (performance.now() - started) / 1000;
  const roleCpu = cpuSeconds(Deno.pid) - roleCpuBefore;
  const sinkCpu = cpuSeconds(sinkPid) - sinkCpuBefore;
  // Bounded by the role's own timeouts; a run cut by the deadline still settles its jobs.
  let settleTimer: ReturnType<typeof setTimeout> | undefined;
  await Promise.race([
    Promise.allSettled(running),
    new Promise((resolve) => settleTimer = setTimeout(resolve, 10_000)),
  ]);
  clearTimeout(settleTimer);
  role.close();
  return { reports, counts, seconds, reused, firstFailure, roleCpu, sinkCpu };
}

/** The rows for `deno task bench`. */
export async function remoteBench(): Promise<string[]> {
  const home = await makeTempHome(Deno.env.get("QMD_BENCH_DIR"));
  const rows: string[] = [];
  await runQmd(["init", "--home", home, "--me", "mx.example.test"]);
  const sink = await startSink();
  try {
    Deno.writeTextFileSync(`${home}/control/smtproutes`, `:127.0.0.1:${sink.port}\n`);
    const mess = await writeMessages(home, Math.max(...RUNS.map((run) => run.count)));
    for (const run of RUNS) {
      const result = await runDeliveries(home, mess, sink.pid, run);
      const perSecond = result.counts.K / result.seconds;
      const label = `remote delivery to a loopback sink (${sink.name}), 2 KiB, ${IN_FLIGHT} in ` +
        `flight, ${run.reuse ? "with" : "without"} reuse`;
      const target = run.reuse
        ? ` (target ${TARGET_PER_SECOND}, ratio ${(perSecond / TARGET_PER_SECOND).toFixed(2)})`
        : "";
      rows.push(
        `${label}: ${result.counts.K} delivered in ${result.seconds.toFixed(2)} s = ${
          perSecond.toFixed(0)
        } msg/s${target}`,
      );
      rows.push(
        `  K/Z/D ${result.counts.K}/${result.counts.Z}/${result.counts.D} of ${result.reports} ` +
          `reports (${run.count} jobs), ${result.reused} on a reused connection; CPU: role ${
            (100 * result.roleCpu / result.seconds).toFixed(0)
          }%, ${sink.name} ${
            (100 * result.sinkCpu / result.seconds).toFixed(0)
          }% of one core (${navigator.hardwareConcurrency} CPUs shared)` +
          (result.firstFailure !== undefined ? `; first failure: ${result.firstFailure}` : ""),
      );
    }
  } finally {
    await sink.stop();
    await Deno.remove(home.replace(/\/home$/, ""), { recursive: true });
  }
  return rows;
}

// --- The fake sink (child process: `remote.ts --sink PORT`) ---

/** Replies for complete command lines; pipelined commands get their replies in one write. */
function serveSink(port: number): void {
  const server = net.createServer((socket) => {
    socket.setNoDelay(true);
    let inData = false;
    let pending = "";
    let tail = "\r\n";
    socket.on("error", () => socket.destroy());
    socket.write("220 sink.test ESMTP\r\n");
    socket.on("data", (chunk: Uint8Array) => {
      let text = new TextDecoder("latin1").decode(chunk);
      let out = "";
      for (let guard = 0; text.length > 0 && guard < 100_000; guard++) {
        if (inData) {
          const joined = tail + text;
          const end = joined.indexOf("\r\n.\r\n");
          if (end < 0) {
            tail = joined.slice(-4);
            text = "";
            break;
          }
          inData = false;
          text = joined.slice(end + 5);
          out += "250 2.0.0 Ok: queued\r\n";
          continue;
        }
        pending += text;
        text = "";
        const lf = pending.indexOf("\n");
        if (lf < 0) break;
        const line = pending.slice(0, lf).replace(/\r$/, "");
        text = pending.slice(lf + 1);
        pending = "";
        const verb = line.slice(0, 4).toUpperCase();
        if (verb === "EHLO") {
          out += "250-sink.test\r\n250-PIPELINING\r\n250-8BITMIME\r\n250 SIZE 0\r\n";
        } else if (verb === "DATA") {
          out += "354 End data with <CR><LF>.<CR><LF>\r\n";
          inData = true;
          tail = "\r\n";
        } else if (verb === "QUIT") {
          socket.end(out + "221 2.0.0 Bye\r\n");
          return;
        } else {
          out += "250 2.0.0 Ok\r\n";
        }
      }
      if (out !== "") socket.write(out);
    });
  });
  server.listen(port, "127.0.0.1");
  Deno.addSignalListener("SIGTERM", () => Deno.exit(0));
}

if (import.meta.main) {
  if (Deno.args[0] === "--sink") {
    serveSink(Number(Deno.args[1]));
  } else {
    for (const row of await remoteBench()) console.log(`  ${row}`);
  }
}
