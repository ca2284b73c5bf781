/**
 * vpopmail's per-domain password files, as its cdb backend (vcdb.c) writes
 * them: DOMAINDIR/vpasswd, one line per mailbox
 * `name:passwd:uid:gid:gecos:dir:quota:clear` (passwd a crypt hash; uid and
 * gid hold vpopmail's flags, not system ids; quota, in the pw_shell field,
 * `NOQUOTA` or a Maildir++ definition such as `52428800S,1000C`; clear the
 * clear-text password when vpopmail keeps one), and DOMAINDIR/vpasswd.cdb,
 * whose key is the name and whose data is the rest of the line after its
 * first colon. A broken line is an error naming the file and line.
 */
import { ControlError } from "../../config/control.ts";
import { readCdbRecords } from "../../config/cdb.ts";
import { bytesToString } from "../bytes.ts";
import { isNotFound } from "../durable_file.ts";
import { parseQuotaDefinition } from "../deliver/quota.ts";
import type { MaildirQuota } from "../deliver/quota.ts";

export interface VpasswdEntry {
  user: string;
  /** The stored hash (crypt(3): `$1$...`, `$6$...`, or DES). */
  hash: string;
  gecos: string;
  /** The mailbox's directory; its Maildir is DIR/Maildir. */
  dir: string;
  quota: MaildirQuota;
  /** The clear-text password, or "" when vpopmail keeps none. */
  clear: string;
}

/** Where a domain's entries came from. */
export type VpasswdSource = "vpasswd" | "vpasswd.cdb";

/** vpopmail's quota field: NOQUOTA (or empty) is none; a bare number is bytes. */
export function parseVpopmailQuota(text: string): MaildirQuota {
  const trimmed = text.trim();
  if (trimmed === "" || trimmed.toUpperCase() === "NOQUOTA") return { bytes: 0, messages: 0 };
  if (/^\d+$/.test(trimmed)) return { bytes: Number(trimmed), messages: 0 };
  return parseQuotaDefinition(trimmed);
}

/** One entry from a name and the fields after it, or why it is broken. */
function entryFrom(user: string, rest: string[]): VpasswdEntry | string {
  if (user === "") return "empty mailbox name";
  if (rest.length < 5) return "expected name:passwd:uid:gid:gecos:dir[:quota[:clear]]";
  const [hash, , , gecos, dir, quota = "", ...clear] = rest;
  if (!dir.startsWith("/")) return `mailbox ${user}'s directory is not an absolute path`;
  // A clear password may itself hold colons: everything after the seventh one.
  return { user, hash, gecos, dir, quota: parseVpopmailQuota(quota), clear: clear.join(":") };
}

/** Parses DOMAINDIR/vpasswd's text (`file` names it in errors). */
export function parseVpasswd(text: string, file: string): VpasswdEntry[] {
  const entries: VpasswdEntry[] = [];
  for (const [index, raw] of text.split("\n").entries()) {
    const line = raw.replace(/\r$/, "");
    if (line.trim() === "" || line.startsWith("#")) continue;
    const [user, ...rest] = line.split(":");
    const entry = entryFrom(user, rest);
    if (typeof entry === "string") throw new ControlError(file, index + 1, entry);
    entries.push(entry);
  }
  return entries;
}

/** Parses DOMAINDIR/vpasswd.cdb; errors name the record by its number in the file. */
export function parseVpasswdCdb(bytes: Uint8Array, file: string): VpasswdEntry[] {
  let records;
  try {
    records = readCdbRecords(bytes);
  } catch (error) {
    throw new ControlError(file, 0, (error as Error).message);
  }
  return records.map((record, index) => {
    const entry = entryFrom(bytesToString(record.key), bytesToString(record.data).split(":"));
    if (typeof entry === "string") throw new ControlError(file, 0, `record ${index + 1}: ${entry}`);
    return entry;
  });
}

/**
 * A domain's mailboxes: from DOMAINDIR/vpasswd, else from vpasswd.cdb when
 * only that exists (vpopmail reads the cdb; the text is its source), else
 * undefined.
 */
export function readVpasswd(
  domainDir: string,
): { source: VpasswdSource; entries: VpasswdEntry[] } | undefined {
  const read = (name: VpasswdSource): Uint8Array | undefined => {
    try {
      return Deno.readFileSync(`${domainDir}/${name}`);
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw error;
    }
  };
  const text = read("vpasswd");
  if (text !== undefined) {
    return {
      source: "vpasswd",
      entries: parseVpasswd(bytesToString(text), `${domainDir}/vpasswd`),
    };
  }
  const cdb = read("vpasswd.cdb");
  if (cdb === undefined) return undefined;
  return { source: "vpasswd.cdb", entries: parseVpasswdCdb(cdb, `${domainDir}/vpasswd.cdb`) };
}
