/**
 * What an operator may ask of the queue (`qmd queue list|show|retry|bounce|
 * remove|hold|release`, qmail-remove's yank) and what comes back: plain
 * data, so one request travels as JSON through queue/lock/ to the running
 * supervisor and by postMessage to the send role (ipc.ts), and the admin
 * console can use the same types. Message numbers are decimal strings (they
 * are inode numbers and may exceed 2^53). Pure.
 */
import type { Channel } from "./layout.ts";
import type { Deferral } from "./deferrals.ts";

/** The actions `qmd queue` offers by name (qmail-remove adds yank). */
export const OPERATOR_ACTIONS = [
  "list",
  "show",
  "retry",
  "bounce",
  "remove",
  "hold",
  "release",
] as const;
export type OperatorAction = typeof OPERATOR_ACTIONS[number];

/** The paragraph a bounced recipient gets in the bounce when no reason is given. */
export const DEFAULT_BOUNCE_REASON =
  "The postmaster removed this message from the queue before it could be delivered. (#5.0.0)";

export type QueueRequest =
  | { action: "list" }
  | { action: "show"; id: string }
  | { action: "retry" | "remove" | "hold" | "release"; ids: string[] }
  /** `reason` becomes each recipient's paragraph in the bounce (qmail-style). */
  | { action: "bounce"; ids: string[]; reason: string }
  /** qmail-remove -r: move the files into `directory` instead of deleting them. */
  | { action: "yank"; ids: string[]; directory: string };

export interface QueuedRecipient {
  /** Undefined while the message waits in todo/ (not yet routed). */
  channel?: Channel;
  /** The address as the channel file (or todo/ID) holds it, one char per byte. */
  address: string;
  done: boolean;
  /** The last temporary failure the send role saw (queue/deferrals.ts). */
  lastDeferral?: Deferral;
}

export interface QueuedMessage {
  id: string;
  /** todo/ID only (not yet preprocessed), in info/ with channel files, or bouncing (bounce/ID). */
  state: "unprocessed" | "queued" | "bouncing";
  held: boolean;
  /** Unix seconds: info's mtime (mess's while unprocessed), the message's birth (§4.5). */
  birth: number;
  /** mess/ID's size in bytes. */
  size: number;
  sender: string;
  /** When each channel's undone recipients are tried next, Unix seconds. */
  nextRetry: Partial<Record<Channel, number>>;
  /** A delivery of it is in flight. */
  delivering: boolean;
  recipients: QueuedRecipient[];
}

/** `show`: the message and its header block. */
export interface MessageDetail extends QueuedMessage {
  /** mess/ID up to its first empty line (at most 64 KiB), one char per byte. */
  headers: string;
}

export interface QueueActionResult {
  id: string;
  ok: boolean;
  /** What was done, or why not. */
  text: string;
  /** remove and yank: the files taken, as queue names (mess/14/93049). */
  files?: string[];
}

export interface QueueReply {
  /** Unix seconds when the answer was made. */
  now: number;
  /** Who carried the request out: the running send role, or the command under lock/sendmutex. */
  by: "send role" | "command";
  messages?: QueuedMessage[];
  message?: MessageDetail;
  results?: QueueActionResult[];
  /** The request as a whole failed (the message of `show` is not in the queue, …). */
  error?: string;
}

/** Whether `text` is a message number. */
export function isMessageId(text: string): boolean {
  return /^[1-9]\d{0,19}$/.test(text);
}

/** A request read back from its JSON; undefined when it is not one. */
export function parseQueueRequest(text: string): QueueRequest | undefined {
  let value: Record<string, unknown>;
  try {
    value = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (typeof value !== "object" || value === null) return undefined;
  const ids = value.ids;
  const validIds = Array.isArray(ids) && ids.length > 0 &&
    ids.every((id) => typeof id === "string" && isMessageId(id));
  switch (value.action) {
    case "list":
      return { action: "list" };
    case "show":
      return typeof value.id === "string" && isMessageId(value.id)
        ? { action: "show", id: value.id }
        : undefined;
    case "retry":
    case "remove":
    case "hold":
    case "release":
      return validIds ? { action: value.action, ids: ids as string[] } : undefined;
    case "bounce":
      return validIds && typeof value.reason === "string" && value.reason !== ""
        ? { action: "bounce", ids: ids as string[], reason: value.reason }
        : undefined;
    case "yank":
      return validIds && typeof value.directory === "string" && value.directory.startsWith("/")
        ? { action: "yank", ids: ids as string[], directory: value.directory }
        : undefined;
    default:
      return undefined;
  }
}
