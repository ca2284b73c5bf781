/**
 * The operator's queue requests (queue/control_request.ts) carried out by
 * the queue's one writer: the running send engine (send_engine.ts), or the
 * `qmd queue` command itself while it holds lock/sendmutex
 * (queue_control/offline_writer.ts). The disk transitions are
 * queue/operator_transitions.ts's; what differs between the two writers —
 * where the schedule lives, whether a delivery is in flight, how a finished
 * message is bounced — is the QueueWriter they pass in.
 */
import type { QueueActionResult, QueueReply, QueueRequest } from "../../queue/control_request.ts";
import { clearHeld, isHeld, markHeld } from "../../queue/held.ts";
import type { QueueLayout } from "../../queue/layout.ts";
import {
  listQueuedMessages,
  readMessageDetail,
  type ScheduleView,
} from "../../queue/message_view.ts";
import {
  bounceRemaining,
  isUnprocessed,
  removeQueuedMessage,
  yankQueuedMessage,
} from "../../queue/operator_transitions.ts";
import { describeError } from "../../queue/error_text.ts";
import { probeFile } from "../../durable_file.ts";
import { logEvent } from "../../log.ts";
import { formatBounceParagraph } from "../bounce.ts";
import type { RoutingTable } from "../routing.ts";

/** The queue's writer as the requests need it. */
export interface QueueWriter extends ScheduleView {
  by: QueueReply["by"];
  /** Unix seconds. */
  now(): number;
  /** For the bounce paragraphs (virtual-domain prefixes are stripped, §4.8). */
  routing(): RoutingTable;
  /** Whether a pass or a delivery holds the message's files (they must not change now). */
  busy(id: bigint): boolean;
  /** The message leaves the schedule (its files are about to go, or all its recipients are done). */
  forget(id: bigint): void;
  /** Every job of the message is due now. */
  retryNow(id: bigint): void;
  /** The message was held or released (hold/ID written or removed). */
  held(id: bigint): void;
  released(id: bigint): void;
  /** No channel file is left: send its bounce and remove it (messdone, §4.8). */
  finish(id: bigint): Promise<void>;
}

/** Carries out one request; never throws (a failure is the reply's error or a result's text). */
export async function runQueueRequest(
  layout: QueueLayout,
  request: QueueRequest,
  writer: QueueWriter,
): Promise<QueueReply> {
  const reply: QueueReply = { now: writer.now(), by: writer.by };
  try {
    if (request.action === "list") {
      return { ...reply, messages: listQueuedMessages(layout, writer) };
    }
    if (request.action === "show") {
      const message = readMessageDetail(layout, BigInt(request.id), writer);
      if (message === undefined) {
        return { ...reply, error: `message ${request.id} is not in the queue` };
      }
      return { ...reply, message };
    }
    const results: QueueActionResult[] = [];
    for (const id of request.ids) {
      results.push(await changeMessage(layout, request, BigInt(id), writer));
    }
    return { ...reply, results };
  } catch (error) {
    return { ...reply, error: describeError(error) };
  }
}

type ChangeRequest = Exclude<QueueRequest, { action: "list" } | { action: "show" }>;

/** One message's change; the result says what was done or why not. */
async function changeMessage(
  layout: QueueLayout,
  request: ChangeRequest,
  id: bigint,
  writer: QueueWriter,
): Promise<QueueActionResult> {
  const result = (ok: boolean, text: string, files?: string[]): QueueActionResult => {
    if (ok && writer.by === "send role") {
      logEvent(`queue_${request.action}`, `status: queue ${request.action} msg ${id}: ${text}`, {
        msg: Number(id),
      });
    }
    return { id: String(id), ok, text, ...files && { files } };
  };
  if (!probeFile(layout.mess(id))) return result(false, "not in the queue");
  const unprocessed = isUnprocessed(layout, id);
  try {
    switch (request.action) {
      case "hold":
        markHeld(layout, id);
        writer.held(id);
        return result(true, "held: no delivery is started until it is released");
      case "release":
        if (!isHeld(layout, id)) return result(true, "was not held");
        clearHeld(layout, id);
        writer.released(id);
        return result(true, "released: due now");
      case "retry":
        if (isHeld(layout, id)) return result(false, "is held; release it to retry it");
        if (unprocessed) return result(true, "not yet preprocessed: it is tried as soon as it is");
        writer.retryNow(id);
        return result(true, "due now");
    }
    if (writer.busy(id) || (unprocessed && writer.by === "send role")) {
      return result(false, "a delivery or its preprocessing is in progress; try again in a moment");
    }
    switch (request.action) {
      case "bounce": {
        if (unprocessed) return result(false, "not yet preprocessed; qmd start routes it first");
        const reason = request.reason.endsWith("\n") ? request.reason : `${request.reason}\n`;
        const routing = writer.routing();
        // Nothing interleaves with these synchronous steps; on a failure the message
        // stays scheduled, and a later pass delivers or bounces what is left.
        const bounced = bounceRemaining(
          layout,
          id,
          (address) => formatBounceParagraph(address, reason, routing),
        );
        writer.forget(id);
        await writer.finish(id);
        return result(
          true,
          bounced.length === 0
            ? "had no recipient left to bounce; finished"
            : `bounced ${bounced.length} recipient${bounced.length === 1 ? "" : "s"}: ${
              bounced.join(", ")
            }`,
        );
      }
      case "remove":
        writer.forget(id);
        return result(true, "removed", removeQueuedMessage(layout, id));
      case "yank":
        writer.forget(id);
        return result(
          true,
          `yanked to ${request.directory}`,
          yankQueuedMessage(layout, id, request.directory),
        );
    }
  } catch (error) {
    return result(false, describeError(error));
  }
}
