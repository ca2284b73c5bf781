/**
 * qmail-send's messdone (docs/queue-format.md §4.8): a message with no channel
 * file left has its bounce/ID sent (or discarded), then leaves the queue
 * (S5 → S1). Every failure is logged here in qmail's wording and answered
 * with "look again in 123 s" (§4.7's system-failure retry), which the send
 * engine schedules.
 */
import { logBounced, logEndMessage, logTripleBounce, logWarning } from "../log.ts";
import type { openQueueMessage } from "./qmail_queue.ts";
import { describeError } from "./error_text.ts";
import { BounceError, type BounceSettings, discardBounce, injectBounce } from "./inject_bounce.ts";
import { type QueueLayout, queueName } from "./layout.ts";
import { checkMessageDone, finishMessage } from "./transitions.ts";

export interface BounceAndFinishOptions {
  settings: BounceSettings;
  /** The bounce's Date: field. */
  date: Date;
  /** The queue writer used for bounces (tests substitute a failing one). */
  open?: typeof openQueueMessage;
}

export interface FinishOutcome {
  /** A bounce was queued: its todo entry waits for preprocessing. */
  bounced: boolean;
  /** Something failed; the message must be looked at again later. */
  retry: boolean;
}

/**
 * Checks that message `id` is done (§4.8 step 1), injects or discards its
 * bounce (steps 2–5), logs `end msg` and removes it (step 6). A message that
 * turns out not to be done, or is already gone, is left alone.
 */
export async function bounceAndFinish(
  layout: QueueLayout,
  id: bigint,
  options: BounceAndFinishOptions,
): Promise<FinishOutcome> {
  try {
    if (checkMessageDone(layout, id) !== "done") return { bounced: false, retry: false };
  } catch (error) {
    logWarning(`unable to stat queue files of msg ${id}; will try again later`, {
      msg: Number(id),
      reason: describeError(error),
    });
    return { bounced: false, retry: true };
  }
  let bounced = false;
  try {
    const result = await injectBounce(layout, id, options);
    if (result.kind === "triple") logTripleBounce(id);
    if (result.kind === "injected") {
      logBounced(id, result.qp);
      bounced = true;
    }
  } catch (error) {
    const bounceError = error instanceof BounceError ? error : undefined;
    if (bounceError && !bounceError.temporary && bounceError.bounce === "double") {
      logWarning(
        `unable to inject double bounce for msg ${id}, discarding bounce/${id}: ${bounceError.message}`,
        { msg: Number(id) },
      );
      try {
        discardBounce(layout, id);
      } catch {
        return { bounced, retry: true };
      }
    } else {
      logWarning("trouble injecting bounce message, will try later", {
        msg: Number(id),
        reason: describeError(error),
      });
      return { bounced, retry: true };
    }
  }
  logEndMessage(id);
  try {
    await finishMessage(layout, id);
  } catch {
    logWarning(`unable to unlink ${queueName(layout, layout.info(id))}; will try again later`);
    return { bounced, retry: true };
  }
  return { bounced, retry: false };
}
