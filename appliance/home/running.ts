/**
 * Finding and signalling the qmd running on a home. The supervisor writes
 * queue/lock/supervisor.pid on start and the send role holds
 * queue/lock/sendmutex. A pid is trusted only when (on Linux, where /proc
 * tells) that process holds the sendmutex open, so a stale pid file never
 * makes us signal an unrelated process, and the lock itself is never touched.
 */
import { homePaths } from "../../config/home.ts";
import { lockFile } from "../queue/layout.ts";

/** Why the supervisor cannot be signalled, or its pid. */
export type SupervisorLookup =
  | { ok: true; pid: number }
  | { ok: false; reason: string };

/** Reads the supervisor's pid file and checks that the process is qmd on this queue. */
export function findSupervisor(home: string): SupervisorLookup {
  const queue = homePaths(home).queue;
  const pidPath = lockFile(queue, "supervisor.pid");
  const sendmutex = lockFile(queue, "sendmutex");
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
  const holds = holdsFile(pid, sendmutex);
  if (holds === "no-process") {
    return { ok: false, reason: `stale ${pidPath}: no process ${pid}; is qmd start running?` };
  }
  if (holds === "no") {
    return {
      ok: false,
      reason: `stale ${pidPath}: process ${pid} does not hold ${sendmutex}`,
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

/**
 * The processes that have `path` open, from each /proc/PID/fd (on Linux; elsewhere,
 * or for other users' processes when not root, none are seen). Used to
 * tell whether a qmail-send holds a queue's lock/sendmutex.
 */
export function processesHolding(path: string): number[] {
  let entries: Deno.DirEntry[];
  try {
    entries = [...Deno.readDirSync("/proc")];
  } catch {
    return [];
  }
  return entries.filter((entry) => /^\d+$/.test(entry.name)).map((entry) => Number(entry.name))
    .filter((pid) => holdsFile(pid, path) === "yes").sort((a, b) => a - b);
}

/** Sends a signal to the running qmd; returns whether one was there to receive it. */
export function signalRunningQmd(home: string, signal: Deno.Signal): boolean {
  const found = findSupervisor(home);
  if (!found.ok) return false;
  try {
    Deno.kill(found.pid, signal);
    return true;
  } catch {
    return false;
  }
}

/** After a change to control files: SIGHUP the running qmd, and say what happened. */
export function reloadRunningQmd(home: string, name: string): void {
  if (signalRunningQmd(home, "SIGHUP")) {
    console.log(`${name}: sent SIGHUP to the running qmd; it now uses the new control files`);
  } else {
    console.log(`${name}: no qmd is running on ${home}; the change takes effect at its next start`);
  }
}
