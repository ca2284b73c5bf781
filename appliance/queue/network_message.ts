/**
 * A message from an SMTP client into the built-in queue, as qmail-smtpd's
 * qmail-queue takes it: `invoked from network`, with the seed patches'
 * additions for this client (bigbrother, extraqueue, originipfield:
 * config/queue_extras.ts, queue_extras.ts).
 */
import { type QueueExtrasControls, queueExtrasFor } from "../../config/queue_extras.ts";
import type { QueueLayout } from "./layout.ts";
import { openQueueMessage, type QueueMessage } from "./qmail_queue.ts";

export interface NetworkClient {
  /** The client's environment (RELAYCLIENT, ORIGINIPFIELD, ...). */
  env: Readonly<Record<string, string | undefined>>;
  remoteIp: string | undefined;
  /** RELAYCLIENT, AUTH or a tlsclients certificate, as of the end of DATA. */
  relaying: boolean;
}

export function openNetworkMessage(
  layout: QueueLayout,
  extras: QueueExtrasControls,
  client: NetworkClient,
): Promise<QueueMessage> {
  return openQueueMessage(layout, { who: "from network", extras: queueExtrasFor(extras, client) });
}
