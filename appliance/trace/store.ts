/**
 * The decision trace store: every SMTP session's decisions (filters/filter.ts
 * SessionTrace), one JSON line per session, in HOME/log/trace/YYYY-MM-DD.jsonl
 * (the UTC day the session ended), for `qmd explain` and `qmd rules replay`.
 *
 * Bounded two ways, checked when the day changes and again after every
 * TRACE_MAX_BYTES / 16 bytes this writer appended:
 *  - days: files older than TRACE_KEEP_DAYS days are deleted;
 *  - size: while all the files together are over TRACE_MAX_BYTES the oldest
 *    day is deleted; when today's file alone is over it, today's later
 *    sessions are dropped (one warning) until the next day.
 * Several smtpd isolates append to the same file, each its own whole lines in
 * one write with O_APPEND; the size is measured from the directory, so the
 * cap holds within one check interval per isolate.
 *
 * Writing never throws into a session: a trace is formatted and appended at
 * once with one synchronous write, which costs a few microseconds against
 * about 40 µs of CPU for each async file operation on Deno's I/O threads
 * (README, issue 16). The day's file stays open between sessions (its open
 * costs Deno's permission walk, a readlink per path component) and is opened
 * again after HANDLE_REUSE_MS, so a file removed or replaced meanwhile is
 * written to again within a second. A failure is logged once (a warning),
 * then again only after a write has succeeded.
 */
import type { SessionTrace } from "../filters/filter.ts";
import { logWarning } from "../log.ts";
import { homePaths } from "../../config/home.ts";
import { writeAllSync } from "../write_all.ts";
import {
  formatTraceLine,
  parseTraceLine,
  traceFileDay,
  traceFileName,
  traceMatches,
} from "./trace_format.ts";

/** How many days of trace files are kept (today included). */
export const TRACE_KEEP_DAYS = 14;
/** The most all trace files together may hold, in bytes. */
export const TRACE_MAX_BYTES = 256 * 1024 * 1024;
/** The trace files' mode: they hold client addresses and envelopes, not for every user. */
const FILE_MODE = 0o640;
const DAY_MS = 86_400_000;
/** How long the day's file is appended to through the same handle before it is opened again. */
const HANDLE_REUSE_MS = 1000;
const encoder = new TextEncoder();

export interface TraceStoreOptions {
  keepDays?: number;
  maxBytes?: number;
  /** The clock (tests). */
  now?: () => number;
  /** Where failures are reported (default: a warning in qmd's log). */
  warn?: (text: string) => void;
}

/** A home's trace directory. */
export function traceDirectory(home: string): string {
  return homePaths(home).trace;
}

/** The trace files in `directory`, newest day first; [] when there is no directory. */
export function listTraceFiles(directory: string): { day: string; path: string }[] {
  const files: { day: string; path: string }[] = [];
  try {
    for (const entry of Deno.readDirSync(directory)) {
      const day = traceFileDay(entry.name);
      if (day !== undefined && entry.isFile) {
        files.push({ day, path: `${directory}/${entry.name}` });
      }
    }
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return [];
    throw error;
  }
  return files.sort((a, b) => b.day.localeCompare(a.day));
}

/** Appends traces to a trace directory; see the module comment. */
export class TraceStore {
  readonly #directory: string;
  readonly #keepDays: number;
  readonly #maxBytes: number;
  readonly #now: () => number;
  readonly #warn: (text: string) => void;
  /** The day of the last size and age check. */
  #checkedDay: string | undefined;
  /** Bytes this writer appended since that check. */
  #sinceCheck = 0;
  /** The day whose later traces are dropped because today's file is over the cap. */
  #fullDay: string | undefined;
  #failing = false;
  #dropped = 0;
  /** The file last appended to, while it may be used again. */
  #open: { file: string; handle: Deno.FsFile; openedAt: number } | undefined;
  /** After close(): each append opens and closes the file (sessions that outlive a reload). */
  #closed = false;

  constructor(directory: string, options: TraceStoreOptions = {}) {
    this.#directory = directory;
    this.#keepDays = Math.max(1, options.keepDays ?? TRACE_KEEP_DAYS);
    this.#maxBytes = Math.max(1, options.maxBytes ?? TRACE_MAX_BYTES);
    this.#now = options.now ?? Date.now;
    this.#warn = options.warn ?? ((text) => logWarning(text, { trace: directory }));
  }

  /** Traces dropped so far (today over the size cap). */
  get dropped(): number {
    return this.#dropped;
  }

  /** Closes the held file; later appends still write, opening the file each time. */
  close(): void {
    this.#closed = true;
    this.#release();
  }

  #release(): void {
    const open = this.#open;
    this.#open = undefined;
    try {
      open?.handle.close();
    } catch {
      // closed already
    }
  }

  /** Appends one session's trace; a failure is reported, never thrown. */
  append(trace: SessionTrace): void {
    let line: string;
    try {
      line = formatTraceLine(trace);
    } catch (error) {
      this.#fail(`cannot record the trace of session ${trace.sessionId}: ${message(error)}`);
      return;
    }
    const file = traceFileName(this.#now());
    try {
      this.#write(file, line);
    } catch (error) {
      this.#fail(`cannot write the decision trace ${this.#directory}/${file}: ${message(error)}`);
    }
  }

  #write(file: string, line: string): void {
    const day = traceFileDay(file)!;
    const bytes = encoder.encode(`${line}\n`);
    if (this.#checkedDay !== day || this.#sinceCheck + bytes.length > this.#maxBytes / 16) {
      Deno.mkdirSync(this.#directory, { recursive: true, mode: 0o750 });
      this.#enforceBounds(day, bytes.length);
    }
    if (this.#fullDay === day) {
      this.#dropped++;
      return;
    }
    // One write with O_APPEND: other isolates' whole lines never interleave with it.
    const handle = this.#handle(file);
    try {
      writeAllSync(handle, bytes);
    } catch (error) {
      // Opened again next time: the handle may be what failed.
      this.#release();
      throw error;
    }
    if (this.#closed) this.#release();
    this.#sinceCheck += bytes.length;
    this.#failing = false;
  }

  /** The held handle on `file`, or a new one (another file, or held long enough). */
  #handle(file: string): Deno.FsFile {
    const now = this.#now();
    const open = this.#open;
    if (open?.file === file) {
      // A clock set back counts as held too long.
      const age = now - open.openedAt;
      if (age >= 0 && age < HANDLE_REUSE_MS) return open.handle;
    }
    this.#release();
    const handle = Deno.openSync(`${this.#directory}/${file}`, {
      append: true,
      create: true,
      mode: FILE_MODE,
    });
    this.#open = { file, handle, openedAt: now };
    return handle;
  }

  /** Deletes old and oversize days; marks `day` full when its own file is over the cap. */
  #enforceBounds(day: string, adding: number): void {
    this.#checkedDay = day;
    this.#sinceCheck = 0;
    const oldest = new Date(Date.parse(`${day}T00:00:00Z`) - (this.#keepDays - 1) * DAY_MS)
      .toISOString().slice(0, 10);
    const files = listTraceFiles(this.#directory).map((each) => ({
      ...each,
      size: sizeOf(each.path),
    }));
    let total = files.reduce((sum, each) => sum + each.size, 0) + adding;
    // Oldest first: past the age limit, then while over the size cap (never today's file).
    for (const each of [...files].reverse()) {
      if (each.day >= day) continue;
      if (each.day >= oldest && total <= this.#maxBytes) continue;
      removeFile(each.path);
      total -= each.size;
    }
    if (total > this.#maxBytes) {
      if (this.#fullDay !== day) {
        this.#warn(
          `the decision trace of ${day} is over ${this.#maxBytes} bytes; ` +
            `no more sessions are recorded until the next day`,
        );
      }
      this.#fullDay = day;
    }
  }

  #fail(text: string): void {
    if (!this.#failing) this.#warn(text);
    this.#failing = true;
  }
}

function sizeOf(path: string): number {
  try {
    return Deno.statSync(path).size;
  } catch {
    return 0;
  }
}

function removeFile(path: string): void {
  try {
    Deno.removeSync(path);
  } catch (error) {
    // Another isolate may have removed it first.
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  }
}

function message(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/**
 * The `onTrace` of the SMTP driver: the trace is written when it returns.
 * `close` lets the file go (a reload replaces the writer).
 */
export type TraceWriter = ((trace: SessionTrace) => void) & { close?: () => void };

/**
 * The `onTrace` the smtpd role hands the SMTP driver: appends each session's
 * trace to HOME/log/trace as it ends, reporting failures in the log.
 * keepDays 0 (control/tracedays 0): nothing is recorded.
 */
export function traceWriter(home: string, options: TraceStoreOptions = {}): TraceWriter {
  if (options.keepDays === 0) {
    return () => {};
  }
  const store = new TraceStore(traceDirectory(home), options);
  return Object.assign((trace: SessionTrace) => store.append(trace), {
    close: () => store.close(),
  });
}

/** The lines of a file (or a stream), one at a time, without loading it whole. */
export async function* readLines(
  source: string | ReadableStream<Uint8Array>,
): AsyncGenerator<string> {
  // A file's readable closes the file when it ends, fails or the loop stops early.
  const stream = typeof source === "string"
    ? (await Deno.open(source, { read: true })).readable
    : source;
  let rest = "";
  const decoder = new TextDecoder();
  for await (const chunk of stream) {
    rest += decoder.decode(chunk, { stream: true });
    const lines = rest.split("\n");
    rest = lines.pop()!;
    yield* lines;
  }
  rest += decoder.decode();
  if (rest !== "") yield rest;
}

/**
 * The traces of `home` that `id` names (a session id, a queue id or a
 * Message-ID: trace_format.ts traceMatches), newest day first, at most `limit`.
 */
export async function findTraces(
  home: string,
  id: string,
  limit = 20,
): Promise<SessionTrace[]> {
  const found: SessionTrace[] = [];
  for (const { path } of listTraceFiles(traceDirectory(home))) {
    const inFile: SessionTrace[] = [];
    for await (const line of readLines(path)) {
      // A cheap test before parsing: the id must appear in the line as JSON writes it.
      if (!line.includes(JSON.stringify(id).slice(1, -1))) continue;
      const trace = parseTraceLine(line);
      if (trace !== undefined && traceMatches(trace, id)) inFile.push(trace);
    }
    found.push(...inFile.reverse());
    if (found.length >= limit) break;
  }
  return found.slice(0, limit);
}
