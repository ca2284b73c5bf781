/**
 * The console's queue requests: an action on messages read from a form or
 * a JSON body (checked as `qmd queue` checks its arguments), and asking for
 * it. The request goes to the supervisor as an `admin-write` of kind queue
 * (admin_writes.ts), which hands it to the send role as it does `qmd
 * queue`'s: the admin isolate has no write permission on the queue.
 */
import {
  DEFAULT_BOUNCE_REASON,
  isMessageId,
  type QueueReply,
  type QueueRequest,
} from "../queue/control_request.ts";
import type { AdminContext } from "./context.ts";

/** The actions that change messages, as the console's buttons and API name them. */
export const CHANGE_ACTIONS = ["retry", "bounce", "remove", "hold", "release"] as const;
export type ChangeAction = typeof CHANGE_ACTIONS[number];

/** A change request, or why the input is not one. */
export function changeRequest(
  action: string,
  ids: readonly string[],
  reason?: string,
): QueueRequest | string {
  const known = CHANGE_ACTIONS.find((each) => each === action);
  if (known === undefined) return `unknown action ${JSON.stringify(action)}`;
  if (ids.length === 0) return "select one or more messages";
  const bad = ids.find((id) => !isMessageId(id));
  if (bad !== undefined) return `${JSON.stringify(bad)} is not a message number`;
  if (known === "bounce") {
    const text = reason?.trim() ? reason.trim() : DEFAULT_BOUNCE_REASON;
    return { action: "bounce", ids: [...ids], reason: text };
  }
  return { action: known, ids: [...ids] };
}

/** Asks for `request` through the supervisor; a refusal comes back as the reply's error. */
export async function askQueue(context: AdminContext, request: QueueRequest): Promise<QueueReply> {
  const result = await context.write({ kind: "queue", request });
  if (result.ok && result.queue !== undefined) return result.queue;
  return {
    now: Math.floor(context.now() / 1000),
    by: "send role",
    error: result.ok ? "no reply to the queue request" : result.error,
  };
}
