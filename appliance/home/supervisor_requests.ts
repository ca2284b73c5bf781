/**
 * Asking the running supervisor something and reading its answer: the
 * command writes a request file under HOME/queue/lock/ named KIND.PID and
 * sends SIGUSR1 to the supervisor (whose pid running.ts checks); the
 * supervisor answers every request file it finds with a reply file
 * KIND.PID.reply beside it, and the command reads and removes that. Both
 * files are written under a temporary name and renamed, so neither side
 * reads half a file. `qmd status`/`unblock` (login_blocks.ts, kind authreq)
 * and `qmd queue` (queue_control/, kind queuereq) use it.
 */
import { logEvent } from "../log.ts";
import { findSupervisor } from "./running.ts";
import { homePaths } from "../../config/home.ts";
import { queueDirectory } from "../queue/layout.ts";

/** What the supervisor answers a request with; undefined when it cannot be read (no reply). */
export type RequestAnswer = (
  text: string,
  path: string,
) => Promise<string | undefined> | string | undefined;

/** Replies older than this were left by a command that gave up: removed. */
const STALE_REPLY_MS = 60_000;

function lockDir(home: string): string {
  return queueDirectory(homePaths(home).queue, "lock");
}

function writeAtomically(path: string, text: string): void {
  const temporary = `${path}.tmp`;
  Deno.writeTextFileSync(temporary, text, { mode: 0o600 });
  Deno.renameSync(temporary, path);
}

/**
 * The supervisor's side, on SIGUSR1: answers every KIND.PID request file in
 * queue/lock/ and removes stale KIND replies. Never throws: a request that
 * fails is removed and logged (event `KIND_failed`).
 */
export async function answerSupervisorRequests(
  home: string,
  kind: string,
  answer: RequestAnswer,
): Promise<void> {
  const dir = lockDir(home);
  const requestName = new RegExp(`^${kind}\\.\\d+$`);
  let names: string[];
  try {
    names = [...Deno.readDirSync(dir)].map((entry) => entry.name).sort();
  } catch (error) {
    logEvent(`${kind}_failed`, `alert: cannot read ${dir}: ${(error as Error).message}`);
    return;
  }
  for (const name of names) {
    const path = `${dir}/${name}`;
    try {
      if (name.startsWith(`${kind}.`) && name.endsWith(".reply")) {
        if (Date.now() - (Deno.statSync(path).mtime?.getTime() ?? 0) > STALE_REPLY_MS) {
          Deno.removeSync(path);
        }
        continue;
      }
      if (!requestName.test(name)) continue;
      let text: string;
      try {
        text = Deno.readTextFileSync(path);
        Deno.removeSync(path);
      } catch (error) {
        // Another SIGUSR1's pass took it first.
        if (error instanceof Deno.errors.NotFound) continue;
        throw error;
      }
      const reply = await answer(text, path);
      if (reply !== undefined) writeAtomically(`${path}.reply`, reply);
    } catch (error) {
      logEvent(`${kind}_failed`, `alert: ${path}: ${(error as Error).message}`);
    }
  }
}

/** The command's side: sends the request and waits (at most `timeoutMs`) for the reply's text. */
export async function askSupervisor(
  home: string,
  kind: string,
  request: string,
  timeoutMs = 10_000,
): Promise<{ ok: true; pid: number; reply: string } | { ok: false; reason: string }> {
  const found = findSupervisor(home);
  if (!found.ok) return found;
  const path = `${lockDir(home)}/${kind}.${Deno.pid}`;
  try {
    writeAtomically(path, request);
  } catch (error) {
    return { ok: false, reason: `cannot write ${path}: ${(error as Error).message}` };
  }
  const cleanUp = () => {
    for (const leftover of [path, `${path}.reply`]) {
      try {
        Deno.removeSync(leftover);
      } catch {
        // already gone
      }
    }
  };
  try {
    Deno.kill(found.pid, "SIGUSR1");
  } catch (error) {
    cleanUp();
    return { ok: false, reason: `cannot signal process ${found.pid}: ${(error as Error).message}` };
  }
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    let text: string | undefined;
    try {
      text = Deno.readTextFileSync(`${path}.reply`);
    } catch (error) {
      if (!(error instanceof Deno.errors.NotFound)) {
        cleanUp();
        return { ok: false, reason: `cannot read ${path}.reply: ${(error as Error).message}` };
      }
    }
    if (text !== undefined) {
      cleanUp();
      return { ok: true, pid: found.pid, reply: text };
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  cleanUp();
  return {
    ok: false,
    reason: `qmd (pid ${found.pid}) did not answer within ${timeoutMs / 1000} s`,
  };
}
