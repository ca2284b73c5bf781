/**
 * The queue changes an operator asks for (`qmd queue`, qmail-remove), done
 * on the disk: bounce a message's remaining recipients, remove or yank all
 * of its files, make its channel jobs due now. Only the send role calls
 * these while qmd runs, and the command itself only while it holds
 * lock/sendmutex (send/engine/queue_actions.ts): one writer per transition.
 *
 * Every step leaves a state qmail's tools read: a bounced recipient is
 * marked done after its paragraph is in bounce/ID (§4.8), and a removal
 * takes the channel files and todo/ID before info/ID and mess/ID last, so a
 * crash half-way leaves either a message qmail-send still schedules or
 * leftovers its cleanup removes (§4.9, §4.11).
 */
import { parseChannelFile } from "./envelope.ts";
import { probeEntry, removeEntry } from "./entries.ts";
import { type Channel, type QueueLayout, queueName, SIDECAR_DIRECTORIES } from "./layout.ts";
import { appendBounce, markDone, removeChannelFile, setChannelRetryTime } from "./transitions.ts";
import { bytesToString } from "../bytes.ts";
import { probeFile } from "../durable_file.ts";

const CHANNELS: readonly Channel[] = ["local", "remote"];

/** The channel files message `id` has, local first. */
export function channelsOf(layout: QueueLayout, id: bigint): Channel[] {
  return CHANNELS.filter((channel) => probeFile(layout.channel(channel, id)));
}

/** Whether message `id` still waits in todo/ (not yet preprocessed, §4.3). */
export function isUnprocessed(layout: QueueLayout, id: bigint): boolean {
  return layout.todoForms(id).some((path) => probeEntry(path));
}

/**
 * Bounces every recipient of message `id` not yet done: `paragraph(address)`
 * is appended to bounce/ID, then the record is marked done (§4.5, §4.8), and
 * each channel file, all done, is unlinked. Returns the addresses bounced.
 * The caller then finishes the message (messdone), which sends the bounce.
 * Throws on a failure; what was done stays done.
 */
export function bounceRemaining(
  layout: QueueLayout,
  id: bigint,
  paragraph: (address: string) => Uint8Array,
): string[] {
  const bounced: string[] = [];
  for (const channel of channelsOf(layout, id)) {
    const path = layout.channel(channel, id);
    for (const record of parseChannelFile(Deno.readFileSync(path))) {
      if (record.done) continue;
      const address = bytesToString(record.address);
      appendBounce(layout, id, paragraph(address));
      if (!markDone(path, record.offset)) throw new Error(`cannot mark ${queueName(layout, path)}`);
      bounced.push(address);
    }
    removeChannelFile(layout, channel, id);
  }
  return bounced;
}

/**
 * Every file message `id` has, in the order a removal takes them: channel
 * files, todo/ID, bounce/ID, info/ID, intd/ID, mess/ID, then the sidecars.
 */
export function messageFiles(layout: QueueLayout, id: bigint): string[] {
  return [
    ...CHANNELS.map((channel) => layout.channel(channel, id)),
    ...layout.todoForms(id),
    layout.bounce(id),
    layout.info(id),
    ...layout.intdForms(id),
    layout.mess(id),
    ...SIDECAR_DIRECTORIES.map((name) => layout.sidecar(name, id)),
  ].filter((path) => probeEntry(path));
}

/** Deletes every file of message `id` (S4/S5 → S1); returns their queue names. */
export function removeQueuedMessage(layout: QueueLayout, id: bigint): string[] {
  const files = messageFiles(layout, id);
  for (const path of files) removeEntry(path);
  return files.map((path) => queueName(layout, path));
}

/**
 * Moves every file of message `id` into `directory` (qmail-remove's
 * yanked/), named ID.DIR (`93049.mess`, `93049.remote`, …), and returns
 * their queue names. A file on another file system is copied, then removed.
 */
export function yankQueuedMessage(layout: QueueLayout, id: bigint, directory: string): string[] {
  Deno.mkdirSync(directory, { recursive: true, mode: 0o700 });
  const files = messageFiles(layout, id);
  for (const path of files) {
    const name = queueName(layout, path);
    const target = `${directory}/${id}.${name.slice(0, name.indexOf("/"))}`;
    try {
      Deno.renameSync(path, target);
    } catch (error) {
      if ((error as { code?: string }).code !== "EXDEV") throw error;
      Deno.copyFileSync(path, target);
      Deno.removeSync(path);
    }
  }
  return files.map((path) => queueName(layout, path));
}

/** Sets each channel file's saved due time to `now` (§4.7), so a starting qmail-send tries it at once. */
export function makeDueOnDisk(layout: QueueLayout, id: bigint, now: number): void {
  for (const channel of channelsOf(layout, id)) {
    const path = layout.channel(channel, id);
    if (!setChannelRetryTime(path, now)) throw new Error(`cannot utime ${queueName(layout, path)}`);
  }
}
