/**
 * `qmd queue list|show|retry|bounce|remove|hold|release`: queue control for
 * the operator, through queue_control/control.ts (the running send role, or
 * this command under lock/sendmutex when qmd is stopped). `qmd queue` with
 * no subcommand is qmail-queue (cli/queue.ts).
 */
import { parseCommand, usageError } from "./args.ts";
import { findHomeProblem, resolveHome } from "../../config/home.ts";
import {
  DEFAULT_BOUNCE_REASON,
  isMessageId,
  type OperatorAction,
  type QueueActionResult,
  type QueueReply,
  type QueueRequest,
} from "../queue/control_request.ts";
import { controlQueue } from "../queue_control/control.ts";
import { formatMessageDetail, formatQueueList } from "../queue/queue_listing.ts";
import { EXIT } from "../exit_codes.ts";

const USAGE = `usage: qmd queue list [--home DIR] [--json]
       qmd queue show ID [--home DIR] [--json]
       qmd queue retry|hold|release|remove ID... [--home DIR]
       qmd queue bounce ID... [--reason TEXT] [--home DIR]

Controls the queue. When qmd runs on the home, the send role carries every
request out (it is the queue's one writer); when it does not, the command
does, holding the queue's sendmutex lock.
  list      every message: sender, size, age, state (held, bouncing, not yet
            preprocessed), each recipient's next retry and last deferral
  show      one message: the same, and its header
  retry     try the message's recipients now
  hold      start no delivery of it until release (a marker file; see README)
  release   end the hold; the message is due now
  bounce    bounce its remaining recipients now: the sender gets a bounce
  remove    delete the message from the queue, no bounce
  --home DIR     the qmd home (default $QMD_HOME, else ./qmd-home)
  --json         list, show: the reply as JSON
  --reason TEXT  bounce: the text each recipient gets in the bounce
                 (default: "${DEFAULT_BOUNCE_REASON}")
Exit 0 when every message was handled, 100 when one is not in the queue,
111 when something else failed (or qmd did not answer), 64 on bad arguments.`;

/** Runs `qmd queue SUBCOMMAND ...` (`args` starts with the subcommand). */
export async function main(args: string[]): Promise<number> {
  const [subcommand, ...rest] = args;
  const name = `qmd queue ${subcommand}`;
  const parsed = parseCommand({
    name,
    usage: USAGE,
    options: {
      home: { type: "string" },
      json: { type: "boolean" },
      reason: { type: "string" },
    },
  }, rest);
  if (!parsed.ok) return parsed.exitCode;
  const { values, positionals } = parsed;
  const request = buildRequest(subcommand as OperatorAction, positionals, values);
  if (typeof request === "string") return usageError(name, request);
  if (values.json && request.action !== "list" && request.action !== "show") {
    return usageError(name, "--json is for list and show");
  }
  const home = resolveHome(values.home);
  const problem = findHomeProblem(home, "queue");
  if (problem !== undefined) {
    console.error(`${name}: ${problem}`);
    return EXIT.temporary;
  }
  const outcome = await controlQueue(home, request);
  if (!outcome.ok) {
    console.error(`${name}: ${outcome.reason}`);
    return EXIT.temporary;
  }
  return printReply(name, outcome.reply, values.json === true);
}

/** The request a command line asks for, or what is wrong with it. */
function buildRequest(
  subcommand: OperatorAction,
  positionals: string[],
  values: { reason?: string },
): QueueRequest | string {
  const bad = positionals.find((id) => !isMessageId(id));
  if (bad !== undefined) return `${JSON.stringify(bad)} is not a message number (qmd queue list)`;
  if (values.reason !== undefined && subcommand !== "bounce") return "--reason is for bounce";
  switch (subcommand) {
    case "list":
      return positionals.length === 0 ? { action: "list" } : "list takes no message number";
    case "show":
      return positionals.length === 1
        ? { action: "show", id: positionals[0] }
        : "give one message number";
    case "bounce":
      if (positionals.length === 0) return "give one or more message numbers";
      if (values.reason !== undefined && values.reason.trim() === "") return "--reason is empty";
      return {
        action: "bounce",
        ids: positionals,
        reason: values.reason ?? DEFAULT_BOUNCE_REASON,
      };
    default:
      return positionals.length === 0
        ? "give one or more message numbers"
        : { action: subcommand, ids: positionals };
  }
}

function printReply(name: string, reply: QueueReply, json: boolean): number {
  if (reply.error !== undefined) {
    console.error(`${name}: ${reply.error}`);
    return / is not in the queue$/.test(reply.error) ? EXIT.permanent : EXIT.temporary;
  }
  if (json) {
    const data = reply.message ?? { now: reply.now, by: reply.by, messages: reply.messages };
    console.log(JSON.stringify(data, null, 2));
    return EXIT.ok;
  }
  if (reply.messages !== undefined) console.log(formatQueueList(reply.messages, reply.now));
  if (reply.message !== undefined) console.log(formatMessageDetail(reply.message, reply.now));
  return reply.results === undefined ? EXIT.ok : printResults(name, reply.results);
}

/** One line per message; the exit code of the worst result. */
function printResults(name: string, results: QueueActionResult[]): number {
  let exitCode: number = EXIT.ok;
  for (const result of results) {
    if (result.ok) {
      console.log(`${name}: #${result.id}: ${result.text}`);
      continue;
    }
    console.error(`${name}: #${result.id}: ${result.text}`);
    const code = result.text === "not in the queue" ? EXIT.permanent : EXIT.temporary;
    if (exitCode !== EXIT.temporary) exitCode = code;
  }
  return exitCode;
}
