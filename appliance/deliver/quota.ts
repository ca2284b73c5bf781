/**
 * Maildir++ quotas (Courier's README.maildirquota, as vpopmail, maildrop,
 * Dovecot and the zeitform toaster's qmail-local use them): a `maildirsize`
 * file in the Maildir's root.
 *
 *   line 1      the quota definition, e.g. `10000000S,1000C` (bytes, messages;
 *               either part may be absent; 0 or absent = no limit)
 *   lines 2...  `BYTES COUNT` deltas (may be negative); their sums are the usage
 *
 * A delivery checks the usage before writing and appends `SIZE 1` after a
 * successful one. The usage is recalculated by scanning new/ and cur/ of the
 * Maildir and of each `.Folder` (except .Trash) when the file is missing,
 * unreadable, at least 5120 bytes long, carries a different definition than
 * the configured one, or says the message would not fit while it has more
 * than one delta line or is older than 15 minutes. The new file is written in
 * tmp/ and renamed over the old one.
 *
 * Going over quota is a permanent failure (README.quota in docs/patches.md seed 000).
 */

/** Limits; 0 means no limit of that kind. */
export interface MaildirQuota {
  bytes: number;
  messages: number;
}

/** A Maildir's usage as maildirsize tells it. */
export interface MaildirUsage {
  bytes: number;
  messages: number;
}

/** The parsed file. */
export interface Maildirsize {
  quota: MaildirQuota;
  usage: MaildirUsage;
  /** Number of `BYTES COUNT` lines after the definition. */
  deltaLines: number;
}

/** Files at least this long are recalculated (the spec's 5120 bytes). */
export const MAILDIRSIZE_MAX_BYTES = 5120;
/** An over-quota answer from a file older than this is recalculated. */
export const MAILDIRSIZE_STALE_MS = 15 * 60 * 1000;

/** `10000000S,1000C` → limits; unknown parts are ignored. */
export function parseQuotaDefinition(text: string): MaildirQuota {
  const quota = { bytes: 0, messages: 0 };
  for (const part of text.split(",")) {
    const match = /^\s*(\d+)([SC])\s*$/.exec(part);
    if (!match) continue;
    if (match[2] === "S") quota.bytes = Number(match[1]);
    else quota.messages = Number(match[1]);
  }
  return quota;
}

/** Limits → `NS,NC`, leaving out a zero part (and `0S` when both are zero). */
export function formatQuotaDefinition(quota: MaildirQuota): string {
  const parts: string[] = [];
  if (quota.bytes > 0) parts.push(`${quota.bytes}S`);
  if (quota.messages > 0) parts.push(`${quota.messages}C`);
  return parts.length > 0 ? parts.join(",") : "0S";
}

/** Whether a quota sets any limit. */
export function hasQuota(quota: MaildirQuota | undefined): quota is MaildirQuota {
  return quota !== undefined && (quota.bytes > 0 || quota.messages > 0);
}

/**
 * Parses a maildirsize file; undefined when it is corrupt (no usage line, a
 * malformed one, or negative totals), which calls for a recalculation. An incomplete
 * last line (a writer caught mid-append) is ignored.
 */
export function parseMaildirsize(text: string): Maildirsize | undefined {
  const lines = text.split("\n");
  lines.pop(); // the part after the last LF: empty, or an incomplete line
  if (lines.length === 0) return undefined;
  const quota = parseQuotaDefinition(lines[0]);
  const usage = { bytes: 0, messages: 0 };
  let deltaLines = 0;
  for (const line of lines.slice(1)) {
    if (line.trim() === "") continue;
    const match = /^\s*(-?\d+)\s+(-?\d+)\s*$/.exec(line);
    if (!match) return undefined;
    usage.bytes += Number(match[1]);
    usage.messages += Number(match[2]);
    deltaLines++;
  }
  if (deltaLines === 0 || usage.bytes < 0 || usage.messages < 0) return undefined;
  return { quota, usage, deltaLines };
}

/** Whether adding `incoming` to `usage` exceeds a limit. */
export function exceedsQuota(
  quota: MaildirQuota,
  usage: MaildirUsage,
  incoming: MaildirUsage,
): boolean {
  return (quota.bytes > 0 && usage.bytes + incoming.bytes > quota.bytes) ||
    (quota.messages > 0 && usage.messages + incoming.messages > quota.messages);
}

/** The `,S=SIZE` a Maildir++ writer puts in a file name, if any. */
export function sizeFromName(name: string): number | undefined {
  const match = /,S=(\d+)(?:[,:]|$)/.exec(name);
  return match ? Number(match[1]) : undefined;
}

let temporaryCounter = 0;

async function sumDirectory(dir: string, usage: MaildirUsage): Promise<void> {
  let entries: AsyncIterable<Deno.DirEntry>;
  try {
    entries = Deno.readDir(dir);
    for await (const entry of entries) {
      if (entry.name.startsWith(".")) continue;
      let size = sizeFromName(entry.name);
      if (size === undefined) {
        try {
          size = (await Deno.stat(`${dir}/${entry.name}`)).size;
        } catch (error) {
          if (error instanceof Deno.errors.NotFound) continue; // moved or deleted meanwhile
          throw error;
        }
      }
      usage.bytes += size;
      usage.messages++;
    }
  } catch (error) {
    if (error instanceof Deno.errors.NotFound || error instanceof Deno.errors.NotADirectory) return;
    throw error;
  }
}

/** Scans the Maildir and its folders (except .Trash) and sums message sizes. */
export async function measureMaildir(maildir: string): Promise<MaildirUsage> {
  const usage = { bytes: 0, messages: 0 };
  const folders = [maildir];
  for await (const entry of Deno.readDir(maildir)) {
    if (
      entry.isDirectory && entry.name.startsWith(".") && entry.name !== "." &&
      entry.name !== ".." && entry.name !== ".Trash"
    ) {
      folders.push(`${maildir}/${entry.name}`);
    }
  }
  for (const folder of folders) {
    await sumDirectory(`${folder}/new`, usage);
    await sumDirectory(`${folder}/cur`, usage);
  }
  return usage;
}

/**
 * Recalculates the usage and writes a fresh maildirsize (definition + one
 * total line) through a file in tmp/ renamed into place.
 */
export async function recalculateMaildirsize(
  maildir: string,
  quota: MaildirQuota,
  now: Date,
): Promise<MaildirUsage> {
  const usage = await measureMaildir(maildir);
  const content = `${formatQuotaDefinition(quota)}\n${usage.bytes} ${usage.messages}\n`;
  let tmpDir = `${maildir}/tmp`;
  try {
    if (!(await Deno.stat(tmpDir)).isDirectory) tmpDir = maildir;
  } catch {
    tmpDir = maildir;
  }
  const temporary =
    `${tmpDir}/${Math.floor(now.getTime() / 1000)}.P${Deno.pid}Q${++temporaryCounter}` +
    `.maildirsize`;
  try {
    await Deno.writeTextFile(temporary, content, { mode: 0o600, createNew: true });
    await Deno.rename(temporary, `${maildir}/maildirsize`);
  } catch (error) {
    await Deno.remove(temporary).catch(() => {});
    throw error;
  }
  return usage;
}

/** The quota in force for one delivery and the usage before it. */
export interface QuotaCheck {
  quota: MaildirQuota;
  usage: MaildirUsage;
}

/**
 * Reads (recalculating when the spec says so) the quota and usage of a
 * Maildir. `configured` is the account's quota: when given it is the
 * definition (and a file that disagrees is rewritten; zero limits mean no
 * quota at all); when undefined the file's own definition applies, and a
 * missing file means no quota. Undefined = no quota to enforce.
 */
export async function readMaildirQuota(
  maildir: string,
  configured: MaildirQuota | undefined,
  incoming: MaildirUsage,
  now: Date,
): Promise<QuotaCheck | undefined> {
  if (configured !== undefined && !hasQuota(configured)) return undefined;
  const path = `${maildir}/maildirsize`;
  let text: string | undefined;
  let mtime: Date | null = null;
  let size = 0;
  try {
    // Small metadata reads: synchronous, cheaper than a trip to the I/O threads.
    const info = Deno.statSync(path);
    mtime = info.mtime;
    size = info.size;
    if (size < MAILDIRSIZE_MAX_BYTES) text = Deno.readTextFileSync(path);
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
    if (configured === undefined) return undefined;
  }
  const parsed = text === undefined ? undefined : parseMaildirsize(text);
  const quota = configured ?? parsed?.quota;
  if (quota === undefined) {
    // A file too long or corrupt to trust, with no configured definition:
    // recover the definition from its first line, then recount.
    const head = (await Deno.readTextFile(path)).split("\n", 1)[0];
    const fromFile = parseQuotaDefinition(head);
    if (!hasQuota(fromFile)) return undefined;
    return { quota: fromFile, usage: await recalculateMaildirsize(maildir, fromFile, now) };
  }
  if (!hasQuota(quota)) return undefined;
  const sameDefinition = parsed !== undefined &&
    formatQuotaDefinition(parsed.quota) === formatQuotaDefinition(quota);
  if (parsed === undefined || !sameDefinition) {
    return { quota, usage: await recalculateMaildirsize(maildir, quota, now) };
  }
  if (exceedsQuota(quota, parsed.usage, incoming)) {
    const stale = mtime === null || now.getTime() - mtime.getTime() > MAILDIRSIZE_STALE_MS;
    if (parsed.deltaLines > 1 || stale) {
      return { quota, usage: await recalculateMaildirsize(maildir, quota, now) };
    }
  }
  return { quota, usage: parsed.usage };
}

/**
 * Appends `BYTES COUNT\n` to maildirsize in one write (O_APPEND), if the file
 * exists; a missing file is rebuilt by the next check.
 */
// deno-lint-ignore require-await
export async function addMaildirQuota(
  maildir: string,
  bytes: number,
  messages: number,
): Promise<void> {
  let file: Deno.FsFile;
  try {
    file = Deno.openSync(`${maildir}/maildirsize`, { append: true });
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return;
    throw error;
  }
  try {
    // A few bytes to the page cache: synchronous, as the open.
    const line = new TextEncoder().encode(`${bytes} ${messages}\n`);
    let written = 0;
    while (written < line.length) written += file.writeSync(line.subarray(written));
  } finally {
    file.close();
  }
}
