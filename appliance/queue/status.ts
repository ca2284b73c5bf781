/**
 * What qmail-qstat and qmail-qread print, byte for byte (notqmail's
 * qmail-qstat.sh and qmail-qread.c; queue layout in docs/queue-format.md §2,
 * file formats §4.5).
 */
import { bytesToString, byteStringText, hasEightBit, isUtf8ByteString } from "../bytes.ts";
import type { Channel, QueueLayout } from "./layout.ts";
import { formatDate822 } from "../date822.ts";
import { probeFile } from "../durable_file.ts";
import { EXIT } from "../exit_codes.ts";

export interface QueueCounts {
  /** Regular files under mess/* (qmail-qstat: `find queue/mess/* -type f | wc -l`). */
  messages: number;
  /**
   * Regular files anywhere under todo/ (`find queue/todo -type f | wc -l`):
   * flat `todo/ID` and split `todo/NN/ID` alike, queued but not yet
   * preprocessed.
   */
  unprocessed: number;
}

/** Counts as notqmail's qmail-qstat does: regular files, at any depth. */
export function countQueue(layout: QueueLayout): QueueCounts {
  let messages = 0;
  const mess = layout.directory("mess");
  for (const entry of readDirOrEmpty(mess)) {
    if (entry.name.startsWith(".")) continue; // the shell's * skips dot files
    if (entry.isFile) messages++;
    else if (entry.isDirectory) messages += countFiles(`${mess}/${entry.name}`);
  }
  return { messages, unprocessed: countFiles(layout.directory("todo")) };
}

/** qmail-qstat's two lines. */
export function formatQstat(counts: QueueCounts): string {
  return `messages in queue: ${counts.messages}\n` +
    `messages in queue but not yet preprocessed: ${counts.unprocessed}\n`;
}

export interface QreadRecipient {
  channel: Channel;
  done: boolean;
  address: Uint8Array;
}

export interface QreadMessage {
  id: bigint;
  /** The info file's mtime: the message's birth (§4.5). */
  birth: Date;
  /** Size of the mess file in bytes. */
  size: number;
  sender: Uint8Array;
  /** bounce/ID exists. */
  bouncing: boolean;
  recipients: QreadRecipient[];
}

/**
 * One message as qmail-qread prints it: the stats line, then a line per
 * recipient (formatQreadStats, formatQreadRecipient).
 */
export function formatQreadMessage(message: QreadMessage): string {
  return formatQreadStats(message) + message.recipients.map(formatQreadRecipient).join("");
}

/**
 * qmail-qread's stats line: `D Mon YYYY HH:MM:SS GMT  #ID  SIZE  <SENDER> `,
 * then ` bouncing` when bounce/ID exists. The birth is shown to the second
 * (UTC); sender bytes outside 32–126 print as `_` (UTF-8 as text, see printable).
 */
export function formatQreadStats(message: Omit<QreadMessage, "recipients">): string {
  // qmail-qread cuts " -0000\n" off date822fmt's output and appends " GMT".
  const date = formatDate822(message.birth).slice(0, -" -0000".length);
  const bouncing = message.bouncing ? " bouncing" : "";
  return `${date} GMT  #${message.id}  ${message.size}  <${
    printable(message.sender)
  }> ${bouncing}\n`;
}

/** `\tlocal\tADDR` or `\tremote\tADDR`, with `  done` in front once delivered. */
export function formatQreadRecipient(recipient: QreadRecipient): string {
  return `${recipient.done ? "  done" : ""}\t${recipient.channel}\t${
    printable(recipient.address)
  }\n`;
}

/** qmail-qread's warning for a message it cannot read. */
export function formatQreadTrouble(id: bigint, error: unknown): string {
  return `warning: trouble with #${id}: ${errorText(error)}\n`;
}

export interface QreadResult {
  text: string;
  /** 0, or 111 after a fatal error (its line ends the text). */
  exitCode: number;
}

/**
 * Everything qmail-qread prints for this queue: messages in the order
 * readsubdir finds them in info/ (subdirectory 0 first; within one, in
 * directory order as readdir returns it, unsorted).
 */
export function describeQueue(layout: QueueLayout): QreadResult {
  let text = "";
  try {
    if (!Deno.statSync(layout.root).isDirectory) throw new Deno.errors.NotADirectory("queue");
  } catch (error) {
    return { text: `fatal: unable to chdir: ${errorText(error)}\n`, exitCode: EXIT.temporary };
  }
  const infoDirectories = layout.directories("info");
  for (let bucket = 0; bucket < layout.split; bucket++) {
    let names: string[];
    try {
      names = Array.from(Deno.readDirSync(infoDirectories[bucket]), (entry) => entry.name);
    } catch (error) {
      text += `fatal: unable to opendir info/${bucket}: ${errorText(error)}\n`;
      return { text, exitCode: EXIT.temporary };
    }
    for (const name of names) if (/^\d+$/.test(name)) text += describeMessage(layout, BigInt(name));
  }
  return { text, exitCode: EXIT.ok };
}

function describeMessage(layout: QueueLayout, id: bigint): string {
  let size: number;
  let sender: Uint8Array;
  let birth: Date;
  try {
    size = Deno.statSync(layout.mess(id)).size;
    const info = Deno.readFileSync(layout.info(id));
    const end = info.indexOf(0);
    // qmail-qread prints the first record minus its first byte, whatever that is.
    sender = info.slice(1, end < 0 ? info.length : end);
    birth = Deno.statSync(layout.info(id)).mtime ?? new Date(0);
  } catch (error) {
    return formatQreadTrouble(id, error);
  }
  const bouncing = probeFile(layout.bounce(id));
  let text = formatQreadStats({ id, birth, size, sender, bouncing });
  for (const channel of ["local", "remote"] as const) {
    let bytes: Uint8Array;
    try {
      bytes = Deno.readFileSync(layout.channel(channel, id));
    } catch (error) {
      if (!(error instanceof Deno.errors.NotFound)) text += formatQreadTrouble(id, error);
      continue;
    }
    for (const { done, address } of readChannelRecords(bytes)) {
      text += formatQreadRecipient({ channel, done, address });
    }
  }
  return text;
}

/** T and D records; unlike qmail-send, qmail-qread skips other records and reads on. */
function readChannelRecords(bytes: Uint8Array): { done: boolean; address: Uint8Array }[] {
  const records: { done: boolean; address: Uint8Array }[] = [];
  let start = 0;
  for (;;) {
    const end = bytes.indexOf(0, start);
    if (end < 0) return records;
    if (end > start && (bytes[start] === 0x54 || bytes[start] === 0x44)) {
      records.push({ done: bytes[start] === 0x44, address: bytes.subarray(start + 1, end) });
    }
    start = end + 1;
  }
}

/**
 * qmail-qread's out(): bytes 32–126 as they are, every other byte as `_`.
 * Departure: an address that is well-formed UTF-8 (SMTPUTF8, RFC 6531) is
 * shown as its text, only control characters (C0, DEL, C1) as `_`; the text
 * is UTF-8 on output.
 */
function printable(bytes: Uint8Array): string {
  const text = bytesToString(bytes);
  if (hasEightBit(bytes) && isUtf8ByteString(text)) {
    // deno-lint-ignore no-control-regex
    return byteStringText(text).replace(/[\x00-\x1f\x7f-\x9f]/g, "_");
  }
  return text.replace(/[^\x20-\x7e]/g, "_");
}

/** Regular files below `dir`, recursively (`find DIR -type f`: symbolic links are not followed). */
/** Regular files under `dir`, at any depth (0 when it cannot be read). */
export function countFiles(dir: string): number {
  let count = 0;
  for (const entry of readDirOrEmpty(dir)) {
    if (entry.isFile) count++;
    else if (entry.isDirectory) count += countFiles(`${dir}/${entry.name}`);
  }
  return count;
}

function readDirOrEmpty(dir: string): Deno.DirEntry[] {
  try {
    return Array.from(Deno.readDirSync(dir));
  } catch {
    return [];
  }
}

/** qmail's error_str wording for the errors a queue reader meets. */
function errorText(error: unknown): string {
  const { code, name } = error as { code?: string; name?: string };
  return ERROR_TEXT[code ?? ""] ?? ERROR_TEXT[ERROR_CODE_OF_NAME[name ?? ""] ?? ""] ??
    "unknown error";
}

/** Deno error classes without an errno code, by the errno they stand for. */
const ERROR_CODE_OF_NAME: Record<string, string> = {
  NotFound: "ENOENT",
  PermissionDenied: "EACCES",
  AlreadyExists: "EEXIST",
  NotADirectory: "ENOTDIR",
  IsADirectory: "EISDIR",
  Interrupted: "EINTR",
  FilesystemLoop: "ELOOP",
};

const ERROR_TEXT: Record<string, string> = {
  EINTR: "interrupted system call",
  ENOMEM: "out of memory",
  ENOENT: "file does not exist",
  EIO: "input/output error",
  EEXIST: "file already exists",
  EAGAIN: "temporary failure",
  EPERM: "permission denied",
  EACCES: "access denied",
  EBADF: "file descriptor not open",
  EBUSY: "device busy",
  ENOTDIR: "not a directory",
  EISDIR: "is a directory",
  EINVAL: "invalid argument",
  ENFILE: "system cannot open more files",
  EMFILE: "process cannot open more files",
  ELOOP: "symbolic link loop",
  ENAMETOOLONG: "file name too long",
  ESTALE: "stale NFS file handle",
};
