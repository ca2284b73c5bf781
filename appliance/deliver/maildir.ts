/**
 * Maildir delivery, qmail-local's algorithm (docs/queue-format.md §6.7, maildir.5):
 * create tmp/NAME with O_EXCL (0600), write Return-Path, Delivered-To and the
 * message, fsync, close, link tmp/NAME → new/NAME (the moment of delivery),
 * unlink tmp/NAME, then fsync new/. Any error removes tmp/NAME and is a
 * temporary failure with qmail's wording; a quota overrun (Maildir++
 * maildirsize, or EDQUOT from the file system) is permanent, as the quota
 * patch in docs/patches.md seed 000's README.quota makes it.
 *
 * Names keep qmail's TIME.UNIQUE.HOST shape with the modern unique part
 * `M<micros>P<pid>Q<count>` (maildir.5): one process makes many deliveries, so
 * the per-process counter keeps two deliveries in the same second apart
 * (docs/reliability.md M3). Maildir++ readers get `,S=SIZE` when a quota
 * applies.
 *
 * Cost: the metadata calls (open, link, unlink, stat, mkdir) and the write of
 * a message held in memory are synchronous, cheaper in CPU than a trip to
 * Deno's I/O threads (and measured faster on a journaled ext4); the two
 * fsyncs stay asynchronous so concurrent deliveries overlap them, and the
 * new/ fsyncs of concurrent deliveries are shared (SharedDirectorySync).
 */
import { DeliveryError, isQuotaError } from "./delivery_error.ts";
import { addMaildirQuota, exceedsQuota, type MaildirQuota, readMaildirQuota } from "./quota.ts";
import { writeAll, writeAllSync } from "../write_all.ts";
import { openFileSize, SharedDirectorySync, syncDirectory } from "../durable_file.ts";

export const MAILDIR_CHDIR = "Unable to chdir to maildir. (#4.2.1)";
export const MAILDIR_TEMPORARY = "Temporary error on maildir delivery. (#4.3.0)";
export const MAILDIR_READ = "Unable to read message. (#4.3.0)";
/** The quota patch's text for a full mailbox (permanent). */
export const MAILBOX_FULL = "Recipient's mailbox is full, message returned to sender. (#5.2.2)";

const BUFFER_BYTES = 64 * 1024;

/** The lines written in front of the message. */
export interface MaildirParts {
  rpline: Uint8Array;
  dtline: Uint8Array;
}

export interface MaildirOptions {
  /** gethostname(); `/` and `:` are escaped in the file name as maildir.5 asks. */
  hostname: string;
  now: Date;
  /** Make the Maildir (and tmp/ new/ cur/) when missing: virtual mailboxes only. */
  create?: boolean;
  /**
   * The account's quota. Undefined: the Maildir's own maildirsize definition,
   * if any, applies. Zero limits: no quota.
   */
  quota?: MaildirQuota;
  /** The message file's bytes when the caller has read them already (small messages). */
  message?: Uint8Array;
}

export interface MaildirDelivery {
  /** The file name under new/. */
  name: string;
  /** Bytes written. */
  size: number;
}

let deliveries = 0;

/** TIME.M<micros>P<pid>Q<count>.HOST[,S=SIZE] (pure). */
export function formatMaildirName(
  now: Date,
  pid: number,
  count: number,
  hostname: string,
  size?: number,
): string {
  const seconds = Math.floor(now.getTime() / 1000);
  const micros = (now.getTime() % 1000) * 1000;
  const host = (hostname === "" ? "localhost" : hostname)
    .replaceAll("/", "\\057")
    .replaceAll(":", "\\072");
  return `${seconds}.M${micros}P${pid}Q${count}.${host}` + (size === undefined ? "" : `,S=${size}`);
}

function failure(error: unknown, fallback: string): DeliveryError {
  if (error instanceof DeliveryError) return error;
  if (isQuotaError(error)) return new DeliveryError(false, MAILBOX_FULL, { cause: error });
  return new DeliveryError(true, fallback, { cause: error });
}

/**
 * Maildirs checked lately (base → Date.now() of the check). A delivery into
 * one of them skips the mkdir/stat round and goes straight to tmp/; any
 * failure there redoes the check, so a Maildir removed meanwhile gets the same
 * error (or, with `create`, is made again) as without the shortcut.
 */
const checkedMaildirs = new Map<string, number>();
const CHECK_INTERVAL_MS = 1000;
const CHECKED_LIMIT = 10_000;

function makeMaildir(dir: string): void {
  for (const sub of ["tmp", "new", "cur"]) {
    Deno.mkdirSync(`${dir}/${sub}`, { recursive: true, mode: 0o700 });
  }
}

/** qmail-local's chdir to the Maildir (and, for virtual mailboxes, maildirmake). */
function checkMaildir(base: string, create: boolean | undefined): void {
  checkedMaildirs.delete(base);
  if (create) {
    try {
      makeMaildir(base);
    } catch (error) {
      throw failure(error, MAILDIR_TEMPORARY);
    }
  }
  try {
    if (!Deno.statSync(base).isDirectory) throw new DeliveryError(true, MAILDIR_CHDIR);
  } catch (error) {
    if (
      error instanceof Deno.errors.NotFound || error instanceof Deno.errors.NotADirectory ||
      error instanceof Deno.errors.PermissionDenied
    ) {
      throw new DeliveryError(true, MAILDIR_CHDIR, { cause: error });
    }
    throw failure(error, MAILDIR_TEMPORARY);
  }
  if (checkedMaildirs.size >= CHECKED_LIMIT) checkedMaildirs.clear();
  checkedMaildirs.set(base, Date.now());
}

function recentlyChecked(base: string): boolean {
  const at = checkedMaildirs.get(base);
  return at !== undefined && Math.abs(Date.now() - at) < CHECK_INTERVAL_MS;
}

/**
 * The new/ fsyncs, shared by concurrent deliveries (group commit). A new/
 * that cannot be opened, or a file system that cannot fsync a directory
 * (EINVAL), counts as synced: qmail-local never fsyncs new/ at all.
 */
const newDirectorySyncs = new SharedDirectorySync((dir) => syncDirectory(dir, { lenient: true }));

/** The message to copy: in memory, or a file read in chunks. */
type MessageSource = { bytes: Uint8Array } | { file: Deno.FsFile; size: number };

function openMessage(messagePath: string, bytes: Uint8Array | undefined): MessageSource {
  if (bytes !== undefined) return { bytes };
  try {
    const file = Deno.openSync(messagePath, { read: true });
    try {
      return { file, size: openFileSize(file) };
    } catch (error) {
      file.close();
      throw error;
    }
  } catch (error) {
    throw new DeliveryError(true, MAILDIR_READ, { cause: error });
  }
}

/**
 * Delivers the message file to the Maildir `dir`. Resolves with the new/ name;
 * rejects with DeliveryError (temporary unless over quota). `options.message`,
 * when given, holds the message file's bytes, already read.
 */
export async function deliverToMaildir(
  dir: string,
  parts: MaildirParts,
  messagePath: string,
  options: MaildirOptions,
): Promise<MaildirDelivery> {
  const base = dir.replace(/\/+$/, "") || "/";
  let checked = false;
  if (!recentlyChecked(base)) {
    checkMaildir(base, options.create);
    checked = true;
  }

  const message = openMessage(messagePath, options.message);
  let tmpPath = "";
  let file: Deno.FsFile | undefined;
  try {
    const messageSize = "bytes" in message ? message.bytes.length : message.size;
    const size = parts.rpline.length + parts.dtline.length + messageSize;
    let quotaInForce = false;
    try {
      const check = await readMaildirQuota(
        base,
        options.quota,
        { bytes: size, messages: 1 },
        options.now,
      );
      if (check !== undefined) {
        quotaInForce = true;
        if (exceedsQuota(check.quota, check.usage, { bytes: size, messages: 1 })) {
          throw new DeliveryError(false, MAILBOX_FULL);
        }
      }
    } catch (error) {
      throw failure(error, MAILDIR_TEMPORARY);
    }

    let name = "";
    for (let attempt = 0;; attempt++) {
      name = formatMaildirName(
        options.now,
        Deno.pid,
        ++deliveries,
        options.hostname,
        quotaInForce ? size : undefined,
      );
      tmpPath = `${base}/tmp/${name}`;
      try {
        file = Deno.openSync(tmpPath, { write: true, createNew: true, mode: 0o600 });
        break;
      } catch (error) {
        tmpPath = "";
        if (error instanceof Deno.errors.AlreadyExists && attempt < 10) continue;
        if (!checked) {
          // The shortcut's Maildir may be gone: check (throws qmail's error), retry.
          checkMaildir(base, options.create);
          checked = true;
          continue;
        }
        throw failure(error, MAILDIR_TEMPORARY);
      }
    }

    let written = 0;
    if ("bytes" in message) {
      const all = new Uint8Array(size);
      all.set(parts.rpline, 0);
      all.set(parts.dtline, parts.rpline.length);
      all.set(message.bytes, parts.rpline.length + parts.dtline.length);
      try {
        writeAllSync(file, all);
      } catch (error) {
        throw failure(error, MAILDIR_TEMPORARY);
      }
      written = size;
    } else {
      try {
        await writeAll(file, parts.rpline);
        await writeAll(file, parts.dtline);
        written = parts.rpline.length + parts.dtline.length;
      } catch (error) {
        throw failure(error, MAILDIR_TEMPORARY);
      }
      const buffer = new Uint8Array(BUFFER_BYTES);
      for (;;) {
        let count: number | null;
        try {
          count = await message.file.read(buffer);
        } catch (error) {
          throw new DeliveryError(true, MAILDIR_READ, { cause: error });
        }
        if (count === null) break;
        try {
          await writeAll(file, buffer.subarray(0, count));
        } catch (error) {
          throw failure(error, MAILDIR_TEMPORARY);
        }
        written += count;
      }
    }
    const newPath = `${base}/new/${name}`;
    try {
      await file.sync();
      file.close();
      file = undefined;
      try {
        Deno.linkSync(tmpPath, newPath);
      } catch (error) {
        if (checked || !(error instanceof Deno.errors.NotFound)) throw error;
        // new/ may have gone since the last check.
        checkMaildir(base, options.create);
        checked = true;
        Deno.linkSync(tmpPath, newPath);
      }
    } catch (error) {
      throw failure(error, MAILDIR_TEMPORARY);
    }
    try {
      Deno.removeSync(tmpPath);
    } catch {
      // left for the Maildir reader's 36-hour tmp/ cleanup
    }
    tmpPath = "";
    try {
      await newDirectorySyncs.sync(`${base}/new`);
    } catch (error) {
      // Linked but perhaps not durable: defer; a retry may deliver twice (M2).
      throw failure(error, MAILDIR_TEMPORARY);
    }
    if (quotaInForce) await addMaildirQuota(base, written, 1).catch(() => {});
    return { name, size: written };
  } finally {
    if ("file" in message) message.file.close();
    if (file !== undefined) {
      try {
        file.close();
      } catch {
        // already closed
      }
    }
    if (tmpPath !== "") {
      try {
        Deno.removeSync(tmpPath);
      } catch {
        // already gone
      }
    }
  }
}
