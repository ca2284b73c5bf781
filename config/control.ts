/**
 * Reading qmail control files (qmail-control(5)): single-line files use their
 * first line with trailing white space removed, list files skip blank lines and
 * `#` comments, and a missing file gives the default. Unlike qmail, a number
 * that does not parse is an error naming the file and line, so an operator's
 * typo is reported instead of silently ignored.
 *
 * This module is a leaf: it never imports appliance/ and returns plain data.
 */
import { numberDefault } from "./controls.ts";
import { MailError } from "./mail_error.ts";

/**
 * A control file that exists but cannot be used. Temporary, as qmail's
 * "unable to read controls" is: once the operator fixes the file, the same
 * mail goes through.
 */
export class ControlError extends MailError {
  constructor(
    readonly file: string,
    readonly line: number,
    reason: string,
  ) {
    super(line > 0 ? `${file} line ${line}: ${reason}` : `${file}: ${reason}`, {
      temporary: true,
    });
    this.name = "ControlError";
  }
}

/** Every broken control file one loadAllControls() met, each with its file and line. */
export class ControlErrors extends MailError {
  constructor(readonly errors: ControlError[]) {
    super(errors.map((error) => error.message).join("; "), { temporary: true });
    this.name = "ControlErrors";
  }
}

/** The broken files loadAllControls() is collecting, while it runs (loaders are synchronous). */
let collecting: ControlError[] | undefined;

/**
 * Runs a synchronous loader and reports every broken control file, not only
 * the first: while it runs, a broken file that has a default is noted and
 * read as that default (orDefault), so the loader goes on to the other
 * files. If any file was broken the result is dropped and ControlErrors
 * names them all: the caller keeps its old controls, as qmail does when a
 * reread fails.
 */
export function loadAllControls<T>(load: () => T): T {
  const outer = collecting;
  const errors: ControlError[] = [];
  collecting = errors;
  let value: T | undefined;
  try {
    value = load();
  } catch (error) {
    if (error instanceof ControlErrors) error.errors.forEach(note);
    else if (error instanceof ControlError) note(error);
    else throw error;
  } finally {
    collecting = outer;
  }
  if (errors.length > 0) throw new ControlErrors(errors);
  return value as T;

  function note(error: ControlError): void {
    if (!errors.some((seen) => seen.message === error.message)) errors.push(error);
  }
}

/**
 * read(), or within loadAllControls() the fallback when read() finds a
 * broken file (the error is noted). Outside it the ControlError is thrown.
 */
export function orDefault<T>(read: () => T, fallback: T): T {
  try {
    return read();
  } catch (error) {
    if (collecting === undefined || !(error instanceof ControlError)) throw error;
    if (!collecting.some((seen) => seen.message === error.message)) collecting.push(error);
    return fallback;
  }
}

/** The lines to report for a failed load: each broken file's, else the error's message. */
export function controlErrorMessages(error: unknown): string[] {
  if (error instanceof ControlErrors) return error.errors.map((each) => each.message);
  return [(error as Error).message];
}

/** Reads a file under HOME/control, or undefined when it does not exist. */
export function readControlText(home: string, name: string): string | undefined {
  const path = `${home}/control/${name}`;
  return orDefault(() => {
    try {
      return Deno.readTextFileSync(path);
    } catch (error) {
      if (error instanceof Deno.errors.NotFound) return undefined;
      if (error instanceof Deno.errors.IsADirectory) {
        throw new ControlError(path, 0, "is a directory, expected a file");
      }
      throw new ControlError(path, 0, `cannot read: ${(error as Error).message}`);
    }
  }, undefined);
}

function stripTrailing(line: string): string {
  return line.replace(/[ \t\r]+$/, "");
}

/** The first line of a single-line control file, or undefined when absent. */
export function readControlLine(home: string, name: string): string | undefined {
  const text = readControlText(home, name);
  if (text === undefined) return undefined;
  return stripTrailing(text.split("\n", 1)[0]);
}

/** Every line of a multi-line file (e.g. smtpgreeting), trailing white space removed. */
export function readControlLines(home: string, name: string): string[] | undefined {
  const text = readControlText(home, name);
  if (text === undefined) return undefined;
  const lines = text.split("\n").map(stripTrailing);
  if (lines.length > 1 && lines[lines.length - 1] === "") lines.pop();
  return lines;
}

/** A list file: blank lines and `#` comments skipped. Each entry keeps its line number. */
export function readControlList(home: string, name: string): ListEntry[] | undefined {
  const text = readControlText(home, name);
  if (text === undefined) return undefined;
  return parseControlList(text);
}

export interface ListEntry {
  value: string;
  line: number;
}

export function parseControlList(text: string): ListEntry[] {
  const entries: ListEntry[] = [];
  text.split("\n").forEach((raw, index) => {
    const value = stripTrailing(raw);
    if (value === "" || value.startsWith("#")) return;
    entries.push({ value, line: index + 1 });
  });
  return entries;
}

/**
 * A whole-number control file; absent, empty or broken (inside
 * loadAllControls) gives the default, which is config/controls.ts's unless
 * the caller names another.
 */
export function readControlNumber(
  home: string,
  name: string,
  fallback: number = numberDefault(name),
): number {
  const line = readControlLine(home, name);
  if (line === undefined || line.trim() === "") return fallback;
  return orDefault(() => parseControlNumber(`${home}/control/${name}`, line), fallback);
}

export function parseControlNumber(path: string, text: string): number {
  const trimmed = text.trim();
  if (!/^-?\d+$/.test(trimmed)) {
    throw new ControlError(path, 1, `expected a whole number, found ${JSON.stringify(trimmed)}`);
  }
  const value = Number(trimmed);
  if (!Number.isSafeInteger(value)) {
    throw new ControlError(path, 1, `number out of range: ${trimmed}`);
  }
  return value;
}
