/**
 * One POP3 session's view of a Maildir, as qmail-pop3d has it
 * (docs/queue-format.md §7.3, maildir.5):
 *
 * - open: lock the Maildir for this session (RFC 2449 [IN-USE]), delete tmp/
 *   entries untouched (atime) for 36 hours, then list new/ then cur/, skipping
 *   names that start with "." and keeping only files whose mtime (in whole
 *   seconds, as qmail's maildir_scan) is strictly before the scan time, in
 *   mtime order. The listing is fixed for the session: a message delivered
 *   after open shows up at the next open.
 * - stream: RETR/TOP with qmail-pop3d's blast(): LF → CRLF, a leading "."
 *   doubled, and after the last line's CRLF the ending "\r\n.\r\n" (an extra
 *   empty line, then the terminator: qmail-pop3d's quirk). TOP n l sends the
 *   header, the blank line and l body lines.
 * - commit (QUIT): unlink the deleted messages, subtract them from a Maildir++
 *   maildirsize if there is one, and rename every other message still in new/
 *   to cur/NAME:2, (rename errors ignored, as qmail).
 *
 * The lock is an flock(2) (FsFile.tryLockSync) on Maildir/.qmd-pop3.lock, a dot
 * file so listings skip it; it holds across isolates and processes and goes
 * away with the file descriptor (close or process death). The file itself is
 * left in place: removing it would let two sessions lock two different files.
 *
 * Deviations from qmail-pop3d, both for robustness:
 * - only regular files are listed (qmail lists any name, and a directory
 *   would then fail at RETR);
 * - a CRLF line end in the file is sent as CRLF (qmail sends "\r\r\n"), a lone
 *   CR as CRLF (qmail sends it as it is, so `\r.\r` could end the message
 *   early for a client that takes a bare CR as a line end), and a line
 *   holding only "\r" counts as the blank line that ends the header.
 *
 * Cost: the metadata calls and the reads are synchronous (page-cache reads,
 * cheaper in CPU than a trip to Deno's I/O threads, as appliance/deliver/
 * maildir.ts found), into one read buffer kept for the session, a short
 * read taken as the end of the file; the output is converted straight into
 * the session's OutputBuffer (output_buffer.ts), written in large writes.
 */
import { addMaildirQuota, sizeFromName } from "../deliver/quota.ts";
import type { Pop3Message } from "./session_step.ts";
import { MailError } from "../mail_error.ts";
import { OutputBuffer } from "./output_buffer.ts";
import { simdBlast } from "./blast_simd.ts";

export type { Pop3Message };

/** Why a mailbox cannot be opened; the client only ever hears qmail-pop3d's scan failure. */
export class MaildirBoxError extends MailError {
  constructor(temporary: boolean, message: string, options?: ErrorOptions) {
    super(message, { ...options, temporary });
    this.name = "MaildirBoxError";
  }
}

/** The lock file inside the Maildir (a dot file: never listed). */
export const LOCK_FILE = ".qmd-pop3.lock";
/** maildir.5 / qmail's maildir_clean: tmp/ files untouched this long are removed. */
export const TMP_MAX_AGE_SECONDS = 129600;
/** qmail-pop3d's QUIT text when an unlink fails. */
export const UNLINK_FAILED = "-ERR unable to unlink all deleted messages";

const READ_BYTES = 64 * 1024;
const FLUSH_BYTES = 64 * 1024;
// The end of a message: the last line's CRLF and the ending.
const TAIL_BYTES = 8;
const LF = 0x0a;
const CR = 0x0d;
const DOT = 0x2e;
const ENDING = new Uint8Array([CR, LF, DOT, CR, LF]);
/** Bytes as UTF-8 text, to find line ends in (a BOM is kept as a character). */
const decoder = new TextDecoder("utf-8", { ignoreBOM: true });

export interface MaildirBoxOptions {
  /**
   * Make the Maildir (tmp/ new/ cur/, mode 0700) when missing: a virtual
   * mailbox nothing has been delivered to yet.
   */
  create?: boolean;
}

function seconds(date: Date): number {
  return Math.floor(date.getTime() / 1000);
}

/** The UIDL of a listed name: the file name after new/ or cur/ up to the first ":". */
export function uidlOf(name: string): string {
  const base = name.slice(name.indexOf("/") + 1);
  const colon = base.indexOf(":");
  return colon === -1 ? base : base.slice(0, colon);
}

function isMissing(error: unknown): boolean {
  return error instanceof Deno.errors.NotFound || error instanceof Deno.errors.NotADirectory;
}

/** qmail's maildir_clean: unlink tmp/ entries (not dot files) with atime older than 36 h. */
function cleanTmp(maildir: string, now: Date): void {
  const limit = seconds(now) - TMP_MAX_AGE_SECONDS;
  let entries: Iterable<Deno.DirEntry>;
  try {
    entries = Deno.readDirSync(`${maildir}/tmp`);
    for (const entry of entries) {
      if (entry.name.startsWith(".")) continue;
      const path = `${maildir}/tmp/${entry.name}`;
      try {
        const atime = Deno.statSync(path).atime;
        if (atime !== null && seconds(atime) < limit) Deno.removeSync(path);
      } catch {
        // Gone meanwhile, or not removable (a directory): qmail ignores both.
      }
    }
  } catch {
    // No tmp/, or unreadable: qmail's maildir_clean just returns.
  }
}

interface Listed {
  message: Pop3Message;
  mtime: number;
}

function scanDirectory(maildir: string, sub: "new" | "cur", before: number, out: Listed[]): void {
  let entries: Iterable<Deno.DirEntry>;
  try {
    entries = Deno.readDirSync(`${maildir}/${sub}`);
  } catch (error) {
    if (isMissing(error)) {
      throw new MaildirBoxError(false, `This user has no Maildir/${sub}`, { cause: error });
    }
    throw new MaildirBoxError(true, `Unable to scan Maildir/${sub}`, { cause: error });
  }
  try {
    for (const entry of entries) {
      if (entry.name.startsWith(".")) continue;
      let info: Deno.FileInfo;
      try {
        info = Deno.statSync(`${maildir}/${sub}/${entry.name}`);
      } catch {
        continue; // vanished between readdir and stat (qmail: stat fails, skipped)
      }
      if (!info.isFile || info.mtime === null) continue;
      const mtime = info.mtime.getTime();
      if (Math.floor(mtime / 1000) >= before) continue; // the mtime rule, in seconds
      const name = `${sub}/${entry.name}`;
      out.push({ message: { name, size: info.size, uidl: uidlOf(name) }, mtime });
    }
  } catch (error) {
    throw new MaildirBoxError(true, `Unable to scan Maildir/${sub}`, { cause: error });
  }
}

function compareListed(a: Listed, b: Listed): number {
  if (a.mtime !== b.mtime) return a.mtime - b.mtime;
  return a.message.uidl < b.message.uidl ? -1 : a.message.uidl > b.message.uidl ? 1 : 0;
}

/** Lists new/ then cur/ (maildir_scan): mtime strictly before `now` (seconds), by mtime. */
export function scanMaildir(maildir: string, now: Date): Pop3Message[] {
  const listed: Listed[] = [];
  const before = seconds(now);
  scanDirectory(maildir, "new", before, listed);
  scanDirectory(maildir, "cur", before, listed);
  // qmail's prioq orders by the mtime in seconds, ties in heap order; this
  // orders by the full mtime, ties by UIDL (names start with the delivery time).
  listed.sort(compareListed);
  return listed.map((entry) => entry.message);
}

function makeMaildir(maildir: string): void {
  for (const sub of ["tmp", "new", "cur"]) {
    Deno.mkdirSync(`${maildir}/${sub}`, { recursive: true, mode: 0o700 });
  }
}

function openLock(maildir: string): Deno.FsFile {
  try {
    return Deno.openSync(`${maildir}/${LOCK_FILE}`, {
      read: true,
      write: true,
      create: true,
      mode: 0o600,
    });
  } catch (error) {
    if (isMissing(error)) {
      throw new MaildirBoxError(false, "This user has no Maildir", { cause: error });
    }
    throw new MaildirBoxError(true, "Unable to open the Maildir lock", { cause: error });
  }
}

/**
 * The most a chunk of `length` bytes becomes: every byte a line end (CRLF),
 * plus the CRLF of a CR withheld at the end of the previous chunk.
 */
function converted(length: number): number {
  return 2 * length + 2;
}

/** blast()'s state across reads. */
interface BlastState {
  lineStart: boolean;
  /** Content bytes of the current line so far. */
  lineLength: number;
  /** The chunk ended in a CR: one line end whether or not the next byte is LF. */
  pendingCr: boolean;
  inHeaders: boolean;
  /** Body lines still to send (TOP); Infinity for RETR. */
  remaining: number;
  stopped: boolean;
}

/**
 * Converts one chunk (at most READ_BYTES) into `out` from `used` on (room
 * for converted(chunk.length) bytes); returns the new end. qmail-pop3d's
 * blast(): a line starting with "." gets another; each line ends in CRLF;
 * past the header's blank line, the TOP count is checked at the start of
 * each line. A line ends at LF, CRLF or a lone CR (sent as CRLF and
 * dot-stuffed after), so no client that takes a bare CR for a line end can
 * read `\r.\r` as the end of the message (RFC 1939 §3, RFC 5321 §2.3.8).
 * Whole lines are copied at a time (set): a loop per byte costs more. Line
 * ends are found in the chunk decoded as UTF-8 when that kept one character
 * per byte (ASCII, the usual case): a string's indexOf is a memchr, about
 * three times as fast as a Uint8Array's (issue 16's profile).
 */
function blastChunk(chunk: Uint8Array, state: BlastState, out: Uint8Array, used: number): number {
  const length = chunk.length;
  const decoded = decoder.decode(chunk);
  const text = decoded.length === length ? decoded : undefined;
  let pos = 0;
  if (state.pendingCr) {
    state.pendingCr = false;
    if (length > 0 && chunk[0] === LF) pos = 1;
    // The line ends: a line with no content ends the header.
    if (state.lineLength === 0) state.inHeaders = false;
    out[used++] = CR;
    out[used++] = LF;
    state.lineStart = true;
  }
  let cr = text === undefined ? chunk.indexOf(CR, pos) : text.indexOf("\r", pos);
  while (pos < length) {
    if (state.lineStart) {
      if (!state.inHeaders) {
        if (state.remaining <= 0) {
          state.stopped = true;
          return used;
        }
        state.remaining--;
      }
      if (chunk[pos] === DOT) out[used++] = DOT;
      state.lineStart = false;
      state.lineLength = 0;
    }
    if (cr !== -1 && cr < pos) {
      cr = text === undefined ? chunk.indexOf(CR, pos) : text.indexOf("\r", pos);
    }
    let end = text === undefined ? chunk.indexOf(LF, pos) : text.indexOf("\n", pos);
    if (end === -1) end = length;
    if (cr !== -1 && cr < end) end = cr;
    if (end > pos) {
      out.set(chunk.subarray(pos, end), used);
      used += end - pos;
      state.lineLength += end - pos;
    }
    if (end === length) return used;
    if (chunk[end] === CR) {
      if (end + 1 === length) {
        state.pendingCr = true;
        return used;
      }
      pos = chunk[end + 1] === LF ? end + 2 : end + 1;
    } else {
      pos = end + 1;
    }
    if (state.lineLength === 0) state.inHeaders = false;
    out[used++] = CR;
    out[used++] = LF;
    state.lineStart = true;
  }
  return used;
}

/** A locked Maildir, listed once, for one POP3 session. */
export class MaildirBox {
  readonly maildir: string;
  readonly messages: Pop3Message[];
  #lock: Deno.FsFile | undefined;
  /** stream()'s read buffer, kept for the session. */
  #chunk: Uint8Array | undefined;

  private constructor(maildir: string, messages: Pop3Message[], lock: Deno.FsFile) {
    this.maildir = maildir;
    this.messages = messages;
    this.#lock = lock;
  }

  /**
   * Locks the Maildir ("in-use" when another session, in any isolate or
   * process, holds it), cleans tmp/ and lists the messages. A missing Maildir
   * (or new/, cur/) throws a MaildirBoxError with temporary false
   * (qmail-pop3d: "-ERR this user has no $HOME/Maildir"); other I/O errors
   * throw one with temporary true. Everything is synchronous (openSync's
   * work); this is its promise form.
   */
  static open(
    maildir: string,
    now: Date,
    options: MaildirBoxOptions = {},
  ): Promise<MaildirBox | "in-use"> {
    try {
      return Promise.resolve(MaildirBox.openSync(maildir, now, options));
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /** open() without the promise. */
  static openSync(
    maildir: string,
    now: Date,
    options: MaildirBoxOptions = {},
  ): MaildirBox | "in-use" {
    if (options.create) {
      try {
        makeMaildir(maildir);
      } catch (error) {
        throw new MaildirBoxError(true, "Unable to make the Maildir", { cause: error });
      }
    }
    const lock = openLock(maildir);
    try {
      if (!lock.tryLockSync(true)) {
        lock.close();
        return "in-use";
      }
    } catch (error) {
      lock.close();
      throw new MaildirBoxError(true, "Unable to lock the Maildir", { cause: error });
    }
    try {
      cleanTmp(maildir, now);
      return new MaildirBox(maildir, scanMaildir(maildir, now), lock);
    } catch (error) {
      lock.close();
      throw error;
    }
  }

  /**
   * Sends one message (RETR) or its header and `lines` body lines (TOP),
   * framed as qmail-pop3d does, ending with "\r\n.\r\n" after the last line's
   * CRLF. The "+OK " line is the caller's. "gone" when the file has vanished
   * (deleted or moved by another client); nothing has been written then.
   *
   * `out` is the session's output (the message is appended to it and written
   * out whenever its flushBytes are waiting, the rest left for the caller), or a
   * function that gets the message in writes of FLUSH_BYTES to 192 KiB, one
   * write for a message of up to 64 KiB including the ending.
   */
  async stream(
    message: Pop3Message,
    out: OutputBuffer | ((bytes: Uint8Array) => Promise<void>),
    lines?: number,
  ): Promise<"sent" | "gone"> {
    let file: Deno.FsFile;
    try {
      file = Deno.openSync(`${this.maildir}/${message.name}`, { read: true });
    } catch (error) {
      if (isMissing(error)) return "gone";
      throw error;
    }
    const own = typeof out === "function";
    const output = own
      ? new OutputBuffer(out, {
        initialBytes: converted(Math.min(READ_BYTES, message.size + 1)) + TAIL_BYTES,
        flushBytes: FLUSH_BYTES,
      })
      : out;
    try {
      const state: BlastState = {
        lineStart: true,
        lineLength: 0,
        pendingCr: false,
        inHeaders: true,
        remaining: lines === undefined || !(lines >= 0) ? Infinity : Math.floor(lines),
        stopped: false,
      };
      const chunk = simdBlast?.input ?? this.#readBuffer(message.size);
      for (;;) {
        // Read, convert and copy out with no await between: simdBlast is the isolate's.
        const count = file.readSync(chunk);
        if (count === null || count === 0) break;
        const fast = state.remaining === Infinity && !state.pendingCr
          ? simdBlast?.convert(count, state.lineStart)
          : undefined;
        if (fast !== undefined) {
          output.room(fast.length).set(fast, output.size);
          output.advance(fast.length);
          state.lineStart = chunk[count - 1] === LF;
        } else {
          const bytes = output.room(converted(count));
          const end = blastChunk(chunk.subarray(0, count), state, bytes, output.size);
          output.advance(end - output.size);
        }
        if (state.stopped) break;
        if (output.size >= output.flushBytes) await output.wait(output.flushBytes);
        // A short read of a regular file is its end: no read just to hear EOF.
        if (count < chunk.length) break;
      }
      const bytes = output.room(TAIL_BYTES);
      let used = output.size;
      if (!state.stopped && !state.lineStart) {
        // A last line without LF (or ending in a CR): qmail adds the CRLF.
        bytes[used++] = CR;
        bytes[used++] = LF;
      }
      bytes.set(ENDING, used);
      output.advance(used + ENDING.length - output.size);
      if (own) await output.flush();
      return "sent";
    } finally {
      file.close();
    }
  }

  /**
   * The session's read buffer (without simdBlast), sized for the first
   * message (a file larger than listed is read to EOF all the same).
   */
  #readBuffer(size: number): Uint8Array {
    const wanted = Math.min(READ_BYTES, Math.max(size, 0) + 1);
    if (this.#chunk === undefined || this.#chunk.length < wanted) {
      this.#chunk = new Uint8Array(wanted < READ_BYTES ? Math.max(wanted, 4096) : READ_BYTES);
    }
    return this.#chunk;
  }

  /**
   * QUIT: unlinks the deleted messages (one already gone is fine), appends
   * "-BYTES -COUNT" to maildirsize when it exists (Maildir++; the size from
   * ",S=" in the name when present, else the listed size), then renames every
   * other listed message still in new/ to cur/NAME:2, (errors ignored). A
   * failed unlink gives qmail-pop3d's "-ERR unable to unlink all deleted
   * messages"; the renames happen anyway.
   */
  async commit(deleted: Pop3Message[]): Promise<{ ok: true } | { ok: false; text: string }> {
    let failed = false;
    let bytes = 0;
    let count = 0;
    const gone = new Set<string>();
    for (const message of deleted) {
      gone.add(message.name);
      try {
        Deno.removeSync(`${this.maildir}/${message.name}`);
        bytes += sizeFromName(message.name) ?? message.size;
        count++;
      } catch (error) {
        if (!(error instanceof Deno.errors.NotFound)) failed = true;
      }
    }
    if (count > 0) {
      try {
        await addMaildirQuota(this.maildir, -bytes, -count);
      } catch {
        // A maildirsize that cannot be appended to is recalculated by the next delivery check.
      }
    }
    for (const message of this.messages) {
      if (gone.has(message.name) || !message.name.startsWith("new/")) continue;
      const base = message.name.slice("new/".length);
      try {
        Deno.renameSync(`${this.maildir}/new/${base}`, `${this.maildir}/cur/${base}:2,`);
      } catch {
        // qmail-pop3d ignores rename errors (a message another client moved or deleted).
      }
    }
    return failed ? { ok: false, text: UNLINK_FAILED } : { ok: true };
  }

  /** Releases the lock (idempotent). */
  close(): void {
    this.#lock?.close();
    this.#lock = undefined;
  }
}
