/**
 * The checkpassword interface (docs/queue-format.md §7.2; checkpassword 0.90),
 * as the docs/patches.md seed 001 qmail-smtpd calls it (`qmail-smtpd HOST /bin/checkpassword
 * /bin/true`): the program reads `user\0password\0timestamp\0` from fd 3 (at
 * most 512 bytes), exits 0 when the password is right (after exec'ing its
 * argument program), 1 when it is wrong, and anything else (2 misuse, 111)
 * on trouble. vchkpw, checkvpw, cmd5checkpw and checkcdb speak it too.
 *
 * SMTP AUTH writes `user\0password\0\0` for PLAIN and LOGIN and
 * `user\0response\0challenge\0` for the CRAM mechanisms, where response is
 * the hex digest (the qmail-smtpd AUTH patches' layout, which cmd5checkpw and
 * vchkpw read).
 *
 * Deno.Command cannot hand a child fd 3, so `/bin/sh` moves the stdin pipe
 * there: `exec "$0" "$@" 3<&0 </dev/null`. The program's stdin is /dev/null,
 * its stdout and stderr are discarded (they could echo a secret), and a
 * program that outlives the timeout is killed and counts as a temporary
 * failure.
 */
import type { Credentials } from "./sasl_server.ts";
import { CHECKPASSWORD_EXIT, EXIT } from "../exit_codes.ts";
import { concatBytes } from "../bytes.ts";

/** checkpassword 0.90 reads at most this much from fd 3. */
export const MAX_CHECKPASSWORD_INPUT = 512;

/** Seconds a checkpassword program may run before it is killed. */
export const DEFAULT_CHECKPASSWORD_TIMEOUT = 60;

export type CheckpasswordOutcome = "accepted" | "rejected" | "temporary";

/**
 * The fd 3 bytes for credentials, or undefined when they cannot go through
 * checkpassword: DIGEST-MD5 (the program would need the password), a field
 * with a NUL, or more than MAX_CHECKPASSWORD_INPUT bytes.
 */
export function formatCheckpasswordInput(credentials: Credentials): Uint8Array | undefined {
  let fields: string[];
  if (credentials.kind === "password") {
    fields = [credentials.user, credentials.password, ""];
  } else if (credentials.kind === "cram") {
    fields = [credentials.user, credentials.response, credentials.challenge];
  } else if (credentials.kind === "apop") {
    // qmail-popup passes the APOP digest as the password and the banner as the timestamp (§7.1).
    fields = [credentials.user, credentials.digest, credentials.timestamp];
  } else {
    return undefined;
  }
  if (fields.some((field) => field.includes("\0"))) return undefined;
  const bytes = new TextEncoder().encode(fields.map((field) => `${field}\0`).join(""));
  return bytes.length > MAX_CHECKPASSWORD_INPUT ? undefined : bytes;
}

/** What an exit status means (checkpassword 0.90): 0 yes, 1 no, anything else trouble. */
export function checkpasswordOutcome(code: number, signal: string | null): CheckpasswordOutcome {
  if (signal !== null) return "temporary";
  if (code === CHECKPASSWORD_EXIT.accepted) return "accepted";
  if (code === CHECKPASSWORD_EXIT.rejected) return "rejected";
  return "temporary";
}

export interface CheckpasswordRunOptions {
  timeoutSeconds?: number;
  /** Keep what the program prints (at most 4 KiB), e.g. the home a `pwd` run after it reports. */
  captureOutput?: boolean;
  /** Variables added to the inherited environment (e.g. TCPREMOTEIP for vchkpw). */
  env?: Record<string, string>;
}

export interface CheckpasswordRun {
  outcome: CheckpasswordOutcome;
  /** stdout, when captureOutput was asked for. */
  output?: string;
  code: number;
  signal: string | null;
  timedOut: boolean;
}

/**
 * Runs `argv` (program and its arguments) with `input` on fd 3 and waits for
 * it, at most `timeoutSeconds`. Never rejects: a program that cannot be
 * started is a temporary failure (code 111).
 */
export async function runCheckpassword(
  argv: readonly string[],
  input: Uint8Array,
  options: CheckpasswordRunOptions = {},
): Promise<CheckpasswordRun> {
  if (argv.length === 0) throw new Error("Checkpassword needs a program to run");
  let child: Deno.ChildProcess;
  try {
    child = new Deno.Command("/bin/sh", {
      args: ["-c", 'exec "$0" "$@" 3<&0 </dev/null', ...argv],
      env: options.env,
      stdin: "piped",
      stdout: options.captureOutput ? "piped" : "null",
      stderr: "null",
    }).spawn();
  } catch {
    return { outcome: "temporary", code: EXIT.temporary, signal: null, timedOut: false };
  }
  let timedOut = false;
  const timeout = options.timeoutSeconds ?? DEFAULT_CHECKPASSWORD_TIMEOUT;
  const timer = setTimeout(() => {
    timedOut = true;
    try {
      child.kill("SIGKILL");
    } catch {
      // already gone
    }
  }, timeout * 1000);
  try {
    const writer = child.stdin.getWriter();
    // A program that exits without reading makes this fail (EPIPE): it sees no input.
    await writer.write(input).catch(() => {});
    await writer.close().catch(() => {});
    const output = options.captureOutput ? readOutput(child.stdout) : undefined;
    const status = await child.status;
    const printed = output === undefined ? undefined : await output;
    if (timedOut) {
      return { outcome: "temporary", code: status.code, signal: status.signal, timedOut };
    }
    return {
      outcome: checkpasswordOutcome(status.code, status.signal),
      code: status.code,
      signal: status.signal,
      timedOut,
      ...(printed === undefined ? {} : { output: printed }),
    };
  } finally {
    clearTimeout(timer);
  }
}

/** A child's stdout as text, at most 4 KiB kept. */
async function readOutput(stream: ReadableStream<Uint8Array>): Promise<string> {
  const chunks: Uint8Array[] = [];
  let size = 0;
  for await (const chunk of stream) {
    if (size < 4096) chunks.push(chunk.subarray(0, 4096 - size));
    size += chunk.length;
  }
  return new TextDecoder().decode(concatBytes(chunks));
}
