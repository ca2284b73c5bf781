/**
 * Program delivery, qmail-local's mailprogram() (docs/queue-format.md §6.5):
 * `/bin/sh -c COMMAND` in the home directory, the message (without the
 * Return-Path and Delivered-To lines) on stdin, stdout and stderr collected
 * into the report, qmail-local's variables in the environment.
 *
 * The program runs with umask 077, which qmail-local sets first thing
 * (qmail-local.c main): files it creates are 0600, directories 0700.
 * The outer shell sets it before exec'ing the command's own shell, so the
 * appliance's process-wide umask is left alone for the other roles.
 *
 * Departures: stdin is a pipe fed from the message file rather than the file
 * itself, so a program cannot seek on it; stdout and stderr share one pipe
 * (the shell runs `exec 2>&1` before exec'ing the command's own shell), so
 * their order is kept as qmail's shared descriptor keeps it.
 */
import { PROGRAM_EXIT } from "../exit_codes.ts";
import { MailError } from "../mail_error.ts";

/** What the exit status means to qmail-local. */
export type ProgramOutcome =
  /** 0: success, go on. */
  | "success"
  /** 99: success, ignore the lines that follow. */
  | "stop"
  /** 100, 64, 65, 70, 76, 77, 78, 112: qmail-local exits 100. */
  | "permanent"
  /** Anything else: qmail-local exits 111. */
  | "temporary"
  /** Killed by a signal: 111 "Aack, child crashed. (#4.3.0)". */
  | "crashed";

/** qmail-local's umask(077), which its programs inherit. */
export const PROGRAM_UMASK = "077";

export const CHILD_CRASHED = "Aack, child crashed. (#4.3.0)";

const PERMANENT_CODES = new Set(PROGRAM_EXIT.permanent);

/** The exit status mapping of mailprogram() (pure). */
export function programOutcome(code: number, signal: string | null): ProgramOutcome {
  if (signal !== null) return "crashed";
  if (code === PROGRAM_EXIT.ok) return "success";
  if (code === PROGRAM_EXIT.stop) return "stop";
  if (PERMANENT_CODES.has(code)) return "permanent";
  return "temporary";
}

/** The values qmail-local puts in a program's environment. All are UTF-8 text here. */
export interface QmailLocalFields {
  user: string;
  home: string;
  local: string;
  host: string;
  sender: string;
  newSender: string;
  ext: string;
  /** Set only when a …default file was used. */
  defaultPart?: string;
  dtline: string;
  rpline: string;
  ufline: string;
}

/** What follows the first `-`, or "" when there is none. */
function afterDash(text: string): string {
  const dash = text.indexOf("-");
  return dash < 0 ? "" : text.slice(dash + 1);
}

/** Up to the last `.`, or the whole text when there is none. */
function beforeLastDot(text: string): string {
  const dot = text.lastIndexOf(".");
  return dot < 0 ? text : text.slice(0, dot);
}

/**
 * The environment qmail-local adds (§6.5 table): USER HOME LOCAL HOST
 * RECIPIENT SENDER NEWSENDER EXT EXT2-4 HOST2-4 [DEFAULT] DTLINE RPLINE UFLINE.
 */
export function formatProgramEnvironment(fields: QmailLocalFields): Record<string, string> {
  const ext2 = afterDash(fields.ext);
  const ext3 = afterDash(ext2);
  const ext4 = afterDash(ext3);
  const host2 = beforeLastDot(fields.host);
  const host3 = beforeLastDot(host2);
  const host4 = beforeLastDot(host3);
  const env: Record<string, string> = {
    USER: fields.user,
    HOME: fields.home,
    LOCAL: fields.local,
    HOST: fields.host,
    RECIPIENT: `${fields.local}@${fields.host}`,
    SENDER: fields.sender,
    NEWSENDER: fields.newSender,
    EXT: fields.ext,
    EXT2: ext2,
    EXT3: ext3,
    EXT4: ext4,
    HOST2: host2,
    HOST3: host3,
    HOST4: host4,
    DTLINE: fields.dtline,
    RPLINE: fields.rpline,
    UFLINE: fields.ufline,
  };
  if (fields.defaultPart !== undefined) env.DEFAULT = fields.defaultPart;
  return env;
}

export interface ProgramOptions {
  /** The home directory (the program's cwd). */
  cwd: string;
  /** Variables added to the inherited environment. */
  env: Record<string, string>;
  /** The queue's mess file, streamed to stdin. */
  messagePath: string;
  /** Keep at most this many output bytes (the rest is read and dropped). */
  outputLimit?: number;
}

export interface ProgramResult {
  outcome: ProgramOutcome;
  /** What the program wrote to stdout and stderr (truncated to outputLimit). */
  output: Uint8Array;
  code: number;
  signal: string | null;
}

/** A program that could not be started: qmail's child exits 111 "Unable to run /bin/sh". */
export class ProgramStartError extends MailError {
  constructor(message: string, options?: ErrorOptions) {
    super(message, { ...options, temporary: true });
    this.name = "ProgramStartError";
  }
}

async function collect(stream: ReadableStream<Uint8Array>, limit: number): Promise<Uint8Array[]> {
  const kept: Uint8Array[] = [];
  let total = 0;
  for await (const chunk of stream) {
    if (total >= limit) continue;
    const part = chunk.subarray(0, limit - total);
    kept.push(part.slice());
    total += part.length;
  }
  return kept;
}

/** Runs one `|command` line. Never rejects for the program's own failure: see `outcome`. */
export async function deliverToProgram(
  command: string,
  options: ProgramOptions,
): Promise<ProgramResult> {
  const limit = options.outputLimit ?? 4096;
  let child: Deno.ChildProcess;
  try {
    child = new Deno.Command("/bin/sh", {
      args: ["-c", `umask ${PROGRAM_UMASK}; exec 2>&1; exec /bin/sh -c "$1"`, "/bin/sh", command],
      cwd: options.cwd,
      env: options.env,
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
  } catch (error) {
    throw new ProgramStartError(`Unable to run /bin/sh: ${(error as Error).message}. (#4.3.0)`, {
      cause: error,
    });
  }
  const feed = (async () => {
    let message: Deno.FsFile | undefined;
    try {
      message = await Deno.open(options.messagePath, { read: true });
      await message.readable.pipeTo(child.stdin);
      message = undefined; // pipeTo closed it
    } catch {
      // The program stopped reading (EPIPE) or the file vanished: it sees EOF.
      try {
        message?.close();
      } catch {
        // already closed by the stream
      }
      await child.stdin.close().catch(() => {});
    }
  })();
  const [stdout, stderr, status] = await Promise.all([
    collect(child.stdout, limit),
    collect(child.stderr, limit),
    child.status,
  ]);
  await feed;
  const parts = [...stdout, ...stderr];
  const total = parts.reduce((sum, part) => sum + part.length, 0);
  const output = new Uint8Array(Math.min(total, limit));
  let offset = 0;
  for (const part of parts) {
    const take = part.subarray(0, output.length - offset);
    output.set(take, offset);
    offset += take.length;
    if (offset >= output.length) break;
  }
  return {
    outcome: programOutcome(status.code, status.signal),
    output,
    code: status.code,
    signal: status.signal,
  };
}
