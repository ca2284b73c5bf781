/**
 * Start-up and periodic recovery of what a dead queue writer left behind
 * (docs/queue-format.md §4.9): qmail-clean's sweep of pid/ and qmail-send's
 * cleanup of S2/S3 messages (mess, maybe intd, but no todo and no info).
 * 36 hours (OSSIFIED_SECONDS) exceeds the writer's 24-hour alarm, so no
 * live writer can own what is removed.
 */
import { logInfo, logWarning } from "../log.ts";
import { anyEntryExists, removeEntries } from "./entries.ts";
import { OSSIFIED_SECONDS, type QueueLayout, queueName, SIDECAR_DIRECTORIES } from "./layout.ts";
import { fileExists, removeIfPresent } from "../durable_file.ts";

export interface RecoveryReport {
  /** Names removed from pid/. */
  pidFiles: string[];
  /** Messages removed from S2/S3 (the "foop" operation). */
  messages: bigint[];
  /** qmd's sidecars (hold/ID, deferral/ID) left by a message that is gone. */
  sidecars: string[];
}

/** Both sweeps, as qmail does them at start-up. */
export async function recoverQueue(layout: QueueLayout, now: Date): Promise<RecoveryReport> {
  return {
    pidFiles: await removeOssifiedPidFiles(layout, now),
    messages: await removeOssifiedMessages(layout, now),
    sidecars: removeOrphanSidecars(layout),
  };
}

/**
 * Removes hold/ID and deferral/ID whose message has no mess/ID: qmd removes
 * them with the message, but a real qmail-send finishing a message on this
 * queue leaves them, and a new message could get the same number.
 */
export function removeOrphanSidecars(layout: QueueLayout): string[] {
  const removed: string[] = [];
  for (const name of SIDECAR_DIRECTORIES) {
    let entries: Deno.DirEntry[];
    try {
      entries = [...Deno.readDirSync(layout.sidecarDirectory(name))];
    } catch {
      continue;
    }
    for (const entry of entries) {
      if (!/^\d+$/.test(entry.name)) continue;
      const id = BigInt(entry.name);
      try {
        if (fileExists(layout.mess(id))) continue;
        Deno.removeSync(layout.sidecar(name, id));
        removed.push(queueName(layout, layout.sidecar(name, id)));
      } catch {
        // Looked at again at the next cleanup.
      }
    }
  }
  return removed;
}

/**
 * qmail-clean's cleanuppid: unlinks every pid/ entry whose atime is at least
 * 36 hours old (`now >= atime + OSSIFIED`).
 */
export async function removeOssifiedPidFiles(layout: QueueLayout, now: Date): Promise<string[]> {
  const removed: string[] = [];
  const seconds = Math.floor(now.getTime() / 1000);
  let entries: Deno.DirEntry[];
  try {
    entries = await Array.fromAsync(Deno.readDir(layout.pidDir));
  } catch {
    return removed;
  }
  for (const entry of entries) {
    const path = layout.pid(entry.name);
    const atime = await atimeOf(path);
    if (atime === undefined || seconds < atime + OSSIFIED_SECONDS) continue;
    try {
      await Deno.remove(path);
      removed.push(entry.name);
    } catch {
      // qmail-clean ignores a failed unlink here.
    }
  }
  return removed;
}

/**
 * qmail-send's cleanup pass over mess/*: a message whose mess atime is more
 * than 36 hours old (`now > atime + OSSIFIED`) and which has no todo, info,
 * local or remote entry in either form (split `todo/NN/ID` or flat
 * `todo/ID`, which a vanilla qmail-queue writes even into a big-todo queue)
 * is removed as qmail-clean's `foop/ID` does: unlink intd/ID (both forms),
 * then mess/NN/ID (ENOENT ignored). qmail looks at info/NN/ID and todo/ID
 * only; a body is never removed here while anything still refers to it. Any
 * doubt (a stat error other than ENOENT) leaves the message alone; S4 and S5
 * are never touched. Each removal is logged (qmail-clean is silent).
 */
export async function removeOssifiedMessages(layout: QueueLayout, now: Date): Promise<bigint[]> {
  const removed: bigint[] = [];
  const seconds = Math.floor(now.getTime() / 1000);
  for (const id of layout.listIds("mess")) {
    const atime = await atimeOf(layout.mess(id));
    if (atime === undefined || seconds <= atime + OSSIFIED_SECONDS) continue;
    if (referenced(layout, id)) continue;
    try {
      removeEntries(layout.intdForms(id));
      await removeIfPresent(layout.mess(id));
      removed.push(id);
      logInfo(`cleanup: removed msg ${id}, left unqueued by a dead queue writer`, {
        msg: Number(id),
        atime,
      });
    } catch (error) {
      logWarning(`qmail-clean unable to clean up foop/${id}`, {
        msg: Number(id),
        reason: (error as Error).message,
      });
    }
  }
  return removed;
}

/** Whether any todo, info, local or remote entry of the message may exist, in either form. */
function referenced(layout: QueueLayout, id: bigint): boolean {
  const names = ["todo", "info", "local", "remote"] as const;
  try {
    return anyEntryExists(names.flatMap((name) => layout.entryForms(name, id)));
  } catch {
    return true;
  }
}

/** The atime in whole seconds, or undefined when the file cannot be stat'ed. */
async function atimeOf(path: string): Promise<number | undefined> {
  try {
    const atime = (await Deno.stat(path)).atime;
    return atime ? Math.floor(atime.getTime() / 1000) : undefined;
  } catch {
    return undefined;
  }
}
