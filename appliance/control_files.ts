/**
 * Editing control files the way an operator with an editor would, but safely:
 * a list file gains or loses whole lines and keeps every other line and
 * comment; a file is replaced through a temporary file, fsync and rename, so
 * a running qmd reads the old file or the new one, never half of one.
 * Used by `qmd init --me`, `qmd domain` and `qmd user`.
 *
 * A neutral module (style.md §11): home/ and accounts/ both use it, and when
 * it lived in home/ the two folders imported each other.
 */
import { homePaths } from "../config/home.ts";
import { parseControlList } from "../config/control.ts";
import { giveToHomeOwner } from "./home_owner.ts";

/**
 * Adds `entry` as a line of a list control file unless a line already matches.
 * Returns the new text, or undefined when nothing changes.
 */
export function addListEntry(
  text: string | undefined,
  entry: string,
  present: (value: string) => boolean,
): string | undefined {
  const current = text ?? "";
  if (parseControlList(current).some((item) => present(item.value))) return undefined;
  const separator = current === "" || current.endsWith("\n") ? "" : "\n";
  return `${current}${separator}${entry}\n`;
}

/**
 * Removes the lines of a list control file that match (comments and blank
 * lines are kept). Returns the new text, or undefined when nothing changes.
 */
export function removeListEntries(
  text: string | undefined,
  matches: (value: string) => boolean,
): string | undefined {
  if (text === undefined) return undefined;
  const lines = text.split("\n");
  const kept = lines.filter((raw) => {
    const value = raw.replace(/[ \t\r]+$/, "");
    return value === "" || value.startsWith("#") || !matches(value);
  });
  return kept.length === lines.length ? undefined : kept.join("\n");
}

/**
 * Replaces HOME/control/NAME atomically: write NAME.tmp.PID, fsync, rename.
 * Keeps the old mode (`mode`, default 0644, for a new file).
 */
export function writeControlFile(home: string, name: string, text: string, mode = 0o644): void {
  const path = `${homePaths(home).control}/${name}`;
  writeFileAtomically(path, new TextEncoder().encode(text), mode, home);
}

/**
 * Replaces `path` atomically, keeping its mode, or giving it `mode` when it
 * is new. With `home`, the file belongs to the home's owner (home_owner.ts).
 */
export function writeFileAtomically(
  path: string,
  bytes: Uint8Array,
  mode: number,
  home?: string,
): void {
  try {
    mode = (Deno.statSync(path).mode ?? mode) & 0o7777;
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  }
  const tmp = `${path}.tmp.${Deno.pid}`;
  const file = Deno.openSync(tmp, { write: true, create: true, truncate: true, mode });
  try {
    // The mode before the first byte, so a private file is never readable by others.
    Deno.chmodSync(tmp, mode);
    if (home !== undefined) giveToHomeOwner(home, [tmp]);
    let written = 0;
    while (written < bytes.length) written += file.writeSync(bytes.subarray(written));
    file.syncSync();
  } finally {
    file.close();
  }
  Deno.renameSync(tmp, path);
}
