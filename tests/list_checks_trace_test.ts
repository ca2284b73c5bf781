/**
 * The decision trace of the list checks' transcripts (tests/transcripts/,
 * appliance/policy/list_modules.ts): each refusal and acceptance a transcript
 * shows is recorded with its check, the control file, line and entry that
 * decided, and the reply, as `qmd explain` prints them. The transcripts run
 * in memory through the real driver with the real filter table.
 */
import { assert, assertEquals } from "./assert.ts";
import {
  type FilterRequest,
  formatRule,
  PASS,
  refuse,
  type SessionTrace,
} from "../appliance/filters/filter.ts";
import { FILTER_MODULES, filterModule } from "../appliance/policy/filter_modules.ts";
import { parseTranscript } from "./transcript.ts";
import { runTranscriptInMemory } from "./transcript_run.ts";

const DIRECTORY = new URL("./transcripts/", import.meta.url);

/** The decisions that decided something (not passes), one line each. */
async function decided(name: string): Promise<string[]> {
  const text = await Deno.readTextFile(new URL(name, DIRECTORY));
  const traces: SessionTrace[] = [];
  await runTranscriptInMemory(parseTranscript(text), name, {
    onTrace: (trace) => traces.push(trace),
  });
  return traces.flatMap((trace) => trace.decisions)
    .filter((decision) => decision.verdict !== "pass")
    .map((decision) => {
      const rule = decision.rule === undefined ? "" : ` ${formatRule(decision.rule)}`;
      const reply = decision.reply === undefined ? "" : ` -> ${decision.reply}`;
      return `${decision.phase} ${decision.input}: ${decision.verdict}${rule}${reply}`;
    });
}

const DENIED_SENDER = "553 5.7.1 sorry, your envelope sender has been denied";

const EXPECTED: Record<string, string[]> = {
  "badmailfrom.txt": [
    `mail Spammer@Example.COM: refuse badmailfrom (control/badmailfrom line 1): spammer@example.com -> ${DENIED_SENDER}`,
    `mail anyone@SPAM.example: refuse badmailfrom (control/badmailfrom line 2): @spam.example -> ${DENIED_SENDER}`,
  ],
  "badmailfrom_patterns.txt": [
    `mail BulkMailer@example.org: refuse badmailfrom (control/badmailfrom line 2): .*bulk.* -> ${DENIED_SENDER}`,
    `mail root: refuse badmailfrom (control/badmailfrom line 3): !@ -> ${DENIED_SENDER}`,
    `mail a@host-1.DYN.example: refuse badmailfrom (control/badmailfrom line 4): @*.dyn.example -> ${DENIED_SENDER}`,
    `mail offers-today@shop.example: refuse badmailfrom (control/badmailfrom line 5): offers*@shop.example -> ${DENIED_SENDER}`,
  ],
  "badmailfrom_ext_int.txt": [
    `mail a@inside.example: refuse badmailfrom (control/badmailfromint line 1): @inside.example -> ${DENIED_SENDER}`,
  ],
  "badmailfrom_other_file.txt": [
    `mail root: refuse badmailfrom (control/badmailfrom-strict line 1): !@ -> ${DENIED_SENDER}`,
  ],
  "badmailfrom_switches.txt": [],
  "goodmailfrom.txt": [
    "mail root@stupidhost.local: accept goodmailfrom (control/goodmailfrom line 1): root@stupidhost.local",
    `mail other@stupidhost.local: refuse badmailfrom (control/badmailfrom line 1): @stupidhost.local -> ${DENIED_SENDER}`,
  ],
  "goodmailfrom_off.txt": [
    `mail root@stupidhost.local: refuse badmailfrom (control/badmailfrom line 1): @stupidhost.local -> ${DENIED_SENDER}`,
  ],
  "badhelo.txt": [
    "helo friend: refuse badhelo (control/badhelo line 1): !\\. -> 553 5.7.1 sorry, your helo or ehlo is incorrect",
    "helo a-1.DYN.example: refuse badhelo (control/badhelo line 2): .*\\.dyn\\.example$ -> 553 5.7.1 sorry, your helo or ehlo is incorrect",
  ],
  "badhelo_switches.txt": [
    "helo friend.example: refuse badhelo (control/badheloext line 1): friend.example -> 553 5.7.1 sorry, your helo or ehlo is incorrect",
  ],
  "badhelo_int.txt": [
    "helo Relay.Example: refuse badhelo (control/badheloint line 1): relay.example -> 553 5.7.1 sorry, your helo or ehlo is incorrect",
  ],
  "badrmhost.txt": [
    "mail a@example.org: refuse badrmhost (control/badrmhostext line 1): .*\\.dyn\\.example$ -> 553 5.7.1 sorry, your host has been denied",
  ],
  "badrmhost_switches.txt": [],
  "badmailto.txt": [
    "rcpt b#c@example.net: refuse badmailto (control/badmailto line 1): [!%#:*^(){}] -> 553 5.7.1 sorry, your envelope recipient has been denied",
    "rcpt Postmaster-old@example.net: refuse badmailto (control/badmailto line 3): ^postmaster-.* -> 553 5.7.1 sorry, your envelope recipient has been denied",
  ],
  "badmailto_ext_int.txt": [
    "rcpt b@blocked.example: refuse badmailto (control/badmailtoint line 1): @blocked.example -> 553 5.7.1 sorry, your envelope recipient has been denied",
  ],
  "badrcptto.txt": [
    "rcpt Sales@example.net: refuse badrcptto (control/badrcptto line 1): sales@example.net -> 553 sorry, mail to that recipient is not accepted (#5.7.1)",
    "data a@example.org -> b@example.net: refuse wholemessage: badrcptto: Sales@example.net -> 553 sorry, badrcptto seen, so you MUST be spamming. (#5.1.1)",
  ],
  "badrcptto_trusted.txt": [],
  "badrcptto_switches.txt": [
    "rcpt sales@example.net: refuse badrcptto (control/badrcptto line 1): sales@example.net -> 553 sorry, mail to that recipient is not accepted (#5.7.1)",
  ],
  "badrcptto_off.txt": [],
  "badrcpthost_seen.txt": [
    "data a@example.org -> b@example.net: refuse wholemessage: rcpthosts: x@victim.example -> 553 sorry, badrcpthost seen, so you MUST be spamming. (#5.1.1)",
  ],
  "reqbrackets.txt": [
    "mail a@example.org: refuse reqbrackets (control/reqbrackets): FROM: a@example.org -> 555 5.5.4 syntax error, brackets required",
    "rcpt b@example.net: refuse reqbrackets (control/reqbrackets): TO: b@example.net -> 555 5.5.4 syntax error, brackets required",
  ],
  "reqbrackets_off.txt": [],
  "datechecks.txt": [
    "rcpt qmail-list-20041103@example.net: refuse datechecks (control/datechecks line 1): qmail-list-:7 -> 553 5.1.1 sorry, that address has expired",
  ],
};

for (const [name, expected] of Object.entries(EXPECTED)) {
  Deno.test(`trace of ${name}: each decision with its file, line and entry`, async () => {
    assertEquals(await decided(name), expected);
  });
}

/** A stand-in for realrcptto: no mailbox for nobody@. */
const REALRCPTTO = filterModule({
  check: {
    name: "realrcptto",
    phases: ["rcpt"],
    check: (request: FilterRequest) =>
      request.recipient?.startsWith("nobody@")
        ? refuse("550 sorry, no mailbox here by that name. (#5.1.1)", { check: "realrcptto" })
        : PASS,
  },
  load: () => null,
  settings: () => null,
});

const PROBE = `@ rcpthosts example.net
S: 220 mx.example.net ESMTP
C: MAIL FROM:<a@example.org>
S: 250 2.1.0 ok
C: RCPT TO:<nobody@example.net>
`;

Deno.test("QMAILRRTDENYALL: an unknown recipient gets 250 and the whole message 550 at DATA", async () => {
  const traces: SessionTrace[] = [];
  const run = await runTranscriptInMemory(
    parseTranscript(`@ env QMAILRRTDENYALL=""
${PROBE}S: 250 2.1.5 ok
C: RCPT TO:<b@example.net>
S: 250 2.1.5 ok
C: DATA
S: 550 sorry, no mailbox here by that name. (#5.1.1)
C: RCPT TO:<c@example.net>
S: 550 sorry, no mailbox here by that name. (#5.1.1)
`),
    "denyall",
    { filterModules: [REALRCPTTO, ...FILTER_MODULES], onTrace: (trace) => traces.push(trace) },
  );
  assertEquals(run.queued.length, 0);
  const refusals = traces.flatMap((trace) => trace.decisions).filter((d) => d.verdict === "refuse");
  assertEquals(refusals.map((d) => `${d.phase} ${d.check} ${formatRule(d.rule!)}`), [
    "rcpt realrcptto realrcptto",
    "data wholemessage wholemessage (QMAILRRTDENYALL): realrcptto: nobody@example.net",
  ]);
});

Deno.test("without QMAILRRTDENYALL the unknown recipient is refused at RCPT and DATA goes on", async () => {
  const run = await runTranscriptInMemory(
    parseTranscript(`${PROBE}S: 550 sorry, no mailbox here by that name. (#5.1.1)
C: RCPT TO:<b@example.net>
S: 250 2.1.5 ok
C: DATA
S: 354 go ahead
C: x
C: .
S~ ^250 2\\.6\\.0 ok \\d+ qp \\d+$
`),
    "no-denyall",
    { filterModules: [REALRCPTTO, ...FILTER_MODULES] },
  );
  assert(run.queued.length === 1);
});
