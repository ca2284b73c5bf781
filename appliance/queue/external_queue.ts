/**
 * The qmail-queue client side toward an external program: what qmail's
 * qmail_open/qmail_put/qmail_close do when QMAILQUEUE names a program
 * (docs/queue-format.md §3.5). The program gets the message on fd 0 and the
 * envelope on fd 1, and answers with its exit status (§3.4); exit 82 with a
 * `D…` or `Z…` line on stderr is a custom permanent or temporary reply
 * (docs/patches.md seed 001, "Alternative qmail-queue program with custom error message").
 *
 * qmail hands the child two pipes. Deno.Command cannot give a child a
 * readable fd 1, so the envelope goes through a file instead: an empty file
 * is created under queue/pid/ (named `qq.PID.SEQ.RANDOM`, which never
 * matches qmail-queue's `PID.TIME.SEQ` names), `/bin/sh` opens it as the
 * program's fd 1 and execs the program, and the file's name is removed as
 * soon as the shell reports (one byte on stderr) that it has it open. The
 * envelope is written into the file only at commit, before the message's
 * EOF: qmail-queue reads fd 1 only after fd 0's EOF (§3.1), so it always
 * sees the whole envelope. An abort never writes it, so the program sees an
 * empty envelope and exits 54 without queueing anything (§3.5, last point).
 */
import { writeAllSync } from "../write_all.ts";
import { formatEnvelope } from "./envelope.ts";
import { QUEUE_EXIT } from "../exit_codes.ts";
import { QueueError } from "./queue_error.ts";
import type { QueueLayout } from "./layout.ts";
import { removeIfPresent } from "../durable_file.ts";

/** qmail_close's texts for a crashed queue program (qmail.c, §3.4 "client-side conditions"). */
const TEXT_CRASHED = "Zqq crashed (#4.3.0)";
/** The custom-error exit code of the aio patch (docs/patches.md seed 001) and notqmail (§3.4). */
export const EXIT_CUSTOM_ERROR = QUEUE_EXIT.customError;
/** notqmail reads at most 255 bytes of custom error text (§3.4). */
const CUSTOM_TEXT_BYTES = 255;
/** Stderr kept for the log and the custom text; the rest is read and dropped. */
const STDERR_KEEP_BYTES = 1024;
/** After the program's exit, the wait for its stderr's first line (a grandchild may hold it). */
const STDERR_GRACE_MS = 1000;
/** Default wait between closing stdin, SIGTERM and SIGKILL in an abort. */
const DEFAULT_KILL_GRACE_SECONDS = 2;
/** Tries at creating the envelope file, as qmail-queue tries 9 pid file names (§3.2 step 4). */
const ENVELOPE_FILE_ATTEMPTS = 9;
/** The byte the shell writes to stderr once fd 1 is open, before it execs the program. */
const STARTED_MARKER = 0x2e; // "."

/**
 * $1 = envelope file, $2 = program. qmail execs the program with no
 * arguments and no PATH search (§3.5); a missing or non-executable program
 * is exit 120, as qmail's client reports a failed exec.
 */
const LAUNCHER = 'exec 1<"$1"; printf . >&2; [ -f "$2" ] && [ -x "$2" ] || exit 120; exec "$2"';

export interface ExternalQueueOptions {
  /**
   * Longest wait, in seconds, for the program to take one chunk of the
   * message and for it to exit once the envelope is written. On expiry the
   * program is killed and the result is qmail-queue's own timeout, exit 52
   * ("qq timeout", §3.2 step 3, §3.4). qmail-smtpd itself waits for ever.
   */
  timeoutSeconds: number;
  /**
   * The program's working directory; a relative program name is relative to
   * it, as qmail's client chdirs to QMAILHOME before execv (§3.5). Default:
   * this process's.
   */
  cwd?: string;
  /**
   * Variables set in the program's environment on top of this process's
   * (qmail-smtpd's child inherits TCPREMOTEIP, RELAYCLIENT and the rest).
   */
  env?: Record<string, string>;
  /** In an abort or timeout, the wait before SIGTERM and again before SIGKILL; default 2 s. */
  killGraceSeconds?: number;
}

/**
 * One message going to an external queue program. Calls must not overlap:
 * await each one. Like QueueMessage (qmail_queue.ts) without an id: the id is the
 * program's business; `qp` is its pid, as qmail-smtpd reports it (§3.5).
 */
export interface ExternalQueueMessage {
  /** The program's pid, decimal. */
  readonly qp: string;
  /** Message bytes handed to write() so far. */
  readonly bytesWritten: number;
  /**
   * Sends message bytes to the program's fd 0, waiting while its pipe is
   * full. If the program stopped reading (closed fd 0 or exited), the rest is
   * dropped and its exit status decides at commit, as qmail_put does. Throws
   * QueueError 52 when the program takes nothing for timeoutSeconds (it is
   * killed and the message aborted).
   */
  write(chunk: Uint8Array): Promise<void>;
  /**
   * Writes and fsyncs the envelope (F sender, T recipients, §3.1), then
   * closes the message's fd 0 and waits for the program. Exit 0 is success;
   * anything else throws QueueError: exit 82 with the program's `D…`/`Z…`
   * text, other codes with qmail_close's text (§3.4).
   */
  commit(sender: Uint8Array, recipients: Uint8Array[]): Promise<void>;
  /**
   * Ends the message without an envelope: the program sees fd 0's EOF and an
   * empty fd 1 (a qmail-queue exits 54 and removes what it wrote); a program
   * still running after the grace gets SIGTERM, then SIGKILL. Never throws;
   * does nothing after commit; may be called twice.
   */
  abort(): Promise<void>;
}

let envelopeFileSequence = 0;

/**
 * Starts `program` as the queue for one message: creates the envelope file
 * under queue/pid/ and spawns the program with fd 0 = a pipe from us, fd 1 =
 * that file, fd 2 = a pipe to us. Throws QueueError 63 when the file cannot
 * be created and 120 when the program cannot be started.
 */
export async function openExternalQueue(
  program: string,
  layout: QueueLayout,
  options: ExternalQueueOptions,
): Promise<ExternalQueueMessage> {
  if (!(options.timeoutSeconds > 0)) {
    throw new RangeError(`The queue program timeout must be positive: ${options.timeoutSeconds}`);
  }
  const { path, file } = createEnvelopeFile(layout);
  let child: Deno.ChildProcess;
  try {
    child = new Deno.Command("/bin/sh", {
      args: ["-c", LAUNCHER, "sh", path, program.includes("/") ? program : `./${program}`],
      cwd: options.cwd,
      env: options.env,
      stdin: "piped",
      stdout: "null",
      stderr: "piped",
    }).spawn();
  } catch (error) {
    file.close();
    // A leftover is removed by the 36-hour pid/ sweep (§4.9).
    await removeIfPresent(path).catch(() => {});
    throw new QueueError(QUEUE_EXIT.execFailed, `Cannot start the queue program ${program}`, {
      cause: error,
    });
  }
  return new ExternalQueue(program, child, path, file, options);
}

/**
 * The reply text of a queue program's exit 82 from the start of its stderr:
 * the first line, at most 255 bytes, when it starts with D or Z and has text
 * after the letter. Bytes that cannot go into an SMTP reply line (controls,
 * non-ASCII) become "?". Undefined when there is no such text.
 */
export function parseCustomQueueError(stderr: Uint8Array): string | undefined {
  const newline = stderr.indexOf(0x0a);
  let line = stderr.subarray(0, Math.min(newline < 0 ? stderr.length : newline, CUSTOM_TEXT_BYTES));
  if (line.length > 0 && line[line.length - 1] === 0x0d) line = line.subarray(0, line.length - 1);
  if (line.length < 2 || (line[0] !== 0x44 && line[0] !== 0x5a)) return undefined;
  let text = "";
  for (const byte of line) text += byte >= 0x20 && byte <= 0x7e ? String.fromCharCode(byte) : "?";
  return text.slice(1).trim() === "" ? undefined : text;
}

function createEnvelopeFile(layout: QueueLayout): { path: string; file: Deno.FsFile } {
  let lastError: unknown;
  for (let attempt = 0; attempt < ENVELOPE_FILE_ATTEMPTS; attempt++) {
    const random = crypto.getRandomValues(new Uint32Array(1))[0].toString(16);
    const path = layout.pid(`qq.${Deno.pid}.${++envelopeFileSequence}.${random}`);
    try {
      return { path, file: Deno.openSync(path, { write: true, createNew: true, mode: 0o600 }) };
    } catch (error) {
      lastError = error;
      if (!(error instanceof Deno.errors.AlreadyExists)) break;
    }
  }
  throw new QueueError(
    QUEUE_EXIT.pid,
    `Cannot create an envelope file in ${layout.pidDir}`,
    { cause: lastError },
  );
}

type Phase = "writing" | "committing" | "done";

const TIMED_OUT = Symbol("timed out");

class ExternalQueue implements ExternalQueueMessage {
  readonly qp: string;
  #program: string;
  #child: Deno.ChildProcess;
  #stdin: WritableStreamDefaultWriter<Uint8Array>;
  #stdinClosed = false;
  #envelopePath: string;
  #envelopeFile: Deno.FsFile | undefined;
  #envelopeRemoved = false;
  #stderr: StderrCollector;
  #timeoutMs: number;
  #graceMs: number;
  #phase: Phase = "writing";
  #bytesWritten = 0;
  /** qmail's flagerr: a write to the program failed; exit 0 then still means "qq read error". */
  #writeFailed = false;

  constructor(
    program: string,
    child: Deno.ChildProcess,
    envelopePath: string,
    envelopeFile: Deno.FsFile,
    options: ExternalQueueOptions,
  ) {
    this.qp = String(child.pid);
    this.#program = program;
    this.#child = child;
    this.#stdin = child.stdin.getWriter();
    this.#envelopePath = envelopePath;
    this.#envelopeFile = envelopeFile;
    this.#timeoutMs = options.timeoutSeconds * 1000;
    this.#graceMs = (options.killGraceSeconds ?? DEFAULT_KILL_GRACE_SECONDS) * 1000;
    // The shell has fd 1 open once it writes the marker: the name is no longer needed.
    this.#stderr = new StderrCollector(child.stderr, () => this.#removeEnvelopeName());
  }

  get bytesWritten(): number {
    return this.#bytesWritten;
  }

  async write(chunk: Uint8Array): Promise<void> {
    this.#assertWriting();
    this.#bytesWritten += chunk.length;
    if (this.#writeFailed || chunk.length === 0) return;
    const writing = this.#stdin.write(chunk);
    let result: void | typeof TIMED_OUT;
    try {
      result = await withTimeout(writing, this.#timeoutMs);
    } catch {
      // The program closed fd 0 or exited: qmail_put sets flagerr and goes on.
      this.#writeFailed = true;
      return;
    }
    if (result === TIMED_OUT) {
      writing.catch(() => {});
      this.#phase = "done";
      await this.#terminate(false);
      throw new QueueError(
        QUEUE_EXIT.timeout,
        `Queue program ${this.#program} (pid ${this.qp}) took no input for ${this.#timeoutMs} ms`,
      );
    }
  }

  async commit(sender: Uint8Array, recipients: Uint8Array[]): Promise<void> {
    this.#assertWriting();
    this.#phase = "committing";
    for (const address of [sender, ...recipients]) {
      if (address.includes(0)) {
        this.#phase = "writing";
        await this.abort();
        // A NUL would end the record early and let the rest pass as more records.
        throw new QueueError(QUEUE_EXIT.envelopeFormat, "Envelope address contains a NUL byte");
      }
    }
    try {
      writeAllSync(this.#envelopeFile!, formatEnvelope(sender, recipients));
      await this.#envelopeFile!.sync();
    } catch (error) {
      this.#phase = "writing";
      await this.abort();
      throw new QueueError(QUEUE_EXIT.write, `Cannot write the envelope ${this.#envelopePath}`, {
        cause: error,
      });
    }
    this.#phase = "done";
    await this.#closeStdin();
    const status = await withTimeout(this.#child.status, this.#timeoutMs);
    if (status === TIMED_OUT) {
      await this.#terminate(false);
      throw new QueueError(
        QUEUE_EXIT.timeout,
        `Queue program ${this.#program} (pid ${this.qp}) did not exit within ${this.#timeoutMs} ms`,
      );
    }
    const error = await this.#outcome(status);
    await this.#finish();
    if (error) throw error;
  }

  async abort(): Promise<void> {
    if (this.#phase !== "writing") return;
    this.#phase = "done";
    try {
      await this.#terminate(true);
    } catch {
      // abort never throws; the 36-hour pid/ sweep removes a leftover file (§4.9).
    }
  }

  /** qmail_close's reading of the exit status (qmail.c, §3.4). */
  async #outcome(status: Deno.CommandStatus): Promise<QueueError | undefined> {
    if (status.success && !this.#writeFailed) return undefined;
    await this.#stderr.settled(STDERR_GRACE_MS);
    const program = `Queue program ${this.#program} (pid ${this.qp})`;
    const said = this.#stderr.text() ? `: ${this.#stderr.text()}` : "";
    if (status.signal !== null) {
      return new QueueError(QUEUE_EXIT.internalBug, `${program} was killed by ${status.signal}`, {
        replyText: TEXT_CRASHED,
      });
    }
    if (!this.#stderr.started) {
      // The shell died before exec: fd 1 could not be opened.
      return new QueueError(QUEUE_EXIT.execFailed, `${program} did not start${said}`);
    }
    if (status.code === QUEUE_EXIT.ok) {
      return new QueueError(QUEUE_EXIT.read, `${program} exited 0 but did not take the message`);
    }
    if (status.code === EXIT_CUSTOM_ERROR) {
      const replyText = parseCustomQueueError(this.#stderr.bytes());
      return new QueueError(EXIT_CUSTOM_ERROR, `${program} exited ${EXIT_CUSTOM_ERROR}${said}`, {
        replyText,
      });
    }
    return new QueueError(status.code, `${program} exited ${status.code}${said}`);
  }

  /**
   * Ends the program without an envelope. With `eofFirst` its fd 0 is closed
   * and it gets a grace period to exit by itself (a qmail-queue then cleans
   * up after exit 54); then SIGTERM, a second grace, SIGKILL.
   */
  async #terminate(eofFirst: boolean): Promise<void> {
    const child = this.#child;
    let exited = false;
    if (eofFirst) {
      void this.#closeStdin();
      exited = await withTimeout(child.status, this.#graceMs) !== TIMED_OUT;
    }
    if (!exited) {
      signal(child, "SIGTERM");
      void this.#closeStdin();
      exited = await withTimeout(child.status, this.#graceMs) !== TIMED_OUT;
    }
    if (!exited) {
      signal(child, "SIGKILL");
      await child.status;
    }
    await this.#finish();
  }

  /** After the program's exit: the envelope file and the stderr reader go. */
  async #finish(): Promise<void> {
    await this.#removeEnvelopeName();
    this.#envelopeFile?.close();
    this.#envelopeFile = undefined;
    await this.#stderr.cancel();
  }

  async #closeStdin(): Promise<void> {
    if (this.#stdinClosed) return;
    this.#stdinClosed = true;
    try {
      await this.#stdin.close();
    } catch {
      // Already gone with the program; its exit status tells what happened.
      this.#writeFailed = true;
    }
  }

  async #removeEnvelopeName(): Promise<void> {
    if (this.#envelopeRemoved) return;
    this.#envelopeRemoved = true;
    // A leftover is removed by the 36-hour pid/ sweep (§4.9).
    await removeIfPresent(this.#envelopePath).catch(() => {});
  }

  #assertWriting(): void {
    if (this.#phase !== "writing") {
      throw new QueueError(QUEUE_EXIT.internalBug, `Queue program ${this.qp} is already ended`);
    }
  }
}

/**
 * Reads the program's stderr as it comes: the shell's start marker first,
 * then up to STDERR_KEEP_BYTES of what the program says; the rest is drained
 * so that the program never blocks on a full pipe.
 */
class StderrCollector {
  started = false;
  #reader: ReadableStreamDefaultReader<Uint8Array>;
  #kept = new Uint8Array(STDERR_KEEP_BYTES);
  #length = 0;
  #sawMarkerByte = false;
  #lineReady: Promise<void>;
  #signalLine: () => void = () => {};
  #done: Promise<void>;

  constructor(stream: ReadableStream<Uint8Array>, onStarted: () => Promise<void>) {
    this.#reader = stream.getReader();
    this.#lineReady = new Promise((resolve) => (this.#signalLine = resolve));
    this.#done = this.#run(onStarted);
  }

  /** Waits until the first line is complete, stderr ended, or `ms` passed. */
  async settled(ms: number): Promise<void> {
    await withTimeout(Promise.race([this.#lineReady, this.#done]), ms);
  }

  /** What the program wrote first (marker removed). */
  bytes(): Uint8Array {
    return this.#kept.subarray(0, this.#length);
  }

  /** The first line, made safe for a log. */
  text(): string {
    const bytes = this.bytes();
    const newline = bytes.indexOf(0x0a);
    const line = bytes.subarray(0, newline < 0 ? bytes.length : newline);
    let text = "";
    for (const byte of line) text += byte >= 0x20 && byte <= 0x7e ? String.fromCharCode(byte) : "?";
    return text;
  }

  async cancel(): Promise<void> {
    await this.#reader.cancel().catch(() => {});
    await this.#done;
  }

  async #run(onStarted: () => Promise<void>): Promise<void> {
    try {
      for (;;) {
        const { done, value } = await this.#reader.read();
        if (done) break;
        let chunk = value;
        if (!this.#sawMarkerByte && chunk.length > 0) {
          this.#sawMarkerByte = true;
          if (chunk[0] === STARTED_MARKER) {
            this.started = true;
            chunk = chunk.subarray(1);
            await onStarted();
          }
        }
        const room = STDERR_KEEP_BYTES - this.#length;
        if (room > 0 && chunk.length > 0) {
          const piece = chunk.subarray(0, room);
          this.#kept.set(piece, this.#length);
          this.#length += piece.length;
          if (piece.includes(0x0a) || this.#length >= CUSTOM_TEXT_BYTES) this.#signalLine();
        }
      }
    } catch {
      // Cancelled, or the pipe broke: what was kept is all there is.
    }
    this.#signalLine();
  }
}

function signal(child: Deno.ChildProcess, name: Deno.Signal): void {
  try {
    child.kill(name);
  } catch {
    // Exited already.
  }
}

async function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T | typeof TIMED_OUT> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const expiry = new Promise<typeof TIMED_OUT>((resolve) => {
    timer = setTimeout(() => resolve(TIMED_OUT), ms);
  });
  try {
    return await Promise.race([promise, expiry]);
  } finally {
    clearTimeout(timer);
  }
}
