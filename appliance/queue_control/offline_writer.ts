/**
 * The `qmd queue` command as the queue's writer while no qmd runs
 * (send/engine/queue_actions.ts): it holds lock/sendmutex for the length of
 * the request, so a qmd (or qmail-send) starting meanwhile waits its turn.
 * The schedule is the one qmail-send saved in the channel files' mtimes
 * (§4.7): a retry or a release sets them to now, which a starting send
 * engine reads as due at once; a bounced message is finished here
 * (messdone, §4.8), its bounce queued for qmd's next start.
 */
import { bounceAndFinish } from "../queue/bounce_and_finish.ts";
import type { QueueLayout } from "../queue/layout.ts";
import { savedSchedule } from "../queue/message_view.ts";
import { makeDueOnDisk } from "../queue/operator_transitions.ts";
import type { QueueWriter } from "../send/engine/queue_actions.ts";
import { SendSettings } from "../send/engine/send_settings.ts";

export function offlineQueueWriter(home: string, layout: QueueLayout): QueueWriter {
  const now = () => Math.floor(Date.now() / 1000);
  let settings: SendSettings | undefined;
  /** The send controls, read when a bounce first needs them. */
  const loaded = () => {
    if (settings === undefined) {
      settings = new SendSettings(home);
      settings.load();
    }
    return settings;
  };
  return {
    by: "command",
    now,
    routing: () => loaded().routing,
    ...savedSchedule(layout),
    busy: () => false,
    forget: () => {},
    retryNow: (id) => makeDueOnDisk(layout, id, now()),
    held: () => {},
    released: (id) => makeDueOnDisk(layout, id, now()),
    async finish(id) {
      const outcome = await bounceAndFinish(layout, id, {
        settings: loaded().controls.bounce,
        date: new Date(now() * 1000),
      });
      if (outcome.retry) throw new Error("cannot finish the message; qmd start tries again");
    },
  };
}
