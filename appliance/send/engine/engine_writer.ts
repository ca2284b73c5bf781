/**
 * The running send engine as the queue's writer for operator requests
 * (queue_actions.ts): the schedule is the channels' queues in memory, a
 * message is busy while its pass is open, a delivery of it is in flight or
 * the done queue is sending its bounce, and a message whose recipients were
 * all bounced goes to the done queue (message_finisher.ts) like any other.
 */
import type { Channel } from "../../queue/layout.ts";
import type { RoutingTable } from "../routing.ts";
import { CHANNELS, type Channels } from "./channels.ts";
import type { HeldMessages } from "./held_messages.ts";
import type { QueueWriter } from "./queue_actions.ts";

export interface EngineWriterParts {
  channels: Channels;
  held: HeldMessages;
  routing(): RoutingTable;
  /** Unix seconds. */
  now(): number;
  /** The message the done queue is finishing now, if any. */
  finishing(): bigint | undefined;
  /** Hands a message with no channel file left to the done queue. */
  finished(id: bigint, due: number): void;
  /** The message leaves the schedule: what is kept in memory for its passes goes. */
  forgotten(id: bigint): void;
  /** Runs what became due. */
  pump(): void;
}

export function engineQueueWriter(parts: EngineWriterParts): QueueWriter {
  const { channels, held, now } = parts;
  return {
    by: "send role",
    now,
    routing: parts.routing,
    nextRetry(id) {
      const due: Partial<Record<Channel, number>> = {};
      for (const channel of CHANNELS) {
        for (const entry of channels[channel].queue.entries()) {
          if (entry.id === id) due[channel] = Math.min(due[channel] ?? Infinity, entry.due);
        }
      }
      return due;
    },
    delivering: (id) =>
      CHANNELS.some((channel) =>
        channels[channel].deliveries().some((delivery) => delivery.job.id === id)
      ),
    busy(id) {
      return this.delivering(id) || parts.finishing() === id ||
        CHANNELS.some((channel) => channels[channel].passMessage === id);
    },
    forget(id) {
      for (const channel of CHANNELS) channels[channel].queue.remove(id);
      held.release(id);
      parts.forgotten(id);
    },
    retryNow(id) {
      for (const channel of CHANNELS) channels[channel].queue.makeDue(id, now());
      parts.pump();
    },
    held: (id) => held.hold(id),
    released(id) {
      for (const channel of held.release(id)) channels[channel].queue.insert(id, now());
      for (const channel of CHANNELS) channels[channel].queue.makeDue(id, now());
      parts.pump();
    },
    finish(id) {
      parts.finished(id, now());
      parts.pump();
      return Promise.resolve();
    },
  };
}
