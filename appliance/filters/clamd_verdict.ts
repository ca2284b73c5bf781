/**
 * What clamd's answer to an INSTREAM scan means for the message
 * (docs/patches.md seeds 000 and 001): a virus is refused with the seed's
 * `554 5.7.7 your email contains the virus "NAME"!` and logged as
 * `CLAMD: virus "NAME" was found!`; clamd down, timing out or answering
 * nonsense lets the message through unless clamdfailreject says to refuse
 * it temporarily. Pure: the talking is appliance/scan/clamd_scan.ts.
 *
 * Seed 000 tarpits the client before its 554; seed 001, the later patch,
 * only rejects. qmd follows seed 001: a virus is a plain refusal.
 */
import { PASS, refuse, type Verdict } from "./filter.ts";

/** What a scan came to. */
export type ClamdOutcome =
  | { kind: "clean" }
  | { kind: "virus"; name: string }
  /** clamd's StreamMaxLength was reached: the message is bigger than clamd scans. */
  | { kind: "size-limit" }
  /** No answer to be had: connection refused or broken, timeout, an ERROR reply. */
  | { kind: "failed"; reason: string };

/**
 * seed 001 says only that clamdfailreject "temporary rejects"; the text is
 * qmd's, with the enhanced code of a system that is not ready (RFC 3463 4.3.0).
 */
export const REPLY_CLAMD_FAILED = "451 4.3.0 virus scanner failed, try again later";

/** The longest virus name put in a reply; clamd's names are far shorter. */
const NAME_CHARS = 200;

/** The seed's reply for a virus; the name is cut to printable ASCII without quotes. */
export function virusReply(name: string): string {
  return `554 5.7.7 your email contains the virus "${cleanName(name)}"!`;
}

/** The seed's log line (`CLAMD: virus "Worm.Bagle.Z" was found!`) or the failure's. */
export function clamdLogText(outcome: ClamdOutcome): string | undefined {
  switch (outcome.kind) {
    case "clean":
      return undefined;
    case "virus":
      return `CLAMD: virus "${cleanName(outcome.name)}" was found!`;
    case "size-limit":
      return "CLAMD: message over clamd's StreamMaxLength, not scanned";
    case "failed":
      return `CLAMD: scan failed: ${outcome.reason}`;
  }
}

/**
 * clamd's reply to a z-command (the trailing NUL gone): `stream: OK`,
 * `stream: NAME FOUND`, `INSTREAM size limit exceeded. ERROR`, or another
 * `... ERROR`. Anything else is a failure too.
 */
export function parseClamdReply(reply: string): ClamdOutcome {
  const text = reply.replace(/[\0\r\n]+$/, "");
  if (/^(?:stream|[^:]*): OK$/.test(text)) return { kind: "clean" };
  const found = /^(?:stream(?:\([^)]*\))?|[^:]*): (.+) FOUND$/.exec(text);
  if (found !== null) return { kind: "virus", name: found[1] };
  if (/size limit exceeded/i.test(text)) return { kind: "size-limit" };
  return { kind: "failed", reason: `clamd answered ${JSON.stringify(text.slice(0, NAME_CHARS))}` };
}

/**
 * The verdict at the end of DATA; a refusal carries its `CLAMD:` line, which
 * the session logs. A message over StreamMaxLength passes even
 * with clamdfailreject: clamd works, it only scans no further, and refusing
 * temporarily would only make the sender retry the same message until it
 * bounces.
 */
export function clamdVerdict(outcome: ClamdOutcome, failReject: boolean): Verdict {
  switch (outcome.kind) {
    case "virus":
      return refuse(virusReply(outcome.name), {
        check: "clamd",
        source: "control/clamd",
        entry: cleanName(outcome.name),
        // Seed 000: "if a virus is found, the client gets tarpitted".
      }, { log: clamdLogText(outcome), tarpitted: true });
    case "failed":
      return failReject
        ? refuse(REPLY_CLAMD_FAILED, {
          check: "clamd",
          source: "control/clamdfailreject",
          entry: outcome.reason,
        }, { log: clamdLogText(outcome) })
        : PASS;
    default:
      return PASS;
  }
}

function cleanName(name: string): string {
  return name.replace(/[^\x21-\x7e]|"/g, "_").slice(0, NAME_CHARS);
}
