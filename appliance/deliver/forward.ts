/**
 * qmail-local's forwarding (docs/queue-format.md §6.4): the forward lines of a
 * .qmail file, collected, go out at the end in one queue injection of DTLINE
 * followed by the original message bytes, from NEWSENDER (§6.3).
 */
import { isTemporary } from "../mail_error.ts";
import { stringToBytes } from "../bytes.ts";
import { DeliveryError } from "./delivery_error.ts";
import type { LocalContext } from "./local_context.ts";

/** DTLINE + the message file, as one stream, for forwarding. */
function forwardBody(dtline: Uint8Array, messagePath: string): ReadableStream<Uint8Array> {
  let file: Deno.FsFile | undefined;
  let started = false;
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      if (!started) {
        started = true;
        controller.enqueue(dtline);
        return;
      }
      try {
        file ??= await Deno.open(messagePath, { read: true });
        const buffer = new Uint8Array(64 * 1024);
        const count = await file.read(buffer);
        if (count === null) {
          file.close();
          file = undefined;
          controller.close();
          return;
        }
        controller.enqueue(buffer.subarray(0, count));
      } catch (error) {
        file?.close();
        file = undefined;
        throw error;
      }
    },
    cancel() {
      file?.close();
      file = undefined;
    },
  });
}

/**
 * Queues the message for `recipients` (byte strings) from `newSender` and
 * returns the queue writer's qp. A refusal becomes the DeliveryError
 * `Unable to forward message: TEXT.`, permanent only when the queue said so.
 */
export async function forwardMessage(
  context: LocalContext,
  dtline: Uint8Array,
  messagePath: string,
  newSender: string,
  recipients: string[],
): Promise<string> {
  try {
    const queued = await context.inject(
      forwardBody(dtline, messagePath),
      stringToBytes(newSender),
      recipients.map(stringToBytes),
    );
    return queued.qp;
  } catch (error) {
    throw new DeliveryError(
      isTemporary(error),
      `Unable to forward message: ${(error as Error).message}.`,
      {
        cause: error,
      },
    );
  }
}
