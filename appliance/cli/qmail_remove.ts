/**
 * qmail-remove (seed 004, docs/patches.md): finds queued messages whose
 * text (mess/ID, header and body) contains a pattern and, when asked,
 * takes them out of the queue: moved into a yanked/ directory by default,
 * deleted outright with -d. Installed as `qmail-remove` or run as `qmd
 * remove`. Unlike the original it need not be run with qmail stopped: the
 * removal goes through queue_control/control.ts, so the running send role
 * carries it out (or this command, holding lock/sendmutex, when qmd is
 * stopped).
 *
 *   -p PATTERN  the bytes to look for (case matters); without -p every message matches
 *   -r          take the matches out (yank them); without -r or -d only print them
 *   -n BYTES    look only at the first BYTES bytes of each message
 *   -d          delete the matches instead of yanking them (no -p: every message!)
 *   -y DIR      where yanked files go (default yanked/, relative to the queue)
 */
import { parseCommand, usageError } from "./args.ts";
import { findHomeProblem, resolveHome } from "../../config/home.ts";
import { queueLayoutFor } from "../queue/layout.ts";
import { findMatchingMessages } from "../queue/message_search.ts";
import { controlQueue } from "../queue_control/control.ts";
import { findSupervisor } from "../home/running.ts";
import { resolve } from "node:path";
import { EXIT } from "../exit_codes.ts";

const NAME = "qmail-remove";

/** qmail-remove's default yank directory, under the queue. */
export const DEFAULT_YANK_DIRECTORY = "yanked";

const USAGE = `usage: qmail-remove [-p PATTERN] [-r] [-d] [-n BYTES] [-y DIR] [--home DIR]
       (also: qmd remove ...)

Finds queued messages containing PATTERN (header or body, case matters)
and prints "ID: yes" for each. With -r they are taken out of the queue
into the yank directory; with -d they are deleted. Each file taken is
printed as "remove" and its name in the queue. When qmd runs, its send
role does the removal; otherwise this command does, holding the queue's
sendmutex lock.
  -p PATTERN   the text to look for; without -p every message matches
  -r           actually remove the matches (move them to the yank directory)
  -n BYTES     look only at the first BYTES bytes of each message
  -d           delete the matches instead of yanking them; no -p deletes every message!
  -y DIR       the yank directory (default ${DEFAULT_YANK_DIRECTORY}/, relative to the queue)
  --home DIR   the qmd home (default $QMD_HOME, else ./qmd-home)
Yanked files are named ID.DIR (93049.mess, 93049.info, 93049.remote, ...).
Exit 0 when done, 111 when a message could not be taken, 64 on bad arguments.`;

export async function main(args: string[]): Promise<number> {
  const parsed = parseCommand({
    name: NAME,
    usage: USAGE,
    positionals: false,
    options: {
      home: { type: "string" },
      pattern: { type: "string", short: "p" },
      remove: { type: "boolean", short: "r" },
      bytes: { type: "string", short: "n" },
      delete: { type: "boolean", short: "d" },
      yank: { type: "string", short: "y" },
    },
  }, args);
  if (!parsed.ok) return parsed.exitCode;
  const { values } = parsed;
  if (values.pattern === "") return usageError(NAME, "-p needs a non-empty pattern");
  if (values.yank === "") return usageError(NAME, "-y needs a directory");
  let limit: number | undefined;
  if (values.bytes !== undefined) {
    if (!/^[1-9]\d{0,15}$/.test(values.bytes)) {
      return usageError(
        NAME,
        `-n needs a positive number of bytes, not ${JSON.stringify(values.bytes)}`,
      );
    }
    limit = Number(values.bytes);
  }
  const home = resolveHome(values.home);
  const problem = findHomeProblem(home, "queue");
  if (problem !== undefined) {
    console.error(`${NAME}: fatal: ${problem}`);
    return EXIT.temporary;
  }
  const layout = queueLayoutFor(home);
  const pattern = values.pattern === undefined
    ? undefined
    : new TextEncoder().encode(values.pattern);
  const matches = findMatchingMessages(layout, pattern, limit);
  if (!values.remove && !values.delete) {
    for (const id of matches) console.log(`${id}: yes`);
    if (matches.length > 0) {
      console.error(`${NAME}: ${matches.length} matching; -r yanks them, -d deletes them`);
    }
    return EXIT.ok;
  }
  if (matches.length === 0) return EXIT.ok;
  // -y is relative to the queue, as qmail-remove runs in it.
  const directory = resolve(layout.root, values.yank ?? DEFAULT_YANK_DIRECTORY);
  if (!values.delete && !directory.startsWith(`${layout.root}/`) && findSupervisor(home).ok) {
    console.error(
      `${NAME}: qmd is running and its send role, which yanks, may write only inside ` +
        `${layout.root}: give -y a directory there, or stop qmd first`,
    );
    return EXIT.temporary;
  }
  const ids = matches.map(String);
  const outcome = await controlQueue(
    home,
    values.delete ? { action: "remove", ids } : { action: "yank", ids, directory },
  );
  if (!outcome.ok) {
    console.error(`${NAME}: ${outcome.reason}`);
    return EXIT.temporary;
  }
  if (outcome.reply.error !== undefined) {
    console.error(`${NAME}: ${outcome.reply.error}`);
    return EXIT.temporary;
  }
  let exitCode: number = EXIT.ok;
  for (const result of outcome.reply.results ?? []) {
    if (!result.ok) {
      console.error(`${NAME}: ${result.id}: ${result.text}`);
      exitCode = EXIT.temporary;
      continue;
    }
    console.log(`${result.id}: yes`);
    for (const file of result.files ?? []) console.log(`remove ${file}`);
  }
  return exitCode;
}
