/**
 * `qmd flush`: retry every queued message now, what SIGALRM does to
 * qmail-send (qmail-formats.md §4.7). The running appliance's supervisor
 * writes its pid to HOME/queue/lock/supervisor.pid and turns SIGALRM into a
 * `flush` for the send role; this command sends that signal.
 *
 * Before signalling, it checks (on Linux, where /proc tells) that the process
 * holds HOME/queue/lock/sendmutex open, so a stale pid file never sends
 * SIGALRM, whose default action is to terminate, to an unrelated process.
 */
import { parseCommand } from "./args.ts";
import { resolveHome } from "../../config/home.ts";

const USAGE = `usage: qmd flush [--home DIR]

Asks the running qmd (qmd start) to retry every queued message now, as
SIGALRM does to qmail-send. Exits 111 when qmd is not running.
  --home DIR   the qmd home (default $QMD_HOME, else ./qmd-home)`;

/** Exit code for "try again later" (qmail's temporary failure). */
const EXIT_TEMPORARY = 111;

/** Why the supervisor cannot be signalled, or its pid. */
export type SupervisorLookup =
  | { ok: true; pid: number }
  | { ok: false; reason: string };

/** Reads the supervisor's pid file and checks that the process is qmd on this queue. */
export function findSupervisor(home: string): SupervisorLookup {
  const pidPath = `${home}/queue/lock/supervisor.pid`;
  let text: string;
  try {
    text = Deno.readTextFileSync(pidPath);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) {
      return { ok: false, reason: `no ${pidPath}; is qmd start running?` };
    }
    return { ok: false, reason: `cannot read ${pidPath}: ${(error as Error).message}` };
  }
  const trimmed = text.trim();
  if (!/^[1-9]\d*$/.test(trimmed) || !Number.isSafeInteger(Number(trimmed))) {
    return { ok: false, reason: `${pidPath} does not hold a process id` };
  }
  const pid = Number(trimmed);
  const holds = holdsFile(pid, `${home}/queue/lock/sendmutex`);
  if (holds === "no-process") {
    return { ok: false, reason: `stale ${pidPath}: no process ${pid}; is qmd start running?` };
  }
  if (holds === "no") {
    return {
      ok: false,
      reason: `stale ${pidPath}: process ${pid} does not hold ${home}/queue/lock/sendmutex`,
    };
  }
  return { ok: true, pid };
}

/**
 * Whether process `pid` has `path` open, from /proc/PID/fd. "unknown" when
 * that cannot be read (no /proc, or another user's process).
 */
function holdsFile(pid: number, path: string): "yes" | "no" | "no-process" | "unknown" {
  let target: string;
  try {
    target = Deno.realPathSync(path);
  } catch {
    target = path;
  }
  let entries: Deno.DirEntry[];
  try {
    if (!Deno.statSync("/proc/self").isDirectory) return "unknown";
  } catch {
    return "unknown";
  }
  try {
    entries = [...Deno.readDirSync(`/proc/${pid}/fd`)];
  } catch (error) {
    return error instanceof Deno.errors.NotFound ? "no-process" : "unknown";
  }
  for (const entry of entries) {
    try {
      if (Deno.readLinkSync(`/proc/${pid}/fd/${entry.name}`) === target) return "yes";
    } catch {
      // The descriptor closed meanwhile.
    }
  }
  return "no";
}

export function main(args: string[]): Promise<number> {
  const parsed = parseCommand({
    name: "qmd flush",
    usage: USAGE,
    positionals: false,
    options: { home: { type: "string" } },
  }, args);
  if (!parsed.ok) return Promise.resolve(parsed.exitCode);
  const home = resolveHome(parsed.values.home);
  const found = findSupervisor(home);
  if (!found.ok) {
    console.error(`qmd flush: ${found.reason}`);
    return Promise.resolve(EXIT_TEMPORARY);
  }
  try {
    Deno.kill(found.pid, "SIGALRM");
  } catch (error) {
    const reason = error instanceof Deno.errors.NotFound
      ? `no process ${found.pid}; is qmd start running?`
      : `cannot signal process ${found.pid}: ${(error as Error).message}`;
    console.error(`qmd flush: ${reason}`);
    return Promise.resolve(EXIT_TEMPORARY);
  }
  console.log(`qmd flush: asked qmd (pid ${found.pid}) to retry every queued message now`);
  return Promise.resolve(0);
}
