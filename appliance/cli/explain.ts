/**
 * `qmd explain SESSION-ID|MESSAGE-ID`: prints what the checks decided in the
 * sessions the id names (the session id of the log lines, a queue id, or a
 * Message-ID header) from the decision trace in HOME/log/trace
 * (appliance/trace/store.ts), newest first.
 */
import { findHomeProblem, resolveHome } from "../../config/home.ts";
import { parseCommand, usageError } from "./args.ts";
import { EXIT } from "../exit_codes.ts";
import { findTraces, TRACE_KEEP_DAYS, traceDirectory } from "../trace/store.ts";
import { formatTrace } from "../trace/explain_format.ts";

const NAME = "qmd explain";
/** Nothing found, as grep answers. */
const NOT_FOUND = 1;

const USAGE = `usage: qmd explain SESSION-ID|MESSAGE-ID [--home DIR] [--json] [--limit N]

Prints the decision trace of the SMTP sessions ID names: the session id the
log lines carry (smtpd 2.17: ...), the queue id of a message a session queued
(msg 1234567), or a message's Message-ID header (with or without < >). For
each: the client, its HELO, every check's decision (time, phase, check, what
was checked, verdict, the rule's control file and line, the reply sent) and
the messages queued. Session ids restart with qmd, so one may name several
sessions; the newest come first.

Traces are kept in HOME/log/trace, one file a day, for ${TRACE_KEEP_DAYS} days.

  --home DIR   the qmd home (default $QMD_HOME, else ./qmd-home)
  --json       print the traces as JSON lines, as stored
  --limit N    at most N sessions (default 20)

Exit codes: 0 found, 1 no trace names ID, 64 usage, 100 no usable home,
111 the traces cannot be read.
`;

export async function main(args: string[]): Promise<number> {
  const parsed = parseCommand({
    name: NAME,
    usage: USAGE,
    options: { home: { type: "string" }, json: { type: "boolean" }, limit: { type: "string" } },
  }, args);
  if (!parsed.ok) return parsed.exitCode;
  if (parsed.positionals.length !== 1 || parsed.positionals[0].trim() === "") {
    return usageError(NAME, "expected one SESSION-ID or MESSAGE-ID");
  }
  const limit = parsed.values.limit === undefined ? 20 : Number(parsed.values.limit);
  if (!Number.isInteger(limit) || limit < 1) {
    return usageError(NAME, "--limit needs a whole number above 0");
  }
  const id = parsed.positionals[0].trim();
  const home = resolveHome(parsed.values.home);
  const problem = findHomeProblem(home);
  if (problem !== undefined) {
    console.error(`${NAME}: ${problem}`);
    return EXIT.permanent;
  }
  let traces;
  try {
    traces = await findTraces(home, id, limit);
  } catch (error) {
    console.error(
      `${NAME}: cannot read the traces in ${traceDirectory(home)}: ${(error as Error).message}`,
    );
    return EXIT.temporary;
  }
  if (traces.length === 0) {
    console.error(
      `${NAME}: no session, queue id or Message-ID ${JSON.stringify(id)} in the traces of ` +
        `${traceDirectory(home)} (kept ${TRACE_KEEP_DAYS} days)`,
    );
    return NOT_FOUND;
  }
  if (parsed.values.json) {
    for (const trace of traces) console.log(JSON.stringify(trace));
    return EXIT.ok;
  }
  if (traces.length > 1) console.log(`${traces.length} sessions match ${JSON.stringify(id)}:`);
  traces.forEach((trace, i) => {
    if (i > 0) console.log("");
    for (const line of formatTrace(trace)) console.log(line);
  });
  return EXIT.ok;
}

if (import.meta.main) Deno.exit(await main(Deno.args));
