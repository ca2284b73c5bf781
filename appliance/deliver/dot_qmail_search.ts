/**
 * qmail-local's look at the user's home (docs/queue-format.md §6.1–§6.3): the
 * home's mode checks, the search for the .qmail file that applies to an
 * extension, and whether an owner file (.qmail-EXT-owner) exists. Names
 * found absent are remembered per home (absent_names.ts), so each delivery
 * need not stat every candidate.
 */
import { bytesToString } from "../bytes.ts";
import { AbsentNames } from "./absent_names.ts";
import { fromByteString } from "./byte_string.ts";
import { DeliveryError, errorText } from "./delivery_error.ts";
import { dotQmailCandidates } from "./dot_qmail.ts";

/** Absent .qmail names per home directory (see absent_names.ts). */
const absentNames = new AbsentNames();

/** The .qmail file that applies. */
export interface FoundDotQmail {
  /** Its bytes as a byte string. */
  text: string;
  /** The file's owner-execute bit: forward-only mode (§6.2). */
  forwardOnly: boolean;
  /** The part of the extension a -default file matched ($DEFAULT). */
  defaultPart?: string;
}

/**
 * qmail-local's chdir to the home and its mode checks (§6.1), creating a
 * virtual mailbox's home when `create`. Returns the names known absent from
 * the home, for findDotQmail and ownerExists (undefined: none trusted).
 */
export function checkHome(home: string, create: boolean): Set<string> | undefined {
  if (!home.startsWith("/")) {
    throw new DeliveryError(true, `Unable to switch to ${home}: not an absolute path. (#4.3.0)`);
  }
  let info: Deno.FileInfo;
  try {
    try {
      info = Deno.statSync(home);
    } catch (error) {
      if (!create || !(error instanceof Deno.errors.NotFound)) throw error;
      try {
        Deno.mkdirSync(home, { recursive: true, mode: 0o700 });
      } catch {
        // the stat below reports it
      }
      info = Deno.statSync(home);
    }
  } catch (error) {
    throw new DeliveryError(true, `Unable to switch to ${home}: ${errorText(error)}. (#4.3.0)`, {
      cause: error,
    });
  }
  if (!info.isDirectory) {
    throw new DeliveryError(true, `Unable to switch to ${home}: not a directory. (#4.3.0)`);
  }
  const mode = info.mode ?? 0;
  // conf-patrn 002 (§6.1).
  if (mode & 0o002) throw new DeliveryError(true, "Uh-oh: home directory is writable. (#4.7.0)");
  if (mode & 0o1000) {
    throw new DeliveryError(
      true,
      "Home directory is sticky: user is editing his .qmail file. (#4.2.1)",
    );
  }
  return absentNames.namesFor(home, info, Date.now());
}

/** The .qmail search (§6.2): undefined when no candidate exists. */
export function findDotQmail(
  home: string,
  dash: string,
  ext: string,
  absent: Set<string> | undefined,
): FoundDotQmail | undefined {
  for (const candidate of dotQmailCandidates(dash, ext)) {
    const name = fromByteString(candidate.name);
    if (absent?.has(name)) continue;
    const path = `${home}/${name}`;
    let info: Deno.FileInfo;
    let bytes: Uint8Array;
    try {
      info = Deno.statSync(path);
      if (!info.isFile) continue;
      bytes = Deno.readFileSync(path);
    } catch (error) {
      if (error instanceof Deno.errors.NotFound) {
        absentNames.note(absent, home, name);
        continue;
      }
      if (error instanceof Deno.errors.NotADirectory) continue;
      throw new DeliveryError(true, `Unable to open ${name}: ${errorText(error)}. (#4.3.0)`, {
        cause: error,
      });
    }
    const mode = info.mode ?? 0;
    if (mode & 0o002) throw new DeliveryError(true, "Uh-oh: .qmail file is writable. (#4.7.0)");
    return {
      text: bytesToString(bytes),
      forwardOnly: (mode & 0o100) !== 0,
      defaultPart: candidate.defaultFrom === undefined
        ? undefined
        : ext.slice(candidate.defaultFrom),
    };
  }
  return undefined;
}

/** Whether the owner file `name` (a byte string) exists in the home (NEWSENDER, §6.3). */
export function ownerExists(home: string, name: string, absent: Set<string> | undefined): boolean {
  const text = fromByteString(name);
  if (absent?.has(text)) return false;
  try {
    Deno.statSync(`${home}/${text}`);
    return true;
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) absentNames.note(absent, home, text);
    if (
      error instanceof Deno.errors.NotFound || error instanceof Deno.errors.NotADirectory ||
      error instanceof Deno.errors.PermissionDenied
    ) {
      return false;
    }
    throw new DeliveryError(true, `Unable to open ${name}: ${errorText(error)}. (#4.3.0)`, {
      cause: error,
    });
  }
}
