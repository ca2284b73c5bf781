/**
 * `qmd inject [-nNaAhH] [-f sender] [recipient ...]`: qmail-inject. Reads a
 * message on stdin, completes its header (appliance/qmail_inject/headers.ts), and
 * queues it with the envelope sender and recipients, exiting 0, 100
 * (permanent) or 111 (temporary) with qmail-inject's "qmail-inject: fatal:"
 * lines. The header is held in memory (at most MAX_HEADER_BYTES); the body
 * streams to the queue.
 *
 * Departure: a message with no recipients at all is refused (qmail-inject
 * would queue it and qmail-send would drop it).
 */
import { parseArgs } from "node:util";
import { parseCommand } from "./args.ts";
import { findHomeProblem, resolveHome } from "../../config/home.ts";
import { ControlError, loadAllControls, readControlLine } from "../../config/control.ts";
import { loadQueueExtrasControls, queueExtrasFor } from "../../config/queue_extras.ts";
import {
  completeHeader,
  type InjectOptions,
  MAX_HEADER_BYTES,
  type RecipientStrategy,
} from "../qmail_inject/headers.ts";
import { findHeaderEnd } from "../qmail_inject/header_fields.ts";
import { resolveInjectControls } from "../qmail_inject/inject_controls.ts";
import { injectMessage, QueueError } from "../queue/qmail_queue.ts";
import { EXIT } from "../exit_codes.ts";
import { exitCodeFor } from "../mail_error.ts";
import { queueLayoutFor } from "../queue/layout.ts";
import { concatBytes } from "../bytes.ts";

const NAME = "qmd inject";

const USAGE = `usage: qmd inject [-nNaAhH] [-f sender] [--home DIR] [recipient ...]

qmail-inject: reads a message on stdin, adds Date, Message-ID and From when
missing, rewrites host names (defaulthost, defaultdomain, plusdomain) and
queues it.

  -f SENDER   envelope sender (default: $QMAILSUSER@$QMAILSHOST, else the From user)
  -a          recipients are the arguments only
  -h          recipients are the header's To, Cc, Bcc (Resent-* with Resent- fields)
  -H          both the arguments and the header
  -A          arguments if any, else the header (the default)
  -n          print the message instead of queueing it
  -N          queue it (the default)
  --home DIR  the home (default: $QMD_HOME, else ./qmd-home)

Environment: QMAILUSER, QMAILHOST, QMAILNAME (and MAILUSER, USER, LOGNAME,
MAILHOST, MAILNAME, NAME), QMAILSUSER, QMAILSHOST, QMAILINJECT, QMAILMFTFILE,
QMAILDEFAULTDOMAIN, QMAILDEFAULTHOST, QMAILPLUSDOMAIN, QMAILIDHOST.
`;

/** One qmail-inject run, as the inject and sendmail commands set it up. */
export interface InjectRun {
  home: string;
  env: Readonly<Record<string, string | undefined>>;
  sender?: string;
  recipients: string[];
  /** "default": the arguments if any, else the header. */
  strategy: RecipientStrategy | "default";
  /** -n: write the message to `stdout` instead of queueing it. */
  printing?: boolean;
  stdin: ReadableStream<Uint8Array>;
  stdout?: WritableStream<Uint8Array>;
  now?: Date;
  pid?: number;
}

function fatal(message: string, exitCode: number): number {
  console.error(`qmail-inject: fatal: ${message}`);
  return exitCode;
}

/** Reads qmail-inject's control files (control_rldef: absent → me → the file's name). */
export function readInjectControls(
  home: string,
  env: Readonly<Record<string, string | undefined>>,
) {
  return resolveInjectControls({
    me: readControlLine(home, "me"),
    defaultdomain: readControlLine(home, "defaultdomain"),
    defaulthost: readControlLine(home, "defaulthost"),
    plusdomain: readControlLine(home, "plusdomain"),
    idhost: readControlLine(home, "idhost"),
  }, env);
}

/**
 * The completed message as a stream: the new header, the buffered start of
 * the body, then the rest of stdin; an unterminated last line gets its LF as
 * qmail-inject's getln gives it one.
 */
function messageStream(
  head: Uint8Array,
  buffered: Uint8Array,
  reader: ReadableStreamDefaultReader<Uint8Array>,
): ReadableStream<Uint8Array> {
  let last = buffered.length > 0 ? buffered[buffered.length - 1] : undefined;
  let started = false;
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      if (!started) {
        started = true;
        controller.enqueue(concatBytes([head, buffered]));
        return;
      }
      const { value, done } = await reader.read();
      if (done) {
        if (last !== undefined && last !== 0x0a) controller.enqueue(new Uint8Array([0x0a]));
        controller.close();
        return;
      }
      if (value.length > 0) {
        last = value[value.length - 1];
        controller.enqueue(value);
      }
    },
    async cancel(reason) {
      await reader.cancel(reason);
    },
  });
}

/** Runs qmail-inject; returns its exit code (0, 100 or 111). */
export async function runInject(run: InjectRun): Promise<number> {
  let controls;
  let followupLists: string[] | undefined;
  try {
    controls = readInjectControls(run.home, run.env);
    const mft = run.env.QMAILMFTFILE;
    if (mft !== undefined) {
      try {
        followupLists = Deno.readTextFileSync(mft).split("\n").filter((line) => line !== "");
      } catch (error) {
        if (!(error instanceof Deno.errors.NotFound)) throw error;
      }
    }
  } catch (error) {
    const reason = error instanceof ControlError ? error.message : (error as Error).message;
    return fatal(`read error: ${reason}`, EXIT.temporary);
  }

  const reader = run.stdin.getReader();
  let buffered: Uint8Array = new Uint8Array(0);
  let headerEnd: number | undefined;
  let eof = false;
  try {
    for (;;) {
      headerEnd = findHeaderEnd(buffered, eof);
      if (headerEnd !== undefined) break;
      if (buffered.length > MAX_HEADER_BYTES) {
        await reader.cancel();
        return fatal(`header longer than ${MAX_HEADER_BYTES} bytes`, EXIT.permanent);
      }
      const { value, done } = await reader.read();
      if (done) eof = true;
      else buffered = concatBytes([buffered, value]);
    }
  } catch (error) {
    return fatal(`read error: ${(error as Error).message}`, EXIT.temporary);
  }

  const strategy: RecipientStrategy = run.strategy === "default"
    ? (run.recipients.length > 0 ? "args" : "header")
    : run.strategy;
  const options: InjectOptions = {
    env: run.env,
    controls,
    now: run.now ?? new Date(),
    pid: run.pid ?? Deno.pid,
    sender: run.sender,
    recipients: run.recipients,
    strategy,
    printing: run.printing,
    followupLists,
  };
  let completed;
  try {
    completed = completeHeader(buffered, headerEnd, options);
  } catch (error) {
    await reader.cancel().catch(() => {});
    // InjectError is permanent (100); anything else is a temporary failure (111).
    return fatal((error as Error).message, exitCodeFor(error));
  }
  const body = messageStream(completed.head, buffered.subarray(headerEnd), reader);

  if (run.printing) {
    try {
      await body.pipeTo(run.stdout ?? Deno.stdout.writable, { preventClose: !run.stdout });
    } catch (error) {
      return fatal(`write error: ${(error as Error).message}`, EXIT.temporary);
    }
    return EXIT.ok;
  }
  if (completed.recipients.length === 0) {
    await reader.cancel().catch(() => {});
    return fatal("no recipients", EXIT.permanent);
  }
  try {
    await injectMessage(queueLayoutFor(run.home), body, completed.sender, completed.recipients, {
      who: `by uid ${Deno.uid() ?? 0}`,
      pid: run.pid,
      now: run.now,
      // qmail-inject's qmail-queue applies bigbrother and extraqueue (no client: no header).
      extras: queueExtrasFor(loadAllControls(() => loadQueueExtrasControls(run.home)), {
        env: {},
        remoteIp: undefined,
        relaying: false,
      }),
    });
  } catch (error) {
    if (error instanceof QueueError) return fatal(error.peerText, exitCodeFor(error));
    return fatal(`unable to queue the message: ${(error as Error).message}`, EXIT.temporary);
  }
  return EXIT.ok;
}

const OPTIONS = {
  home: { type: "string" },
  f: { type: "string", short: "f" },
  a: { type: "boolean", short: "a" },
  A: { type: "boolean", short: "A" },
  h: { type: "boolean", short: "h" },
  H: { type: "boolean", short: "H" },
  n: { type: "boolean", short: "n" },
  N: { type: "boolean", short: "N" },
} as const;

const STRATEGIES: Record<string, RecipientStrategy | "default"> = {
  a: "args",
  A: "default",
  h: "header",
  H: "both",
};

export async function main(
  args: string[],
  stdin: ReadableStream<Uint8Array> = Deno.stdin.readable,
  stdout?: WritableStream<Uint8Array>,
): Promise<number> {
  const parsed = parseCommand({ name: NAME, usage: USAGE, options: OPTIONS }, args);
  if (!parsed.ok) return parsed.exitCode;
  // As with getopt, the last of -a -A -h -H and of -n -N wins.
  let strategy: RecipientStrategy | "default" = "default";
  let printing = false;
  const { tokens } = parseArgs({
    args,
    options: OPTIONS,
    allowPositionals: true,
    strict: true,
    tokens: true,
  });
  for (const token of tokens ?? []) {
    if (token.kind !== "option") continue;
    if (token.name in STRATEGIES) strategy = STRATEGIES[token.name];
    if (token.name === "n") printing = true;
    if (token.name === "N") printing = false;
  }
  const home = resolveHome(parsed.values.home);
  const problem = printing ? undefined : findHomeProblem(home, "queue");
  if (problem !== undefined) {
    // qmail-inject would only say "qq trouble"; 111 is its temporary failure.
    console.error(`qmail-inject: fatal: ${problem}`);
    return EXIT.temporary;
  }
  return await runInject({
    home,
    env: Deno.env.toObject(),
    sender: parsed.values.f,
    recipients: parsed.positionals,
    strategy,
    printing,
    stdin,
    stdout,
  });
}
