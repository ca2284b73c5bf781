/**
 * `preline [-dfrp] cmd [arg ...]` (qmail's preline(1), with seed 000's -p):
 * for `|preline prog` lines in .qmail files. It runs cmd with, on its
 * standard input, the UFLINE (the mbox `From ` line), RPLINE (Return-Path)
 * and DTLINE (Delivered-To) that qmail-local sets, then the message from its
 * own standard input, and exits with cmd's exit code, so cmd's 0, 100 or 111
 * is the delivery's result. -f, -r and -d leave out UFLINE, RPLINE and
 * DTLINE. -p (seed 000's patch) ignores a cmd that stops reading early
 * (EPIPE) instead of failing temporarily. The variables missing or no cmd:
 * the usage line and 100, as preline. cmd cannot run or crashes: 111.
 */

import { EXIT } from "../exit_codes.ts";

const USAGE = "preline: usage: preline cmd [ arg ... ]";
const FATAL = "preline: fatal: ";

function usage(): number {
  console.error(USAGE);
  return EXIT.permanent;
}

/** The options before cmd, read as getopt does: it stops at the first argument that is not one. */
function splitOptions(args: string[]): { flags: string; command: string[] } {
  let i = 0;
  let flags = "";
  for (; i < args.length; i++) {
    const arg = args[i];
    if (arg === "--") {
      i++;
      break;
    }
    if (!/^-[dfrpDFRP]+$/.test(arg)) break;
    flags += arg.slice(1);
  }
  return { flags, command: args.slice(i) };
}

/** Whether a later F/R/D (on) or f/r/d (off) leaves this line in. */
function wanted(flags: string, letter: string): boolean {
  let on = true;
  for (const flag of flags) {
    if (flag === letter) on = false;
    if (flag === letter.toUpperCase()) on = true;
  }
  return on;
}

function isBrokenPipe(error: unknown): boolean {
  return error instanceof Deno.errors.BrokenPipe ||
    /broken pipe|EPIPE/i.test((error as Error).message);
}

export async function main(args: string[]): Promise<number> {
  const ufline = Deno.env.get("UFLINE");
  const rpline = Deno.env.get("RPLINE");
  const dtline = Deno.env.get("DTLINE");
  if (ufline === undefined || rpline === undefined || dtline === undefined) return usage();
  const { flags, command } = splitOptions(args);
  if (command.length === 0) return usage();
  const ignorePipe = flags.includes("p");
  let child: Deno.ChildProcess;
  try {
    child = new Deno.Command(command[0], {
      args: command.slice(1),
      stdin: "piped",
      stdout: "inherit",
      stderr: "inherit",
    }).spawn();
  } catch (error) {
    console.error(`${FATAL}unable to run ${command[0]}: ${(error as Error).message}`);
    return error instanceof Deno.errors.NotFound ? EXIT.permanent : EXIT.temporary;
  }
  const head = [
    wanted(flags, "f") ? ufline : "",
    wanted(flags, "r") ? rpline : "",
    wanted(flags, "d") ? dtline : "",
  ].join("");
  const writer = child.stdin.getWriter();
  /** Set once cmd stopped reading (-p): the rest of the message is read and dropped. */
  let closed = false;
  const send = async (bytes: Uint8Array) => {
    if (closed) return;
    try {
      await writer.write(bytes);
    } catch (error) {
      if (!(ignorePipe && isBrokenPipe(error))) throw error;
      closed = true;
    }
  };
  let failed: string | undefined;
  try {
    await send(new TextEncoder().encode(head));
    for await (const chunk of Deno.stdin.readable) await send(chunk);
    if (!closed) await writer.close();
  } catch (error) {
    failed = (error as Error).message;
    await writer.abort().catch(() => {});
  }
  const status = await child.status;
  if (failed !== undefined) {
    console.error(`${FATAL}unable to copy input: ${failed}`);
    return EXIT.temporary;
  }
  if (status.signal !== null) {
    console.error(`${FATAL}child crashed`);
    return EXIT.temporary;
  }
  return status.code;
}
