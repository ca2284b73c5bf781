/**
 * The send engine's state for the log's `status:` line (qmail-send's
 * `status: local N/M remote N/M`), status pages and tests.
 */
import { logStatus } from "../../log.ts";
import type { Channel } from "../../queue/layout.ts";
import type { Channels } from "./channels.ts";

/** The state of the loop, for tests and status pages. */
export interface SendStatus {
  local: { inUse: number; limit: number; queued: number };
  remote: { inUse: number; limit: number; queued: number };
  done: number;
  draining: boolean;
}

/** Logs qmail-send's status line: slots in use and limits of both channels. */
export function logSendStatus(channels: Channels, draining: boolean): void {
  logStatus(
    channels.local.slots.inUse,
    channels.local.slots.limit,
    channels.remote.slots.inUse,
    channels.remote.slots.limit,
    draining,
  );
}

/** The state of both channels, the done queue's length and whether the engine is draining. */
export function readSendStatus(channels: Channels, done: number, draining: boolean): SendStatus {
  const channel = (c: Channel) => ({
    inUse: channels[c].slots.inUse,
    limit: channels[c].slots.limit,
    queued: channels[c].queue.size,
  });
  return { local: channel("local"), remote: channel("remote"), done, draining };
}

/** A channel's queued jobs with their due times, earliest first (for tests). */
export function listQueued(channels: Channels, channel: Channel): { id: bigint; due: number }[] {
  return channels[channel].queue.entries().sort((a, b) => a.due - b.due || (a.id < b.id ? -1 : 1));
}
