/**
 * The `program` lookup runner (appliance/filters/filter.ts): runs a check's
 * program, such as control/rcptcheck's, and answers with its exit code.
 *
 * The program gets only the environment the lookup names (the client's
 * variables, SENDER, RECIPIENT, TCPREMOTEIP, ...: seed 001's "same
 * environment as qmail-smtpd"), no stdin, and a bounded time: past it the
 * program is killed. A program that cannot be started, runs out of time or
 * dies of a signal gets a `temporary` answer, never an exit code, so a check
 * cannot mistake a broken program for an accept.
 */
import type { Lookup, LookupAnswer } from "../filters/filter.ts";

/** What the program printed (stdout, then stderr) that is kept for the log. */
const OUTPUT_KEEP_BYTES = 1024;
/** After the program's exit, the wait for its output (a grandchild may hold the pipes). */
const OUTPUT_GRACE_MS = 500;
/** When the environment names no PATH, a script's commands are still found. */
const DEFAULT_PATH = "/usr/bin:/bin";

export interface ProgramLookupOptions {
  /** The working directory (qmail-smtpd runs in QMAILHOME). */
  cwd?: string;
}

/** Reads a stream into `sink` until it ends or is cancelled, keeping at most OUTPUT_KEEP_BYTES. */
async function collect(
  reader: ReadableStreamDefaultReader<Uint8Array>,
  sink: Uint8Array[],
): Promise<void> {
  let kept = 0;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return;
      if (kept < OUTPUT_KEEP_BYTES) {
        const part = value.subarray(0, OUTPUT_KEEP_BYTES - kept);
        sink.push(part);
        kept += part.length;
      }
    }
  } catch {
    // cancelled, or the pipe broke: what was read is kept
  }
}

function text(parts: Uint8Array[]): string {
  const total = parts.reduce((sum, part) => sum + part.length, 0);
  const bytes = new Uint8Array(total);
  let offset = 0;
  for (const part of parts) {
    bytes.set(part, offset);
    offset += part.length;
  }
  return new TextDecoder().decode(bytes).trim();
}

/** Runs the lookup's program; resolves with its exit code or a temporary failure. */
export async function runProgramLookup(
  lookup: Extract<Lookup, { kind: "program" }>,
  options: ProgramLookupOptions = {},
): Promise<LookupAnswer> {
  const [program, ...args] = lookup.argv;
  if (program === undefined || program === "") {
    return { kind: "temporary", reason: "no program named" };
  }
  let child: Deno.ChildProcess;
  try {
    child = new Deno.Command(program, {
      args,
      clearEnv: true,
      env: { PATH: DEFAULT_PATH, ...lookup.env },
      cwd: options.cwd,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
  } catch (error) {
    return { kind: "temporary", reason: `cannot run ${program}: ${(error as Error).message}` };
  }
  const stdout: Uint8Array[] = [];
  const stderr: Uint8Array[] = [];
  const readers = [child.stdout.getReader(), child.stderr.getReader()];
  const reading = Promise.all([collect(readers[0], stdout), collect(readers[1], stderr)]);
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timedOut = new Promise<"timeout">((resolve) => {
    timer = setTimeout(() => resolve("timeout"), Math.max(0, lookup.timeoutSeconds) * 1000);
  });
  const status = await Promise.race([child.status, timedOut]);
  clearTimeout(timer);
  if (status === "timeout") {
    try {
      child.kill("SIGKILL");
    } catch {
      // it ended meanwhile
    }
    await child.status;
  }
  let grace: ReturnType<typeof setTimeout> | undefined;
  await Promise.race([
    reading,
    new Promise<void>((resolve) => (grace = setTimeout(resolve, OUTPUT_GRACE_MS))),
  ]);
  clearTimeout(grace);
  await Promise.allSettled(readers.map((reader) => reader.cancel()));
  const output = [text(stdout), text(stderr)].filter((part) => part !== "").join("\n");
  if (status === "timeout") {
    return { kind: "temporary", reason: `${program} killed after ${lookup.timeoutSeconds} s` };
  }
  if (status.signal !== null) {
    return { kind: "temporary", reason: `${program} died of ${status.signal}` };
  }
  return output === ""
    ? { kind: "program", exitCode: status.code }
    : { kind: "program", exitCode: status.code, output };
}
