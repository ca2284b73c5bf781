/**
 * bounce/ID → a new queued message (docs/queue-format.md §4.8, messdone
 * steps 2–5, qmail-send's injectbounce): the QSBMF head (appliance/send/
 * bounce.ts, pure) and the first bouncemaxbytes of mess/ID go through the
 * queue writer (qmail_queue.ts), then bounce/ID is unlinked. Only the send
 * role calls these.
 */
import { bytesToString, stringToBytes } from "../bytes.ts";
import { describeError } from "./error_text.ts";
import { openQueueMessage } from "./qmail_queue.ts";
import { type QueueLayout, queueName } from "./layout.ts";
import { readMessageSender } from "./transitions.ts";
import { stripVerpMarker } from "../send/verp.ts";
import { bounceCopyLimit, formatBounceHead, planBounce, STRIPPED_NOTICE } from "../send/bounce.ts";
import { fileExists, isNotFound, openFileSize, removeIfPresentSync } from "../durable_file.ts";
import { isTemporary, MailError } from "../mail_error.ts";

/** The bounce-related controls (§9). */
export interface BounceSettings {
  bounceFrom: string;
  bounceHost: string;
  /** doublebounceto + "@" + doublebouncehost. */
  doubleBounceRecipient: string;
  /** bouncemaxbytes; 0 = copy the whole message. */
  maxBytes: number;
}

export type BounceResult =
  /** No bounce/ID: nothing to send. */
  | { kind: "none" }
  /** The sender was `#@[]`: bounce/ID discarded without a message (log `triple bounce`). */
  | { kind: "triple" }
  /** Injected; bounce/ID removed. */
  | { kind: "injected"; bounce: "single" | "double"; newId: bigint; qp: string };

/** Thrown when a bounce cannot be injected; `temporary` says whether to try again. */
export class BounceError extends MailError {
  readonly bounce: "single" | "double" | undefined;

  constructor(
    message: string,
    temporary: boolean,
    bounce?: "single" | "double",
    options?: ErrorOptions,
  ) {
    super(message, { ...options, temporary });
    this.name = "BounceError";
    this.bounce = bounce;
  }
}

export interface InjectBounceOptions {
  settings: BounceSettings;
  /** The Date: field's time. */
  date: Date;
  /** The queue writer (qmail_queue.ts); tests substitute a failing one. */
  open?: typeof openQueueMessage;
}

/**
 * bounce/ID → a new queued message (S1 → S4 for the bounce), then bounce/ID
 * is unlinked (§4.8 messdone steps 2–6, qmail-send's injectbounce). A
 * sender of `#@[]` discards bounce/ID (triple bounce). The bounce is a QSBMF
 * message with the first bouncemaxbytes of mess/ID streamed after its head.
 * Throws BounceError (temporary unless the queue writer failed permanently).
 */
export async function injectBounce(
  layout: QueueLayout,
  id: bigint,
  options: InjectBounceOptions,
): Promise<BounceResult> {
  const bouncePath = layout.bounce(id);
  // A bounce hidden by an I/O error would be lost with the message: absence is confirmed
  // exactly. qmail's order: the stat of bounce/ID first, info only when there is one.
  if (!fileExists(bouncePath)) return { kind: "none" };
  const infoSender = readMessageSender(layout, id);
  if (infoSender === undefined) {
    throw new BounceError(`unable to read ${queueName(layout, layout.info(id))}`, true);
  }
  let bounceText: Uint8Array;
  try {
    bounceText = Deno.readFileSync(bouncePath);
  } catch (error) {
    if (isNotFound(error)) return { kind: "none" };
    throw new BounceError(`unable to read ${queueName(layout, bouncePath)}`, true, undefined, {
      cause: error,
    });
  }
  const sender = stripVerpMarker(bytesToString(infoSender));
  const plan = planBounce(sender, options.settings.doubleBounceRecipient);
  if (plan.kind === "triple") {
    unlinkBounce(layout, id);
    return { kind: "triple" };
  }

  const messPath = layout.mess(id);
  let mess: Deno.FsFile;
  let messBytes: number;
  try {
    mess = Deno.openSync(messPath, { read: true });
    messBytes = openFileSize(mess);
  } catch (error) {
    throw new BounceError(`unable to open ${queueName(layout, messPath)}`, true, plan.kind, {
      cause: error,
    });
  }
  const head = formatBounceHead({
    kind: plan.kind,
    date: options.date,
    bounceFrom: options.settings.bounceFrom,
    bounceHost: options.settings.bounceHost,
    recipient: plan.recipient,
    returnPath: plan.returnPath,
    bounceText,
  });
  const { copyBytes, stripped } = bounceCopyLimit(messBytes, options.settings.maxBytes);
  const open = options.open ?? openQueueMessage;
  let queued: { id: bigint; qp: string };
  try {
    const message = await open(layout, { who: "for bounce", now: options.date });
    try {
      for await (const chunk of bounceBody(head, mess, copyBytes, stripped)) {
        await message.write(chunk);
      }
      const uid = processUid(layout.mess(message.id));
      await message.commit(
        stringToBytes(plan.envelopeSender),
        [stringToBytes(plan.recipient)],
        uid,
      );
    } catch (error) {
      await message.abort();
      throw error;
    }
    queued = { id: message.id, qp: message.qp };
  } catch (error) {
    throw new BounceError(describeError(error), isTemporary(error), plan.kind, { cause: error });
  } finally {
    try {
      mess.close();
    } catch {
      // Already closed by the stream.
    }
  }
  unlinkBounce(layout, id);
  return { kind: "injected", bounce: plan.kind, newId: queued.id, qp: queued.qp };
}

async function* bounceBody(
  head: Uint8Array,
  mess: Deno.FsFile,
  copyBytes: number,
  stripped: boolean,
): AsyncGenerator<Uint8Array> {
  yield head;
  let left = copyBytes;
  const buffer = new Uint8Array(65536);
  while (left > 0) {
    const n = await mess.read(buffer.subarray(0, Math.min(left, buffer.length)));
    if (n === null || n === 0) break;
    yield buffer.slice(0, n);
    left -= n;
  }
  if (stripped) yield stringToBytes(STRIPPED_NOTICE);
}

function unlinkBounce(layout: QueueLayout, id: bigint): void {
  const path = layout.bounce(id);
  try {
    removeIfPresentSync(path);
  } catch (error) {
    throw new BounceError(`unable to unlink ${queueName(layout, path)}`, true, undefined, {
      cause: error,
    });
  }
}

/** Removes bounce/ID without sending it (a double bounce that cannot be injected at all). */
export function discardBounce(layout: QueueLayout, id: bigint): void {
  unlinkBounce(layout, id);
}

/**
 * The uid for the bounce's intd `u` record (qmail records qmail-send's
 * uid). Deno.uid() needs the sys permission, which the send role may lack;
 * the owner of a file this process just created says the same.
 */
function processUid(ownedPath: string): string {
  try {
    const uid = Deno.uid();
    if (uid !== null) return String(uid);
  } catch {
    // No sys permission: fall back to the file's owner.
  }
  try {
    return String(Deno.statSync(ownedPath).uid ?? 0);
  } catch {
    return "0";
  }
}
