/**
 * Small fake filter and content checks for the filter chain tests
 * (tests/filter_chain_test.ts, tests/filter_content_test.ts), registered as
 * modules the way appliance/policy/ registers the real ones, and the
 * transcript runner they play through. Test only.
 */
import { parseTranscript } from "./transcript.ts";
import { runTranscriptInMemory, type TranscriptFilterHooks } from "./transcript_run.ts";
import type {
  ContentScan,
  FilterPhase,
  FilterRequest,
  LookupAnswer,
  Verdict,
} from "../appliance/filters/filter.ts";
import { type FilterModule, filterModule } from "../appliance/policy/filter_modules.ts";
import { type ContentModule, contentModule } from "../appliance/policy/content_modules.ts";

/** A check that answers `decide` in its phases, and `resume` with a lookup's answer. */
export function fakeCheck(
  name: string,
  phases: FilterPhase[],
  decide: (request: FilterRequest) => Verdict,
  resume?: (request: FilterRequest, answer: LookupAnswer) => Verdict,
): FilterModule {
  return filterModule({
    check: {
      name,
      phases,
      check: (request: FilterRequest) => decide(request),
      resume: resume === undefined
        ? undefined
        : (request: FilterRequest, _settings: null, answer: LookupAnswer) =>
          resume(request, answer),
    },
    load: () => null,
    settings: () => null,
  });
}

export const rule = (check: string) => ({ check, source: `control/${check}`, line: 1, entry: "x" });

export async function play(name: string, text: string, hooks: TranscriptFilterHooks = {}) {
  return await runTranscriptInMemory(parseTranscript(text), name, hooks);
}

export const HELLO = `@ rcpthosts example.net
S: 220 mx.example.net ESMTP
C: HELO client.example
S: 250 mx.example.net
`;

/** HELLO, then a@example.org to b@example.net transaction up to DATA's 354: the message lines follow. */
export const TO_DATA = HELLO + `C: MAIL FROM:<a@example.org>
S: 250 2.1.0 ok
C: RCPT TO:<b@example.net>
S: 250 2.1.5 ok
C: DATA
S: 354 go ahead
`;

/** A content check whose scans keep what they are given and answer `verdict` (or throw). */
export function fakeScanner(
  name: string,
  verdict: Verdict | "throw",
  seen: string[],
): ContentModule {
  return contentModule({
    name,
    load: () => null,
    begin: (): ContentScan => {
      let text = "";
      return {
        write: (chunk) => {
          for (const byte of chunk) text += String.fromCharCode(byte);
          return Promise.resolve();
        },
        finish: () => {
          seen.push(text);
          return verdict === "throw"
            ? Promise.reject(new Error("scanner down"))
            : Promise.resolve(verdict);
        },
        abort: () => Promise.resolve(),
      };
    },
  });
}
