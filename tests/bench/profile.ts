/**
 * `deno task bench --profile`: where a message's cost goes. Figures only.
 *  - CPU milliseconds per message by role: `qmd status --json` (each
 *    isolate's own thread, isolate_usage.ts) before and after 1,000
 *    messages at 10 sessions, after a 100-message warm-up; the load tool's
 *    own CPU beside it.
 *  - System calls per message: `strace -c -f` attached to the appliance for
 *    a separate, smaller run (ptrace slows everything it watches, so its run
 *    is not the CPU run). Skipped with the reason when strace cannot run.
 *  - With `--v8-prof` as well: one more run under V8's `--prof`, each
 *    isolate's log summarised by `node --prof-process` (skipped without node).
 * Every run is bounded in count and time.
 */
import process from "node:process";
import { type RunningQmd, runQmd, startQmd } from "../harness.ts";
import type { IsolateUsage } from "../../appliance/isolate_usage.ts";
import { countNew, emptyNew, load, makeBenchHome, waitDelivered } from "./smtp_load.ts";

const WARM_UP = 100;
const MESSAGES = 1000;
const STRACE_MESSAGES = 300;
const SESSIONS = 10;
const MAX_MS = 120_000;

/** CPU ms (user + system) of each role, summed over its isolates. */
async function cpuByRole(home: string): Promise<Map<string, number>> {
  const status = await runQmd(["status", "--home", home, "--json"]);
  if (status.code !== 0) throw new Error(`qmd status: ${status.stderr.trim()}`);
  const isolates = JSON.parse(status.stdout).isolates as IsolateUsage[];
  const roles = new Map<string, number>();
  for (const { isolate, usage } of isolates) {
    if (usage === undefined) continue;
    const role = isolate.replace(/ \d+$/, "");
    roles.set(role, (roles.get(role) ?? 0) + usage.cpuUserMs + usage.cpuSystemMs);
  }
  return roles;
}

/**
 * CPU ms of the appliance's threads that are not isolates, from
 * /proc/PID/task/TID/stat (utime + stime, in clock ticks of 10 ms): Deno's
 * I/O threads (tokio's blocking pool: async file operations, fsyncs) and V8's
 * helper threads (garbage collection, compilation); and the whole process.
 * Undefined where /proc cannot be read.
 */
function threadCpuMs(pid: number): Map<string, number> | undefined {
  const kinds = new Map<string, number>();
  try {
    for (const entry of Deno.readDirSync(`/proc/${pid}/task`)) {
      let stat: string;
      try {
        stat = Deno.readTextFileSync(`/proc/${pid}/task/${entry.name}/stat`);
      } catch {
        continue; // the thread ended
      }
      const name = stat.slice(stat.indexOf("(") + 1, stat.lastIndexOf(")"));
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      const ms = (Number(fields[11]) + Number(fields[12])) * 10;
      const kind = name.startsWith("tokio")
        ? "I/O threads"
        : name.startsWith("V8 ")
        ? "V8 helpers"
        : undefined;
      if (kind !== undefined) kinds.set(kind, (kinds.get(kind) ?? 0) + ms);
      kinds.set("process", (kinds.get("process") ?? 0) + ms);
    }
  } catch {
    return undefined;
  }
  return kinds;
}

function ownCpuMs(): number {
  const usage = process.cpuUsage();
  return (usage.user + usage.system) / 1000;
}

/** Sends `count` messages and waits for them in the Maildir; how many arrived. */
async function run(qmd: RunningQmd, maildir: string, count: number): Promise<number> {
  emptyNew(maildir);
  const before = countNew(maildir);
  const result = await load(qmd.port, SESSIONS, count, MAX_MS);
  return (await waitDelivered(maildir, before + result.accepted, MAX_MS)) - before;
}

async function cpuRows(qmd: RunningQmd, maildir: string): Promise<string[]> {
  await run(qmd, maildir, WARM_UP);
  const before = await cpuByRole(qmd.home);
  const threadsBefore = threadCpuMs(qmd.process.pid);
  const loadBefore = ownCpuMs();
  const started = performance.now();
  const delivered = await run(qmd, maildir, MESSAGES);
  const seconds = (performance.now() - started) / 1000;
  const loadMs = ownCpuMs() - loadBefore;
  const after = await cpuByRole(qmd.home);
  const threadsAfter = threadCpuMs(qmd.process.pid);
  if (delivered === 0) return ["profile: no message was delivered"];
  const perRole = [...after].map(([role, ms]) => ({
    role,
    ms: (ms - (before.get(role) ?? 0)) / delivered,
  })).sort((a, b) => b.ms - a.ms);
  const total = perRole.reduce((sum, each) => sum + each.ms, 0);
  const rows = [
    `profile: ${delivered} messages at ${SESSIONS} sessions in ${seconds.toFixed(2)} s (${
      (delivered / seconds).toFixed(0)
    }/s end to end); CPU ms per message by isolate thread:`,
  ];
  for (const { role, ms } of perRole) {
    rows.push(
      `  ${role.padEnd(10)} ${ms.toFixed(3)} ms  (${(100 * ms / total).toFixed(0)} %)`,
    );
  }
  rows.push(`  ${"isolates".padEnd(10)} ${total.toFixed(3)} ms`);
  if (threadsBefore !== undefined && threadsAfter !== undefined) {
    const perMessage = (kind: string) =>
      ((threadsAfter.get(kind) ?? 0) - (threadsBefore.get(kind) ?? 0)) / delivered;
    rows.push(
      `  other threads (from /proc): Deno's I/O threads ${
        perMessage("I/O threads").toFixed(3)
      } ms, V8 helpers ${perMessage("V8 helpers").toFixed(3)} ms; the whole qmd process ${
        perMessage("process").toFixed(3)
      } ms`,
    );
  }
  rows.push(`  ${"load tool".padEnd(10)} ${(loadMs / delivered).toFixed(3)} ms (this process)`);
  return rows;
}

/** `strace -c` summary lines → calls by syscall name. */
function parseStraceSummary(text: string): Map<string, number> {
  const calls = new Map<string, number>();
  for (const line of text.split("\n")) {
    const fields = line.trim().split(/\s+/);
    // % time, seconds, usecs/call, calls, [errors,] syscall
    if (fields.length < 5 || !/^\d+\.\d+$/.test(fields[0]) || !/^\d+$/.test(fields[3])) continue;
    const name = fields[fields.length - 1];
    if (name !== "total") calls.set(name, Number(fields[3]));
  }
  return calls;
}

async function straceRows(qmd: RunningQmd, maildir: string): Promise<string[]> {
  const output = `${await Deno.makeTempDir()}/strace.txt`;
  let tracer: Deno.ChildProcess;
  try {
    tracer = new Deno.Command("strace", {
      args: ["-c", "-f", "-o", output, "-p", String(qmd.process.pid)],
      stdout: "null",
      stderr: "piped",
    }).spawn();
  } catch (error) {
    return [`syscalls: skipped, strace cannot run (${(error as Error).message})`];
  }
  // Attaching to every thread takes a moment; a tracer that failed has exited by then.
  const early = await Promise.race([
    tracer.status,
    new Promise<undefined>((resolve) => setTimeout(() => resolve(undefined), 1000)),
  ]);
  if (early !== undefined) {
    const reason = new TextDecoder().decode((await tracer.output()).stderr).trim();
    return [`syscalls: skipped, strace exited: ${reason.split("\n")[0]}`];
  }
  const delivered = await run(qmd, maildir, STRACE_MESSAGES);
  tracer.kill("SIGINT");
  await tracer.output();
  const calls = parseStraceSummary(await Deno.readTextFile(output).catch(() => ""));
  if (calls.size === 0 || delivered === 0) return ["syscalls: strace gave no summary"];
  const total = [...calls.values()].reduce((sum, n) => sum + n, 0);
  const top = [...calls].sort((a, b) => b[1] - a[1]).slice(0, 10);
  return [
    `syscalls (strace -c -f, ${delivered} messages): ${
      (total / delivered).toFixed(0)
    } a message; ` +
    top.map(([name, n]) => `${name} ${(n / delivered).toFixed(1)}`).join(", "),
  ];
}

/** Which role an isolate's V8 log belongs to: the role module it compiled. */
function roleOfLog(text: string): string {
  // The supervisor's isolate compiles some role modules too (the role table): it goes first.
  if (text.includes("appliance/supervisor.ts")) return "supervisor";
  return /appliance\/roles\/(\w+)\.ts/.exec(text)?.[1] ?? "other";
}

/** The heaviest bottom-up entries of `node --prof-process`'s report. */
function heaviest(report: string, count: number): string[] {
  const start = report.indexOf("[Bottom up (heavy) profile]");
  if (start < 0) return [];
  return report.slice(start).split("\n")
    .filter((line) => /^\s*\d+\s+\d+\.\d+% {2}\S/.test(line))
    .slice(0, count)
    .map((line) =>
      `    ${line.trim().replace(/\s+/g, " ").replace(/ \/\S*\/deno$/, " deno (native)")}`
    );
}

export async function v8ProfRows(): Promise<string[]> {
  const node = await new Deno.Command("node", { args: ["--version"], stdout: "null" }).output()
    .then((result) => result.success, () => false);
  if (!node) return ["v8 profile: skipped, node (for --prof-process) is not installed"];
  const { home, maildir } = await makeBenchHome();
  // Kept after the run, for reading the whole reports.
  const dir = await Deno.makeTempDir({ prefix: "qmd-v8-prof-" });
  const qmd = await startQmd(home, {
    workers: navigator.hardwareConcurrency,
    v8Flags: ["--prof"],
    cwd: dir,
  });
  try {
    await run(qmd, maildir, WARM_UP + MESSAGES);
  } finally {
    await qmd.stop();
  }
  const rows = [`v8 profile (--prof, ${WARM_UP + MESSAGES} messages), reports in ${dir}:`];
  for (const entry of Deno.readDirSync(dir)) {
    if (!entry.name.endsWith("-v8.log")) continue;
    const log = `${dir}/${entry.name}`;
    const role = roleOfLog(await Deno.readTextFile(log));
    const processed = await new Deno.Command("node", {
      args: ["--prof-process", log],
      stdout: "piped",
      stderr: "null",
    }).output();
    const report = new TextDecoder().decode(processed.stdout);
    await Deno.writeTextFile(`${dir}/${role}-${entry.name}.txt`, report);
    const ticks = /(\d+) ticks/.exec(report)?.[1] ?? "?";
    rows.push(`  ${role} (${ticks} ticks), heaviest bottom-up:`, ...heaviest(report, 5));
  }
  return rows;
}

/** The --profile section of `deno task bench`. */
export async function profileBench(options: { v8Prof: boolean }): Promise<string[]> {
  const { home, maildir } = await makeBenchHome();
  const qmd = await startQmd(home, { workers: navigator.hardwareConcurrency });
  const rows: string[] = [];
  try {
    rows.push(...await cpuRows(qmd, maildir));
    rows.push(...await straceRows(qmd, maildir));
  } finally {
    await qmd.stop();
  }
  if (options.v8Prof) rows.push(...await v8ProfRows());
  return rows;
}
