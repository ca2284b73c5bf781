/**
 * `qmd qread`: qmail-qread, every preprocessed message with its sender and
 * recipients (qmail-qread.c). Output and exit codes are qmail's: 0, or 111
 * after a fatal line.
 */
import { findHomeProblem, resolveHome } from "../../config/home.ts";
import { queueLayoutFor } from "../queue/layout.ts";
import { describeQueue } from "../queue/status.ts";
import { parseCommand } from "./args.ts";
import { EXIT } from "../exit_codes.ts";

const USAGE = `Usage: qmd qread [--home DIR]
Lists the messages in the queue as qmail-qread does: one line per message
(date, #id, size, <sender>, "bouncing"), then one line per recipient,
"done" before those already delivered or bounced.

  --home DIR   the qmd home (default $QMD_HOME, else ./qmd-home)
`;

export async function main(args: string[]): Promise<number> {
  const parsed = parseCommand(
    {
      name: "qmd qread",
      usage: USAGE,
      options: { home: { type: "string" } },
      positionals: false,
    },
    args,
  );
  if (!parsed.ok) return parsed.exitCode;
  const home = resolveHome(parsed.values.home);
  // qmail-qread's "fatal: unable to chdir" does not say where; qmd names the queue (README).
  const problem = findHomeProblem(home, "queue");
  if (problem !== undefined) {
    console.error(`qmd qread: fatal: ${problem}`);
    return EXIT.temporary;
  }
  const { text, exitCode } = describeQueue(queueLayoutFor(home));
  // qmail-qread prints bytes outside 32–126 as "_"; qmd prints UTF-8 addresses as UTF-8 text.
  const bytes = new TextEncoder().encode(text);
  let offset = 0;
  while (offset < bytes.length) offset += await Deno.stdout.write(bytes.subarray(offset));
  return exitCode;
}

if (import.meta.main) Deno.exit(await main(Deno.args));
