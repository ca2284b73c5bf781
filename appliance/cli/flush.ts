/**
 * `qmd flush`: retry every queued message now, what SIGALRM does to
 * qmail-send (docs/queue-format.md §4.7). The running appliance's supervisor
 * writes its pid to HOME/queue/lock/supervisor.pid and turns SIGALRM into a
 * `flush` for the send role; this command sends that signal.
 *
 * findSupervisor checks that the pid really is qmd on this queue, so a stale
 * pid file never sends SIGALRM (whose default action is to terminate) to an
 * unrelated process.
 */
import { parseCommand } from "./args.ts";
import { findHomeProblem, resolveHome } from "../../config/home.ts";
import { findSupervisor } from "../home/running.ts";
import { EXIT } from "../exit_codes.ts";

const USAGE = `usage: qmd flush [--home DIR]

Asks the running qmd (qmd start) to retry every queued message now, as
SIGALRM does to qmail-send. Exits 111 when qmd is not running.
  --home DIR   the qmd home (default $QMD_HOME, else ./qmd-home)`;

/** Exit code for "try again later" (qmail's temporary failure). */

export function main(args: string[]): Promise<number> {
  const parsed = parseCommand({
    name: "qmd flush",
    usage: USAGE,
    positionals: false,
    options: { home: { type: "string" } },
  }, args);
  if (!parsed.ok) return Promise.resolve(parsed.exitCode);
  const home = resolveHome(parsed.values.home);
  const problem = findHomeProblem(home, "queue");
  if (problem !== undefined) {
    console.error(`qmd flush: ${problem}`);
    return Promise.resolve(EXIT.temporary);
  }
  const found = findSupervisor(home);
  if (!found.ok) {
    console.error(`qmd flush: ${found.reason}`);
    return Promise.resolve(EXIT.temporary);
  }
  try {
    Deno.kill(found.pid, "SIGALRM");
  } catch (error) {
    const reason = error instanceof Deno.errors.NotFound
      ? `no process ${found.pid}; is qmd start running?`
      : `cannot signal process ${found.pid}: ${(error as Error).message}`;
    console.error(`qmd flush: ${reason}`);
    return Promise.resolve(EXIT.temporary);
  }
  console.log(`qmd flush: asked qmd (pid ${found.pid}) to retry every queued message now`);
  return Promise.resolve(EXIT.ok);
}
