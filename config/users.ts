/**
 * `users/assign` and `users/cdb` (docs/queue-format.md §5.3): which user, home
 * directory, dash and extension a local part belongs to.
 *
 * qmail-newu compiles the text file into the cdb; qmail-lspawn reads only the
 * cdb. qmd does the same when users/cdb exists, and otherwise reads
 * users/assign directly (a departure: an operator who edits assign and forgets
 * `qmd newu` still gets the new entries when no cdb was ever built). The text
 * path compiles the entries to the same cdb records in memory and looks them
 * up with the same code, so both give identical answers.
 *
 * Strings here are byte strings: one char per byte (codes 0–255), so any byte
 * but NUL survives. Case folding is ASCII only, as qmail's case_lowerb.
 */
import { ControlError } from "./control.ts";
import { asciiLower } from "./ascii.ts";
import { buildCdb, CdbReader, type CdbRecord } from "./cdb.ts";
import { byteString, byteStringBytes as stringBytes } from "./byte_string.ts";
import { MailError } from "./mail_error.ts";

/** One line of users/assign. */
export interface AssignEntry {
  /** `=` simple assignment or `+` wildcard (prefix) assignment. */
  kind: "simple" | "wildcard";
  /** The address (simple) or prefix (wildcard) as written. */
  local: string;
  user: string;
  uid: string;
  gid: string;
  home: string;
  dash: string;
  /** ext (simple) or pre (wildcard). */
  ext: string;
  /** 1-based line number in the file. */
  line: number;
}

/** What qmail-lspawn hands to qmail-local (§5.2 step 3). */
export interface Assignment {
  user: string;
  uid: number;
  gid: number;
  home: string;
  dash: string;
  ext: string;
}

export { asciiLower };

/**
 * Parses users/assign as qmail-newu does: lines until one starting with `.`;
 * each line `=local:user:uid:gid:home:dash:ext:` or `+prefix:…:pre:`, text
 * after the seventh colon ignored. Unlike qmail-newu, which treats any first
 * character other than `+` as `=`, a line must start with `=` or `+`.
 * Throws ControlError naming the file and line.
 */
export function parseAssign(text: string, file = "users/assign"): AssignEntry[] {
  const entries: AssignEntry[] = [];
  const lines = text.split("\n");
  for (let index = 0; index < lines.length; index++) {
    const line = lines[index];
    const number = index + 1;
    const terminated = index < lines.length - 1;
    if (line.startsWith(".")) return entries;
    if (!terminated) {
      throw new ControlError(
        file,
        number,
        'missing the final line "." (users/assign must end with a line holding a single dot)',
      );
    }
    if (line.includes("\0")) throw new ControlError(file, number, "NUL byte in line");
    const kind = line[0];
    if (kind !== "=" && kind !== "+") {
      throw new ControlError(
        file,
        number,
        `expected a line starting with "=" or "+", found ${JSON.stringify(line.slice(0, 40))}`,
      );
    }
    const colon = line.indexOf(":");
    if (colon < 0) throw new ControlError(file, number, "no colon after the address");
    const fields = line.slice(colon + 1).split(":");
    if (fields.length < 7) {
      throw new ControlError(
        file,
        number,
        `expected local:user:uid:gid:home:dash:ext: (7 colons), found ${fields.length} colons`,
      );
    }
    const [user, uid, gid, home, dash, ext] = fields;
    entries.push({
      kind: kind === "+" ? "wildcard" : "simple",
      local: line.slice(1, colon),
      user,
      uid,
      gid,
      home,
      dash,
      ext,
      line: number,
    });
  }
  throw new ControlError(file, lines.length, 'missing the final line "."');
}

/**
 * The cdb records qmail-newu writes for these entries, in file order: simple
 * `!local\0`, wildcard `!prefix`, data `user\0uid\0gid\0home\0dash\0ext`; then
 * one record with an empty key holding the wildchars (the last character of
 * each non-empty wildcard prefix, as written, without repeats).
 */
export function compileAssign(entries: readonly AssignEntry[]): CdbRecord[] {
  const records: CdbRecord[] = [];
  let wildchars = "";
  for (const entry of entries) {
    let key = "!" + asciiLower(entry.local);
    if (entry.kind === "simple") key += "\0";
    else if (entry.local.length > 0) {
      const last = entry.local[entry.local.length - 1];
      if (!wildchars.includes(last)) wildchars += last;
    }
    const data = [entry.user, entry.uid, entry.gid, entry.home, entry.dash, entry.ext].join("\0");
    records.push({ key: stringBytes(key), data: stringBytes(data) });
  }
  records.push({ key: new Uint8Array(0), data: stringBytes(wildchars) });
  return records;
}

/** Entries already compiled for lookups on the text file. */
const compiled = new WeakMap<readonly AssignEntry[], CdbReader>();

/** A users/cdb whose wildchars record is missing: qmail-lspawn exits 117, a temporary failure. */
export class AssignLookupError extends MailError {
  constructor(message: string) {
    super(message, { temporary: true });
    this.name = "AssignLookupError";
  }
}

function parseUlong(text: string): number {
  const digits = /^\d*/.exec(text)![0];
  return digits === "" ? 0 : Number(digits);
}

/**
 * qmail-lspawn's lookup (§5.3): exact key `!L\0`, then for i from len(L) down
 * to 0 the prefix key `!L[0..i)` when i = 0 or L[i-1] is a wildchar; a
 * wildcard match appends the rest of the original-case local part to ext.
 */
export function lookupAssign(
  source: CdbReader | readonly AssignEntry[],
  local: string,
): Assignment | undefined {
  let reader: CdbReader;
  if (source instanceof CdbReader) reader = source;
  else {
    const entries = source as readonly AssignEntry[];
    reader = compiled.get(entries) ?? new CdbReader(buildCdb(compileAssign(entries)));
    compiled.set(entries, reader);
  }
  const wildcharsData = reader.get(new Uint8Array(0));
  if (wildcharsData === undefined) {
    throw new AssignLookupError("users/cdb has no wildchars record (not made by qmail-newu?)");
  }
  const wildchars = byteString(wildcharsData);
  const lower = "!" + asciiLower(local);

  const exact = reader.get(stringBytes(lower + "\0"));
  if (exact !== undefined) return parseAssignment(byteString(exact));

  for (let i = lower.length; i >= 1; i--) {
    if (i > 1 && !wildchars.includes(lower[i - 1])) continue;
    const data = reader.get(stringBytes(lower.slice(0, i)));
    if (data !== undefined) return parseAssignment(byteString(data) + local.slice(i - 1));
  }
  return undefined;
}

function parseAssignment(data: string): Assignment {
  const fields = data.split("\0");
  while (fields.length < 6) fields.push("");
  const [user, uid, gid, home, dash, ...ext] = fields;
  return {
    user,
    uid: parseUlong(uid),
    gid: parseUlong(gid),
    home,
    dash,
    ext: ext.join("\0"),
  };
}

interface Cached {
  path: string;
  stamp: string;
  source: CdbReader | AssignEntry[];
}

let cache: Cached | undefined;

/**
 * The users/ directory's stamp under which users/cdb was seen missing: a cdb
 * made later (qmail-newu renames it into place) changes the directory's mtime
 * and ctime, so the next lookup looks again. Not set while the directory
 * changed within the last RACY_MS (a change in the same clock tick might
 * leave mtime as it was).
 */
let cdbMissing: { home: string; stamp: string } | undefined;
const RACY_MS = 2000;

function stampOf(path: string): string | undefined {
  try {
    const info = Deno.statSync(path);
    return `${info.ino}:${info.size}:${info.mtime?.getTime()}`;
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return undefined;
    throw error;
  }
}

/** A directory's stamp when it is old enough to trust, else undefined. */
function directoryStamp(path: string): string | undefined {
  try {
    const info = Deno.statSync(path);
    const mtime = info.mtime?.getTime();
    const ctime = info.ctime?.getTime();
    const now = Date.now();
    if (mtime === undefined || ctime === undefined || info.ino === null) return undefined;
    if (now - mtime < RACY_MS || now - ctime < RACY_MS) return undefined;
    return `${info.dev}:${info.ino}:${mtime}:${ctime}`;
  } catch {
    return undefined;
  }
}

/** users/cdb's stamp, or undefined when it does not exist. */
function cdbStamp(home: string): string | undefined {
  const users = `${home}/users`;
  if (cdbMissing?.home === home && directoryStamp(users) === cdbMissing.stamp) return undefined;
  cdbMissing = undefined;
  const stamp = stampOf(`${users}/cdb`);
  if (stamp !== undefined) return stamp;
  // Stamp the directory first, then look again: a cdb made in between is not missed.
  const directory = directoryStamp(users);
  if (directory === undefined) return undefined;
  const again = stampOf(`${users}/cdb`);
  if (again === undefined) cdbMissing = { home, stamp: directory };
  return again;
}

/**
 * Where lookups come from: HOME/users/cdb when it exists, else the parsed
 * HOME/users/assign, else undefined (no assignments). Re-read only when the
 * file changes. Throws on unreadable or malformed files.
 */
export function loadAssignSource(
  home: string,
): { file: string; source: CdbReader | AssignEntry[] } | undefined {
  const cdbPath = `${home}/users/cdb`;
  const assignPath = `${home}/users/assign`;
  for (const path of [cdbPath, assignPath]) {
    const stamp = path === cdbPath ? cdbStamp(home) : stampOf(path);
    if (stamp === undefined) continue;
    if (cache?.path === path && cache.stamp === stamp) return { file: path, source: cache.source };
    const bytes = Deno.readFileSync(path);
    const source = path === cdbPath
      ? new CdbReader(bytes)
      : parseAssign(byteString(bytes), assignPath);
    cache = { path, stamp, source };
    return { file: path, source };
  }
  return undefined;
}

/** loadAssignSource for the delivery path, which awaits it. */
// deno-lint-ignore require-await
export async function readAssignSource(
  home: string,
): Promise<{ file: string; source: CdbReader | AssignEntry[] } | undefined> {
  return loadAssignSource(home);
}

/**
 * The home directories the assignments name (absolute paths only, each once,
 * in file order), from the same file lookups use: users/cdb, else
 * users/assign. The local role may read and write these. Throws as
 * loadAssignSource does.
 */
export function readAssignedHomes(home: string): string[] {
  const found = loadAssignSource(home);
  if (found === undefined) return [];
  const homes = new Set<string>();
  if (found.source instanceof CdbReader) {
    for (const record of found.source.records()) {
      // `!local\0` and `!prefix` keys; the empty key holds the wildchars.
      if (record.key[0] !== 0x21) continue;
      homes.add(parseAssignment(byteString(record.data)).home);
    }
  } else {
    for (const entry of found.source) homes.add(entry.home);
  }
  return [...homes].filter((path) => path.startsWith("/"));
}
