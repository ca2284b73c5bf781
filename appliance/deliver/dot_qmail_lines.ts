/**
 * qmail-local running the lines of one .qmail file (docs/queue-format.md
 * §6.4–§6.7): in order, file (Maildir, mbox) and program deliveries at once,
 * forward addresses collected for one injection at the end. A failing line
 * stops everything at once (a DeliveryError, or a program's exit 100/111);
 * a program's exit 99 ends the file with success.
 */
import { EXIT, type FailureExitCode } from "../exit_codes.ts";
import { bytesToString } from "../bytes.ts";
import { fromByteString } from "./byte_string.ts";
import { DeliveryError } from "./delivery_error.ts";
import type { DotQmailInstruction } from "./dot_qmail.ts";
import type { LocalContext } from "./local_context.ts";
import { REPORT_LIMIT } from "./local_report.ts";
import type { LocalUser } from "./local_user.ts";
import { deliverToMaildir } from "./maildir.ts";
import { deliverToMbox } from "./mbox.ts";
import { CHILD_CRASHED, deliverToProgram, type ProgramOutcome } from "./program.ts";

/** What every line of one .qmail file delivers with. */
export interface DotQmailLinesRun {
  user: LocalUser;
  context: LocalContext;
  messagePath: string;
  /** The message file's bytes, when held in memory (small messages). */
  message?: Uint8Array;
  now: Date;
  /** The lines qmail-local writes before the message (§6.1), as bytes. */
  dtline: Uint8Array;
  rpline: Uint8Array;
  ufline: Uint8Array;
  /** The .qmail file's x bit was set (§6.2). */
  forwardOnly: boolean;
  /** qmail-local's environment for |program lines (§6.5); called when the first needs it. */
  programEnvironment(): Record<string, string>;
  /** Keeps what a program printed (a byte string), for the report. */
  print(output: string): void;
}

export interface DotQmailLinesResult {
  /** File and program lines run, for `did F+W+P`. */
  files: number;
  programs: number;
  /** The forward addresses (byte strings), in file order. */
  forwards: string[];
  /** A program's exit 100 or 111 ended the delivery: nothing is forwarded. */
  exit?: FailureExitCode;
}

function normalizePath(path: string): string {
  let out = path.replace(/\/+/g, "/").replace(/(\/\.)+(\/|$)/g, "/");
  out = out.replace(/\/+$/, "");
  return out === "" ? "/" : out;
}

/** Runs the lines in order (§6.4). Throws a DeliveryError for a failing line. */
export async function deliverDotQmailLines(
  instructions: DotQmailInstruction[],
  run: DotQmailLinesRun,
): Promise<DotQmailLinesResult> {
  let forwardOnly = run.forwardOnly;
  let env: Record<string, string> | undefined;
  const result: DotQmailLinesResult = { files: 0, programs: 0, forwards: [] };
  for (const instruction of instructions) {
    switch (instruction.kind) {
      case "forward-only":
        forwardOnly = true;
        break;
      case "forward":
        result.forwards.push(instruction.address);
        break;
      case "maildir":
      case "mbox":
        result.files++;
        if (forwardOnly) {
          throw new DeliveryError(
            true,
            "Uh-oh: .qmail has file delivery but has x bit set. (#4.7.0)",
          );
        }
        await deliverToFileLine(instruction.kind, instruction.path, run);
        break;
      case "program": {
        result.programs++;
        if (forwardOnly) {
          throw new DeliveryError(
            true,
            "Uh-oh: .qmail has prog delivery but has x bit set. (#4.7.0)",
          );
        }
        const outcome = await runProgramLine(
          instruction.command,
          run,
          env ??= run.programEnvironment(),
        );
        if (outcome === "permanent") return { ...result, exit: EXIT.permanent };
        if (outcome === "temporary") return { ...result, exit: EXIT.temporary };
        if (outcome === "stop") return result;
        break;
      }
    }
  }
  return result;
}

/**
 * A Maildir or mbox line (§6.6, §6.7); a relative path is in the home. The
 * virtual mailbox's own Maildir is made when missing and keeps its quota.
 */
async function deliverToFileLine(
  kind: "maildir" | "mbox",
  pathBytes: string,
  run: DotQmailLinesRun,
): Promise<void> {
  const { user } = run;
  const path = fromByteString(pathBytes);
  const resolved = path.startsWith("/") ? path : `${user.home}/${path}`;
  if (kind === "maildir") {
    const own = user.mailbox !== undefined &&
      normalizePath(resolved) === normalizePath(user.mailbox.maildir);
    await deliverToMaildir(
      resolved,
      { rpline: run.rpline, dtline: run.dtline },
      run.messagePath,
      {
        hostname: run.context.hostname,
        now: run.now,
        create: own,
        quota: own ? user.mailbox!.quota : undefined,
        message: run.message,
      },
    );
  } else {
    await deliverToMbox(
      resolved,
      { ufline: run.ufline, rpline: run.rpline, dtline: run.dtline },
      run.messagePath,
      { lockTimeoutMs: run.context.mboxLockTimeoutMs },
    );
  }
}

/**
 * A |program line (§6.5): what it printed goes to the report, its exit code
 * decides. A program that could not run or crashed defers.
 */
async function runProgramLine(
  command: string,
  run: DotQmailLinesRun,
  env: Record<string, string>,
): Promise<Exclude<ProgramOutcome, "crashed">> {
  let result;
  try {
    result = await deliverToProgram(fromByteString(command), {
      cwd: run.user.home,
      env,
      messagePath: run.messagePath,
      outputLimit: REPORT_LIMIT + 1,
    });
  } catch (error) {
    throw new DeliveryError(true, (error as Error).message, { cause: error });
  }
  run.print(bytesToString(result.output));
  if (result.outcome === "crashed") throw new DeliveryError(true, CHILD_CRASHED);
  return result.outcome;
}
