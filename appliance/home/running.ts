/**
 * Finding and signalling the qmd running on a home: the supervisor writes
 * queue/lock/supervisor.pid on start, and the send role holds
 * queue/lock/sendmutex. A pid is trusted only while the mutex is held, so a
 * stale pid file never makes us signal an unrelated process.
 */
import { queueLayoutFor } from "../queue/layout.ts";

/** The supervisor's pid when a qmd is running on this home, else undefined. */
export function runningQmdPid(home: string): number | undefined {
  const layout = queueLayoutFor(home);
  let file: Deno.FsFile;
  try {
    file = Deno.openSync(layout.sendmutex, { write: true });
  } catch {
    return undefined;
  }
  try {
    if (file.tryLockSync(true)) {
      file.unlockSync();
      return undefined;
    }
  } finally {
    file.close();
  }
  try {
    const pid = Number(Deno.readTextFileSync(`${layout.root}/lock/supervisor.pid`).trim());
    return Number.isSafeInteger(pid) && pid > 1 ? pid : undefined;
  } catch {
    return undefined;
  }
}

/** Sends a signal to the running qmd; returns whether one was there to receive it. */
export function signalRunningQmd(home: string, signal: Deno.Signal): boolean {
  const pid = runningQmdPid(home);
  if (pid === undefined) return false;
  try {
    Deno.kill(pid, signal);
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
