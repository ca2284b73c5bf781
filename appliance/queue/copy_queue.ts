/**
 * Copying a queue's messages into another queue, for `qmd restore`. A
 * message's number is the inode of its mess/ file (qmail-queue names it so,
 * docs/queue-format.md §2.2), and inodes differ on another file system: a
 * copied message keeping its old number could collide with the next one
 * qmail-queue writes. So each message is renumbered as qmail-queue would
 * number it: its body is copied to a pid/ file, whose inode becomes the new
 * number, and renamed to mess/NN/ID; then its info/, local/, remote/ and
 * bounce/ entries are copied under the new number and its intd/ and todo/
 * entries last (the todo entry is what makes qmail-send take a message in).
 * Modes and modification times are kept: qmail-send takes a message's age
 * from its info/ file.
 *
 * Only for a queue no qmd or qmail-send runs on (restore refuses a running
 * home); this is the one writer of these entries while it runs.
 */
import { isNotFound, syncDirectorySync } from "../durable_file.ts";
import type { QueueLayout } from "./layout.ts";

/** What was copied: the number of messages and every path created. */
export interface QueueCopy {
  messages: number;
  created: string[];
}

/** Copies `from` to `to` with its mode and times, fsyncs it; false when `from` is absent. */
function copyEntry(from: string, to: string): boolean {
  let info: Deno.FileInfo;
  try {
    info = Deno.statSync(from);
  } catch (error) {
    if (isNotFound(error)) return false;
    throw error;
  }
  Deno.copyFileSync(from, to);
  Deno.chmodSync(to, (info.mode ?? 0o600) & 0o7777);
  if (info.atime !== null && info.mtime !== null) Deno.utimeSync(to, info.atime, info.mtime);
  const file = Deno.openSync(to, { read: true });
  try {
    file.syncSync();
  } finally {
    file.close();
  }
  return true;
}

/** The first of `forms` that exists, or undefined. */
function existing(forms: readonly string[]): string | undefined {
  return forms.find((path) => {
    try {
      return Deno.statSync(path).isFile;
    } catch (error) {
      if (isNotFound(error)) return false;
      throw error;
    }
  });
}

/** Copies every message of `from` (those with a mess/ file) into `to`, renumbered. */
export function copyQueueMessages(from: QueueLayout, to: QueueLayout): QueueCopy {
  const created: string[] = [];
  const ids = from.listIds("mess");
  for (const id of ids) {
    const staging = to.pid(`restore.${Deno.pid}.${id}`);
    copyEntry(from.mess(id), staging);
    const newId = BigInt(Deno.statSync(staging).ino ?? 0);
    const mess = to.mess(newId);
    if (existing([mess]) !== undefined) {
      Deno.removeSync(staging);
      throw new Error(`${mess} already exists; restore a queue only into an empty one`);
    }
    Deno.renameSync(staging, mess);
    syncDirectorySync(mess.slice(0, mess.lastIndexOf("/")));
    created.push(mess);
    const copies: [string | undefined, string][] = [
      [existing(from.entryForms("info", id)), to.info(newId)],
      [existing(from.entryForms("local", id)), to.local(newId)],
      [existing(from.entryForms("remote", id)), to.remote(newId)],
      [existing([from.bounce(id)]), to.bounce(newId)],
      [existing(from.intdForms(id)), to.intd(newId)],
      [existing(from.todoForms(id)), to.todo(newId)],
    ];
    for (const [source, target] of copies) {
      if (source === undefined || !copyEntry(source, target)) continue;
      syncDirectorySync(target.slice(0, target.lastIndexOf("/")));
      created.push(target);
    }
  }
  return { messages: ids.length, created };
}
