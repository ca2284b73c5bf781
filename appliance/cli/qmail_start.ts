/**
 * `qmail-start [defaultdelivery [logger args...]]` (docs/queue-format.md
 * §1.2; seed 000's run file `qmail-start ./Maildir/ splogger qmail`): qmd
 * start under qmail's name. The first argument is the default delivery for
 * users without a .qmail file (`./Maildir/`, `./Mailbox`, `|program`, as
 * .qmail lines); the rest, when given, is a logger program started with the
 * activity log on its standard input, as qmail-start forks it. The home is
 * $QMD_HOME (qmail-start takes no options), and the listeners are qmd
 * start's defaults.
 */
import { main as startMain, type StartWiring } from "./start.ts";
import { EXIT } from "../exit_codes.ts";

const USAGE = `usage: qmail-start [defaultdelivery [logger args...]]

Runs qmd (qmd start) on $QMD_HOME. defaultdelivery is the delivery for users
without a .qmail file (default ./Maildir/); a logger program given after it gets
the activity log on its standard input (qmail-start ./Maildir/ splogger qmail).`;

export function main(args: string[]): Promise<number> {
  return runQmailStart(args, startMain);
}

/** qmail-start's arguments as `start` (qmd start's main) options, with the logger wired in. */
export async function runQmailStart(
  args: string[],
  start: (args: string[], wiring?: StartWiring) => Promise<number>,
): Promise<number> {
  if (args[0] === "--help" || args[0] === "-h") {
    console.log(USAGE);
    return EXIT.ok;
  }
  const [delivery, ...logger] = args;
  const startArgs = delivery === undefined ? [] : ["--default-delivery", delivery];
  if (logger.length === 0) return await start(startArgs);
  let child: Deno.ChildProcess;
  try {
    child = new Deno.Command(logger[0], {
      args: logger.slice(1),
      stdin: "piped",
      stdout: "inherit",
      stderr: "inherit",
    }).spawn();
  } catch (error) {
    console.error(`qmail-start: cannot start the logger ${logger[0]}: ${(error as Error).message}`);
    return EXIT.temporary;
  }
  const writer = child.stdin.getWriter();
  const encoder = new TextEncoder();
  // A logger that died takes no more lines; qmd goes on (qmail-send would get SIGPIPE, but the
  // mail matters more than its log here).
  const writeLine = (line: string) => writer.write(encoder.encode(`${line}\n`)).catch(() => {});
  try {
    return await start(startArgs, { writeLine });
  } finally {
    await writer.close().catch(() => {});
    await child.status;
  }
}
