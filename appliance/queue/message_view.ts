/**
 * Queued messages as `qmd queue list` and `show` present them
 * (queue/control_request.ts): envelope, state, hold, next retry, and each
 * recipient's last deferral. Read-only; the schedule comes from whoever owns
 * it (the running send role's memory, or the channel files' mtimes, §4.7).
 */
import type { MessageDetail, QueuedMessage, QueuedRecipient } from "./control_request.ts";
import { parseChannelFile, parseInfo, parseTodo } from "./envelope.ts";
import { readDeferrals } from "./deferrals.ts";
import { isHeld } from "./held.ts";
import type { Channel, QueueLayout } from "./layout.ts";
import { findEntry } from "./entries.ts";
import { bytesToString } from "../bytes.ts";
import { probeFile } from "../durable_file.ts";

const CHANNELS: readonly Channel[] = ["local", "remote"];

/** The most of mess/ID `show` reads looking for the end of the header. */
const MAX_HEADER_BYTES = 65536;

/** What the schedule's owner knows of a message. */
export interface ScheduleView {
  /** When each channel's job is next due (Unix seconds); a channel without a job is absent. */
  nextRetry(id: bigint): Partial<Record<Channel, number>>;
  /** Whether a delivery of the message is in flight. */
  delivering(id: bigint): boolean;
}

/** The schedule qmail-send saved in the channel files' mtimes (§4.7): what a stopped queue knows. */
export function savedSchedule(layout: QueueLayout): ScheduleView {
  return {
    nextRetry(id) {
      const due: Partial<Record<Channel, number>> = {};
      for (const channel of CHANNELS) {
        const mtime = mtimeOf(layout.channel(channel, id));
        if (mtime !== undefined) due[channel] = mtime;
      }
      return due;
    },
    delivering: () => false,
  };
}

/** Every message in the queue (info/ and todo/), by number. */
export function listQueuedMessages(layout: QueueLayout, schedule: ScheduleView): QueuedMessage[] {
  const ids = new Set([...layout.listIds("info"), ...layout.listIds("todo")]);
  return [...ids].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))
    .map((id) => readQueuedMessage(layout, id, schedule))
    .filter((message): message is QueuedMessage => message !== undefined);
}

/** One message; undefined when it is not (or no longer) in the queue. */
export function readQueuedMessage(
  layout: QueueLayout,
  id: bigint,
  schedule: ScheduleView,
): QueuedMessage | undefined {
  const size = sizeOf(layout.mess(id));
  if (size === undefined) return undefined;
  const todo = findEntry(layout.todoForms(id));
  const base = { id: String(id), held: isHeld(layout, id), size };
  if (todo !== undefined) {
    const records = parseTodo(readOrEmpty(todo));
    return {
      ...base,
      state: "unprocessed",
      birth: mtimeOf(layout.mess(id)) ?? 0,
      sender: bytesToString(records.sender ?? new Uint8Array(0)),
      nextRetry: {},
      delivering: false,
      recipients: records.recipients.map((address) => ({
        address: bytesToString(address),
        done: false,
      })),
    };
  }
  const birth = mtimeOf(layout.info(id));
  const sender = parseInfo(readOrEmpty(layout.info(id)));
  if (birth === undefined || sender === undefined) return undefined;
  const deferrals = readDeferrals(layout, id);
  const recipients: QueuedRecipient[] = [];
  for (const channel of CHANNELS) {
    for (const record of parseChannelFile(readOrEmpty(layout.channel(channel, id)))) {
      const address = bytesToString(record.address);
      const lastDeferral = Object.hasOwn(deferrals, address) ? deferrals[address] : undefined;
      recipients.push({ channel, address, done: record.done, ...lastDeferral && { lastDeferral } });
    }
  }
  return {
    ...base,
    state: probeFile(layout.bounce(id)) ? "bouncing" : "queued",
    birth,
    sender: bytesToString(sender),
    nextRetry: schedule.nextRetry(id),
    delivering: schedule.delivering(id),
    recipients,
  };
}

/** readQueuedMessage with the header block of mess/ID. */
export function readMessageDetail(
  layout: QueueLayout,
  id: bigint,
  schedule: ScheduleView,
): MessageDetail | undefined {
  const message = readQueuedMessage(layout, id, schedule);
  if (message === undefined) return undefined;
  return { ...message, headers: readHeaders(layout.mess(id)) };
}

/** A file's beginning up to and including its first empty line (LF LF). */
function readHeaders(path: string): string {
  let file: Deno.FsFile;
  try {
    file = Deno.openSync(path, { read: true });
  } catch {
    return "";
  }
  try {
    const buffer = new Uint8Array(MAX_HEADER_BYTES);
    let length = 0;
    while (length < buffer.length) {
      const n = file.readSync(buffer.subarray(length));
      if (n === null || n === 0) break;
      length += n;
    }
    const bytes = buffer.subarray(0, length);
    const end = bytes.findIndex((byte, i) => byte === 0x0a && bytes[i + 1] === 0x0a);
    return bytesToString(end < 0 ? bytes : bytes.subarray(0, end + 1));
  } finally {
    file.close();
  }
}

function readOrEmpty(path: string): Uint8Array {
  try {
    return Deno.readFileSync(path);
  } catch {
    return new Uint8Array(0);
  }
}

function sizeOf(path: string): number | undefined {
  try {
    return Deno.statSync(path).size;
  } catch {
    return undefined;
  }
}

/** A file's mtime in Unix seconds; undefined when it is missing. */
function mtimeOf(path: string): number | undefined {
  if (!probeFile(path)) return undefined;
  try {
    return Math.floor((Deno.statSync(path).mtime?.getTime() ?? 0) / 1000);
  } catch {
    return undefined;
  }
}
