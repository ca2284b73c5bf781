/**
 * `.qmail` files as qmail-local reads them (docs/queue-format.md §6.2–§6.4):
 * which file applies to an extension, what each line means, and the envelope
 * sender for forwards. Pure: the caller checks which candidate files exist.
 *
 * Text is a byte string (one char per byte), as the file's bytes.
 */
import { asciiLower } from "../../config/ascii.ts";
import { DeliveryError } from "./delivery_error.ts";

/** One executable line of a .qmail file, in file order. */
export type DotQmailInstruction =
  /** `|command`: run by /bin/sh -c in the home directory (§6.5). */
  | { kind: "program"; command: string; line: number }
  /** `/path/` or `./path/`: a Maildir (§6.7). */
  | { kind: "maildir"; path: string; line: number }
  /** `/path` or `./path`: an mbox file (§6.6). */
  | { kind: "mbox"; path: string; line: number }
  /** `&address` or a bare address: forwarded at the end, in one injection. */
  | { kind: "forward"; address: string; line: number }
  /** The exact line `+list`: forward-only mode for the rest of the file. */
  | { kind: "forward-only"; line: number };

export const BLANK_FIRST_LINE = "Uh-oh: first line of .qmail file is blank. (#4.2.1)";

/**
 * Splits a .qmail file (or the default delivery text) into instructions
 * (§6.4): trailing spaces and tabs stripped from each line; `#` comments and
 * blank lines skipped, except that a blank first line is a temporary error;
 * other `+` lines ignored.
 */
export function parseDotQmail(text: string): DotQmailInstruction[] {
  const lines = text.split("\n");
  if (text.endsWith("\n")) lines.pop();
  const instructions: DotQmailInstruction[] = [];
  lines.forEach((raw, index) => {
    const line = raw.replace(/[ \t]+$/, "");
    const number = index + 1;
    if (line === "") {
      if (index === 0) throw new DeliveryError(true, BLANK_FIRST_LINE);
      return;
    }
    switch (line[0]) {
      case "#":
        return;
      case ".":
      case "/":
        instructions.push(
          line.endsWith("/")
            ? { kind: "maildir", path: line, line: number }
            : { kind: "mbox", path: line, line: number },
        );
        return;
      case "|":
        instructions.push({ kind: "program", command: line.slice(1), line: number });
        return;
      case "+":
        if (line === "+list") instructions.push({ kind: "forward-only", line: number });
        return;
      case "&":
        instructions.push({ kind: "forward", address: line.slice(1), line: number });
        return;
      default:
        instructions.push({ kind: "forward", address: line, line: number });
    }
  });
  return instructions;
}

/** ext' of §6.2: the extension in lower case with every `.` replaced by `:`. */
export function safeExtension(ext: string): string {
  return asciiLower(ext).replaceAll(".", ":");
}

/** One file name to try, and where DEFAULT starts in the original ext if it is a default file. */
export interface DotQmailCandidate {
  name: string;
  /** When set, DEFAULT = ext.slice(defaultFrom). */
  defaultFrom?: number;
}

/**
 * The .qmail files qmail-local tries for DASH and EXT, in order (§6.2):
 * `.qmail` + dash + ext' first, then `.qmail` + dash + prefix + `default` for
 * every prefix of ext' that is empty or ends in `-`, longest first.
 * E.g. ext `foo-bar`: .qmail-foo-bar, .qmail-foo-default, .qmail-default.
 */
export function dotQmailCandidates(dash: string, ext: string): DotQmailCandidate[] {
  const safe = safeExtension(ext);
  const exact: DotQmailCandidate = { name: `.qmail${dash}${safe}` };
  if (safe.length >= 7 && safe.endsWith("default")) exact.defaultFrom = safe.length - 7;
  const candidates = [exact];
  for (let i = safe.length; i >= 0; i--) {
    if (i === 0 || safe[i - 1] === "-") {
      candidates.push({ name: `.qmail${dash}${safe.slice(0, i)}default`, defaultFrom: i });
    }
  }
  return candidates;
}

/** The two files that decide NEWSENDER (§6.3): `-owner` and `-owner-default`. */
export function ownerFileNames(dash: string, ext: string): { owner: string; ownerDefault: string } {
  const base = `.qmail${dash}${safeExtension(ext)}`;
  return { owner: `${base}-owner`, ownerDefault: `${base}-owner-default` };
}

/**
 * NEWSENDER (§6.3): the sender, unless it is neither empty nor `#@[]` and an
 * owner file exists; then LOCAL-owner@DOMAIN, or the VERP request
 * LOCAL-owner-@DOMAIN-@[] when the owner-default file exists too.
 */
export function formatNewSender(
  sender: string,
  local: string,
  domain: string,
  owner: { owner: boolean; ownerDefault: boolean },
): string {
  if (sender === "" || sender === "#@[]" || !owner.owner) return sender;
  return owner.ownerDefault ? `${local}-owner-@${domain}-@[]` : `${local}-owner@${domain}`;
}
