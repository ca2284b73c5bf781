/**
 * Maildir delivery, qmail-local's algorithm (qmail-formats.md §6.7, maildir.5):
 * create tmp/NAME with O_EXCL (0600), write Return-Path, Delivered-To and the
 * message, fsync, close, link tmp/NAME → new/NAME (the moment of delivery),
 * unlink tmp/NAME, then fsync new/. Any error removes tmp/NAME and is a
 * temporary failure with qmail's wording; a quota overrun (Maildir++
 * maildirsize, or EDQUOT from the file system) is permanent, as the quota
 * patch in seed 000's README.quota makes it.
 *
 * Names keep qmail's TIME.UNIQUE.HOST shape with the modern unique part
 * `M<micros>P<pid>Q<count>` (maildir.5): one process makes many deliveries, so
 * the per-process counter keeps two deliveries in the same second apart
 * (reliability-catalogue M3). Maildir++ readers get `,S=SIZE` when a quota
 * applies.
 */
import { DeliveryError, isQuotaError } from "./delivery_error.ts";
import { addMaildirQuota, exceedsQuota, type MaildirQuota, readMaildirQuota } from "./quota.ts";

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

async function writeAll(file: Deno.FsFile, bytes: Uint8Array): Promise<void> {
  let written = 0;
  while (written < bytes.length) written += await file.write(bytes.subarray(written));
}

function failure(error: unknown, fallback: string): DeliveryError {
  if (error instanceof DeliveryError) return error;
  if (isQuotaError(error)) return new DeliveryError(false, MAILBOX_FULL, { cause: error });
  return new DeliveryError(true, fallback, { cause: error });
}

async function makeMaildir(dir: string): Promise<void> {
  for (const sub of ["tmp", "new", "cur"]) {
    await Deno.mkdir(`${dir}/${sub}`, { recursive: true, mode: 0o700 });
  }
}

async function syncDirectory(dir: string): Promise<void> {
  let handle: Deno.FsFile;
  try {
    handle = await Deno.open(dir, { read: true });
  } catch {
    return;
  }
  try {
    await handle.sync();
  } catch (error) {
    // EINVAL: this file system cannot sync a directory. Anything else is real.
    if ((error as { code?: string }).code !== "EINVAL") throw error;
  } finally {
    handle.close();
  }
}

/**
 * Delivers the message file to the Maildir `dir`. Resolves with the new/ name;
 * rejects with DeliveryError (temporary unless over quota).
 */
export async function deliverToMaildir(
  dir: string,
  parts: MaildirParts,
  messagePath: string,
  options: MaildirOptions,
): Promise<MaildirDelivery> {
  const base = dir.replace(/\/+$/, "") || "/";
  if (options.create) {
    try {
      await makeMaildir(base);
    } catch (error) {
      throw failure(error, MAILDIR_TEMPORARY);
    }
  }
  try {
    if (!(await Deno.stat(base)).isDirectory) throw new DeliveryError(true, MAILDIR_CHDIR);
  } catch (error) {
    if (
      error instanceof Deno.errors.NotFound || error instanceof Deno.errors.NotADirectory ||
      error instanceof Deno.errors.PermissionDenied
    ) {
      throw new DeliveryError(true, MAILDIR_CHDIR, { cause: error });
    }
    throw failure(error, MAILDIR_TEMPORARY);
  }

  let message: Deno.FsFile;
  let messageSize: number;
  try {
    message = await Deno.open(messagePath, { read: true });
    messageSize = (await message.stat()).size;
  } catch (error) {
    throw new DeliveryError(true, MAILDIR_READ, { cause: error });
  }

  let tmpPath = "";
  let file: Deno.FsFile | undefined;
  try {
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
        file = await Deno.open(tmpPath, { write: true, createNew: true, mode: 0o600 });
        break;
      } catch (error) {
        tmpPath = "";
        if (error instanceof Deno.errors.AlreadyExists && attempt < 10) continue;
        throw failure(error, MAILDIR_TEMPORARY);
      }
    }

    let written = 0;
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
        count = await message.read(buffer);
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
    try {
      await file.sync();
      file.close();
      file = undefined;
      await Deno.link(tmpPath, `${base}/new/${name}`);
    } catch (error) {
      throw failure(error, MAILDIR_TEMPORARY);
    }
    await Deno.remove(tmpPath).catch(() => {});
    tmpPath = "";
    try {
      await syncDirectory(`${base}/new`);
    } catch (error) {
      // Linked but perhaps not durable: defer; a retry may deliver twice (M2).
      throw failure(error, MAILDIR_TEMPORARY);
    }
    if (quotaInForce) await addMaildirQuota(base, written, 1).catch(() => {});
    return { name, size: written };
  } finally {
    message.close();
    if (file !== undefined) {
      try {
        file.close();
      } catch {
        // already closed
      }
    }
    if (tmpPath !== "") await Deno.remove(tmpPath).catch(() => {});
  }
}
