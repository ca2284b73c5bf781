/**
 * `qmd queue`: qmail-queue (docs/queue-format.md §3). The message comes on fd 0,
 * the envelope on fd 1, read only after the message's EOF; nothing goes to
 * stdout and the result is the exit status (§3.4). It can stand in for
 * bin/qmail-queue through QMAILQUEUE (§3.5): every path is absolute, so the
 * caller's working directory does not matter.
 *
 * Unlike qmail-queue, a failure also prints one line on stderr naming what
 * failed (qmail-queue prints nothing): its callers read only the exit code,
 * and qmail-smtpd's and qmd's logs keep what a queue program says there.
 */
import { resolveHome } from "../../config/home.ts";
import { EnvelopeParser } from "../queue/envelope.ts";
import { errorText } from "../deliver/delivery_error.ts";
import { openQueueMessage, QueueError } from "../queue/qmail_queue.ts";
import { QUEUE_EXIT } from "../exit_codes.ts";
import { queueLayoutFor } from "../queue/layout.ts";
import { parseCommand, usageError } from "./args.ts";
import { OPERATOR_ACTIONS } from "../queue/control_request.ts";
import { loadAllControls } from "../../config/control.ts";
import { loadQueueExtrasControls, queueExtrasFor } from "../../config/queue_extras.ts";

const USAGE = `Usage: qmd queue [--home DIR] <message 1<envelope
Queues one message, as qmail-queue does: the message on fd 0, then the
envelope on fd 1 (F sender NUL, T recipient NUL ..., NUL). Exits 0 when
queued, else with a qmail-queue exit code and one line on stderr.

  --home DIR   the home (default: $QMD_HOME, else ./qmd-home)

qmd queue ${OPERATOR_ACTIONS.join("|")} controls the queue instead
(qmd queue list --help).
`;

/** qmail-queue's alarm(86400): a writer that never finishes gives up after 24 h (§3.2 step 3). */
export const QUEUE_TIMEOUT_MS = 86_400_000;

export interface QueueRun {
  home: string;
  /** fd 0: the message. */
  message: ReadableStream<Uint8Array>;
  /** fd 1, opened only after the message's EOF. */
  openEnvelope: () => Promise<ReadableStream<Uint8Array>>;
  /** The real uid of the caller, for the Received line and the intd u record. */
  uid: number;
  pid?: number;
  now?: Date;
  /** Rings instead of the 24-hour timer (for tests). */
  alarm?: Promise<unknown>;
  /** Told why, once, when the exit code is not 0. */
  onFailure?: (reason: string) => void;
  /**
   * The caller's environment: TCPREMOTEIP, RELAYCLIENT and ORIGINIPFIELD
   * pick the X-Originating-IP header (seed 001's originipfield). Default none.
   */
  env?: Readonly<Record<string, string | undefined>>;
}

export async function main(args: string[]): Promise<number> {
  const first = args[0];
  if ((OPERATOR_ACTIONS as readonly string[]).includes(first)) {
    // Loaded only for queue control: qmail-queue's own path stays as small as it was.
    return await (await import("./queue_control.ts")).main(args);
  }
  const late = args.find((arg) => (OPERATOR_ACTIONS as readonly string[]).includes(arg));
  if (late !== undefined) {
    return usageError("qmd queue", `put the subcommand first: qmd queue ${late} [options]`);
  }
  if (first !== undefined && !first.startsWith("-")) {
    return usageError(
      "qmd queue",
      `unknown subcommand ${JSON.stringify(first)}; qmd queue takes ${
        OPERATOR_ACTIONS.join(", ")
      }, ` +
        "or no argument (qmail-queue)",
    );
  }
  const parsed = parseCommand(
    { name: "qmd queue", usage: USAGE, options: { home: { type: "string" } }, positionals: false },
    args,
  );
  if (!parsed.ok) return parsed.exitCode;
  return await runQueue({
    home: resolveHome(parsed.values.home),
    message: Deno.stdin.readable,
    openEnvelope: async () => (await Deno.open("/dev/fd/1", { read: true })).readable,
    uid: Deno.uid() ?? 0,
    onFailure: (reason) => console.error(`qmd queue: ${reason}`),
    env: Deno.env.toObject(),
  });
}

/** Does what qmail-queue does and returns its exit code. */
export async function runQueue(run: QueueRun): Promise<number> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  // On the alarm qmail-queue exits 52 without cleanup; leftovers go in the 36-hour sweep (§4.9).
  const alarm = run.alarm ?? new Promise((resolve) => {
    timer = setTimeout(resolve, QUEUE_TIMEOUT_MS);
  });
  try {
    const alarmed = alarm.then(() => {
      run.onFailure?.(`timed out after 24 hours (exit ${QUEUE_EXIT.timeout})`);
      return QUEUE_EXIT.timeout;
    });
    return await Promise.race([queue(run), alarmed]);
  } finally {
    clearTimeout(timer);
  }
}

async function queue(run: QueueRun): Promise<number> {
  const fail = (code: number, reason: string) => {
    run.onFailure?.(`${reason} (exit ${code})`);
    return code;
  };
  try {
    if (!(await Deno.stat(run.home)).isDirectory) {
      return fail(QUEUE_EXIT.home, `cannot use the home ${run.home}: not a directory`);
    }
  } catch (error) {
    return fail(QUEUE_EXIT.home, `cannot use the home ${run.home}: ${errorText(error)}`);
  }
  // qmail-queue's additions in the seed patches: bigbrother, extraqueue, originipfield.
  let extras;
  try {
    const env = run.env ?? {};
    extras = queueExtrasFor(loadAllControls(() => loadQueueExtrasControls(run.home)), {
      env,
      remoteIp: env.TCPREMOTEIP,
      relaying: env.RELAYCLIENT !== undefined,
    });
  } catch (error) {
    return fail(QUEUE_EXIT.configuration, reasonOf(error));
  }
  let message;
  try {
    message = await openQueueMessage(queueLayoutFor(run.home), {
      extras,
      pid: run.pid,
      // qmd runs as one uid, so qmail's "from network" / "for bounce" / "by alias"
      // (which key on qmaild, qmails and alias uids) never apply here (§3.3).
      who: `by uid ${run.uid}`,
      now: run.now,
    });
  } catch (error) {
    return fail(exitCodeOf(error), reasonOf(error));
  }
  try {
    for await (const chunk of readAll(run.message)) await message.write(chunk);
    const envelope = await readEnvelope(await openEnvelopeStream(run));
    await message.commit(envelope.sender, envelope.recipients, String(run.uid));
    return QUEUE_EXIT.ok;
  } catch (error) {
    // qmail-queue cleans up only after 53/54; qmd removes what it made on every failure.
    await message.abort();
    return fail(exitCodeOf(error), reasonOf(error));
  }
}

async function* readAll(stream: ReadableStream<Uint8Array>): AsyncGenerator<Uint8Array> {
  const reader = stream.getReader();
  try {
    for (;;) {
      let result;
      try {
        result = await reader.read();
      } catch (error) {
        throw new QueueError(QUEUE_EXIT.read, "Cannot read the message", { cause: error });
      }
      if (result.done) return;
      yield result.value;
    }
  } finally {
    reader.releaseLock();
  }
}

async function openEnvelopeStream(run: QueueRun): Promise<ReadableStream<Uint8Array>> {
  try {
    return await run.openEnvelope();
  } catch (error) {
    throw new QueueError(QUEUE_EXIT.read, "Cannot open the envelope", { cause: error });
  }
}

/** Reads fd 1 up to the envelope's terminating NUL and no further (§3.1). */
async function readEnvelope(stream: ReadableStream<Uint8Array>) {
  const parser = new EnvelopeParser();
  const reader = stream.getReader();
  try {
    for (;;) {
      let result;
      try {
        result = await reader.read();
      } catch (error) {
        throw new QueueError(QUEUE_EXIT.read, "Cannot read the envelope", { cause: error });
      }
      if (result.done) return parser.finish();
      const envelope = parser.push(result.value);
      if (envelope) return envelope;
    }
  } finally {
    await reader.cancel().catch(() => {});
  }
}

/** An error's message, then its cause in qmail's error_str words. */
function reasonOf(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  const cause = error instanceof Error ? error.cause : undefined;
  return cause === undefined ? message : `${message}: ${errorText(cause)}`;
}

/** qmail-queue's exit code for a failure; EnvelopeError is a QueueError too. */
function exitCodeOf(error: unknown): number {
  if (error instanceof QueueError) return error.exitCode;
  return QUEUE_EXIT.internalBug;
}

if (import.meta.main) Deno.exit(await main(Deno.args));
