/**
 * The recipient checks (issue 13) through the real SMTP session and
 * connection driver (tests/transcript_run.ts), with the real modules
 * (appliance/policy/recipient_modules.ts) and the real lookup runners:
 * realrcptto and recipientchk 1 ask local delivery's own code about a home
 * with assign users, the alias user and a virtual mailbox; rcptcheck runs
 * real programs (tests/fixtures/rcptcheck/); greylisting keeps its triplets
 * in that home's accounts database. Each check, each environment switch,
 * every rcptcheck exit code, the missing, hanging and crashing programs, and
 * the decision trace of each.
 */
import { assert, assertEquals } from "./assert.ts";
import { parseTranscript } from "./transcript.ts";
import { runTranscriptInMemory, type TranscriptFilterHooks } from "./transcript_run.ts";
import type { Decision, SessionTrace } from "../appliance/filters/filter.ts";
import { LOOKUP_RUNNERS, type LookupRunners } from "../appliance/net/filter_lookups.ts";
import { runGreylistLookup, runRecipientLookup } from "../appliance/net/role_lookups.ts";
import {
  GREYLIST_MODULE,
  RCPTCHECK_MODULE,
  REALRCPTTO_MODULE,
  RECIPIENTS_MODULE,
} from "../appliance/policy/recipient_modules.ts";
import { AccountStore } from "../appliance/accounts/store.ts";
import { buildCdb } from "../config/cdb.ts";
import { compileRecipients } from "../config/recipient_checks.ts";
import { rcptCheckReply } from "../appliance/filters/rcptcheck.ts";

const FIXTURES = new URL("./fixtures/rcptcheck/", import.meta.url).pathname;
const MODULES = [REALRCPTTO_MODULE, RECIPIENTS_MODULE, RCPTCHECK_MODULE, GREYLIST_MODULE];

/**
 * The home local delivery and greylisting answer from: the alias user takes
 * postmaster, joe is in users/assign, bob@virtual.example is a virtual
 * mailbox.
 */
async function deliveryHome(): Promise<string> {
  const home = await Deno.makeTempDir({ prefix: "qmd-rcpt-home-" });
  await Deno.chmod(home, 0o755);
  await Deno.mkdir(`${home}/alias`, { mode: 0o755 });
  await Deno.chmod(`${home}/alias`, 0o755);
  await Deno.writeTextFile(`${home}/alias/.qmail-postmaster`, "./Maildir/\n");
  await Deno.mkdir(`${home}/joe`, { mode: 0o755 });
  await Deno.chmod(`${home}/joe`, 0o755);
  await Deno.mkdir(`${home}/users`);
  await Deno.writeTextFile(`${home}/users/assign`, `=joe:joe:1:1:${home}/joe:::\n.\n`);
  const store = AccountStore.open(home);
  try {
    store.addDomain("virtual.example");
    store.addMailbox("bob@virtual.example", "pw");
  } finally {
    store.close();
  }
  return home;
}

const HOME = await deliveryHome();
globalThis.addEventListener("unload", () => Deno.removeSync(HOME, { recursive: true }));

/** The real runners, answering recipient and greylist lookups from HOME. */
const RUNNERS: LookupRunners = {
  ...LOOKUP_RUNNERS,
  recipient: (lookup, context) => runRecipientLookup(lookup, { ...context, home: HOME }),
  greylist: (lookup, context) => runGreylistLookup(lookup, { ...context, home: HOME }),
};

/** The setup every transcript here starts with: mx.example.net and virtual.example are ours. */
const SETUP = `@ control me mx.example.net
@ control locals mx.example.net
@ control virtualdomains virtual.example:virtual.example
@ rcpthosts mx.example.net virtual.example
`;

const HELLO = `S: 220 mx.example.net ESMTP
C: HELO client.example
S: 250 mx.example.net
C: MAIL FROM:<a@sender.example>
S: 250 2.1.0 ok
`;

/** Plays a transcript with the recipient modules; returns its trace's decisions. */
async function play(
  name: string,
  text: string,
  hooks: TranscriptFilterHooks = {},
): Promise<Decision[]> {
  const traces: SessionTrace[] = [];
  await runTranscriptInMemory(parseTranscript(text), name, {
    filterModules: MODULES,
    lookupRunners: RUNNERS,
    onTrace: (trace) => traces.push(trace),
    ...hooks,
  });
  assertEquals(traces.length, 1, "one trace per session");
  return traces[0].decisions;
}

/** The trace as [check, input, verdict] rows (the lookups' inputs name what was asked). */
const rows = (decisions: Decision[]) => decisions.map((d) => [d.check, d.input, d.verdict]);

// realrcptto ---------------------------------------------------------------------

Deno.test("realrcptto: unknown local and virtual users get 550 at RCPT; real ones are taken", async () => {
  const decisions = await play(
    "realrcptto",
    SETUP + HELLO + `C: RCPT TO:<nobody@virtual.example>
S: 550 sorry, no mailbox here by that name. (#5.1.1)
C: RCPT TO:<Bob@Virtual.Example>
S: 250 2.1.5 ok
C: RCPT TO:<nobody@mx.example.net>
S: 550 sorry, no mailbox here by that name. (#5.1.1)
C: RCPT TO:<joe@mx.example.net>
S: 250 2.1.5 ok
C: RCPT TO:<postmaster@mx.example.net>
S: 250 2.1.5 ok
C: DATA
S: 354 go ahead
C: hi
C: .
S~ ^250 2\\.6\\.0 ok \\d+ qp \\d+$
E: Fa@sender.example
E: TBob@Virtual.Example
E: Tjoe@mx.example.net
E: Tpostmaster@mx.example.net
C: QUIT
S: 221 2.0.0 mx.example.net
S! closed
`,
  );
  const realrcptto = decisions.filter((d) => d.check === "realrcptto");
  assertEquals(rows(realrcptto).slice(0, 4), [
    ["realrcptto", "nobody@virtual.example (virtual.example-nobody@virtual.example)", "lookup"],
    ["realrcptto", "nobody@virtual.example", "refuse"],
    ["realrcptto", "Bob@Virtual.Example (virtual.example-Bob@Virtual.Example)", "lookup"],
    ["realrcptto", "Bob@Virtual.Example", "pass"],
  ]);
  assertEquals(realrcptto[1].rule, { check: "realrcptto", entry: "nobody@virtual.example" });
  assertEquals(realrcptto[1].reply, "550 sorry, no mailbox here by that name. (#5.1.1)");
});

Deno.test("realrcptto: relayed recipients are not asked about; control/realrcptto 0 and NOREALRCPTTO turn it off", async () => {
  const relayed = await play(
    "realrcptto-relay",
    SETUP + `@ relayclient ""
` + HELLO + `C: RCPT TO:<someone@elsewhere.example>
S: 250 2.1.5 ok
`,
  );
  assertEquals(rows(relayed.filter((d) => d.phase === "rcpt")), [
    ["realrcptto", "someone@elsewhere.example", "pass"],
  ]);
  for (const switchOff of ["@ control realrcptto 0\n", "@ env NOREALRCPTTO=\n"]) {
    const off = await play(
      "realrcptto-off",
      SETUP + switchOff + HELLO + `C: RCPT TO:<nobody@virtual.example>
S: 250 2.1.5 ok
`,
    );
    assertEquals(off.filter((d) => d.phase === "rcpt"), [], switchOff);
  }
});

Deno.test("realrcptto: no answer from local delivery is 451, never an accept", async () => {
  const decisions = await play(
    "realrcptto-temporary",
    SETUP + HELLO + `C: RCPT TO:<nobody@virtual.example>
S: 451 unable to verify recipient (#4.3.0)
`,
    {
      lookupRunners: {
        ...RUNNERS,
        recipient: () => Promise.resolve({ kind: "temporary", reason: "local restarted" }),
      },
    },
  );
  assertEquals(decisions.at(-1)?.rule?.entry, "nobody@virtual.example: local restarted");
});

// recipients / recipientchk --------------------------------------------------------

/** A cdb as `qmd recipients` writes it, at an absolute path control/recipients can name. */
const RECIPIENTS_CDB = await (async () => {
  const path = `${HOME}/users/recipients.cdb`;
  await Deno.writeFile(
    path,
    buildCdb(compileRecipients("joe@mx.example.net\n!@virtual.example\nlist-@mx.example.net\n")),
  );
  return path;
})();

const RECIPIENTS = SETUP + `@ control realrcptto 0
@ control recipients ${RECIPIENTS_CDB}
@ control recipientchkdelay 3
`;

Deno.test("recipients: listed addresses, extensions and whole domains pass; others 553 after recipientchkdelay", async () => {
  const decisions = await play(
    "recipients",
    RECIPIENTS + HELLO + `C: RCPT TO:<JOE@mx.example.net>
S: 250 2.1.5 ok
C: RCPT TO:<list-bounce-7@mx.example.net>
S: 250 2.1.5 ok
C: RCPT TO:<anyone@virtual.example>
S: 250 2.1.5 ok
C: RCPT TO:<jane@mx.example.net>
P: 3
S: 553 sorry, no mailbox here by that name. (#5.1.1)
`,
  );
  const refused = decisions.find((d) => d.verdict === "refuse");
  assertEquals(refused?.rule, {
    check: "recipients",
    source: "control/recipients",
    entry: "jane@mx.example.net",
  });
});

Deno.test("recipients: RECIPIENTCHK and RECIPIENTCHKDELAY switch it per client; relaying clients pass", async () => {
  await play(
    "recipients-env-delay",
    RECIPIENTS + `@ env RECIPIENTCHKDELAY=1
` + HELLO + `C: RCPT TO:<jane@mx.example.net>
P: 1
S: 553 sorry, no mailbox here by that name. (#5.1.1)
`,
  );
  await play(
    "recipients-env-off",
    RECIPIENTS + `@ env RECIPIENTCHK=0
` + HELLO + `C: RCPT TO:<jane@mx.example.net>
S: 250 2.1.5 ok
`,
  );
  await play(
    "recipients-relay",
    RECIPIENTS + `@ relayclient ""
` + HELLO + `C: RCPT TO:<jane@mx.example.net>
S: 250 2.1.5 ok
`,
  );
  // Mode 1 asks local delivery, as realrcptto does, but answers with its own 553.
  const mode1 = await play(
    "recipients-mode1",
    RECIPIENTS + `@ env RECIPIENTCHK=1
@ env RECIPIENTCHKDELAY=0
` + HELLO + `C: RCPT TO:<joe@mx.example.net>
S: 250 2.1.5 ok
C: RCPT TO:<jane@mx.example.net>
S: 553 sorry, no mailbox here by that name. (#5.1.1)
`,
  );
  assertEquals(rows(mode1.filter((d) => d.check === "recipients")), [
    ["recipients", "joe@mx.example.net (joe@mx.example.net)", "lookup"],
    ["recipients", "joe@mx.example.net", "pass"],
    ["recipients", "jane@mx.example.net (jane@mx.example.net)", "lookup"],
    ["recipients", "jane@mx.example.net", "refuse"],
  ]);
  assertEquals(mode1.at(-1)?.rule?.source, "RECIPIENTCHK");
});

// rcptcheck ------------------------------------------------------------------------

const RCPTCHECK = SETUP + `@ control realrcptto 0
@ control rcptcheck ${FIXTURES}exit_code.sh
@ env WANT_SENDER=a@sender.example
`;

/** Every exit code either seed names, and some neither does. */
const EXIT_CODES = [0, 1, 2, 3, 11, 12, 13, 14, 15, 16, 17, 18, 21, 22, 100, 111, 112, 120, 5, 99];

Deno.test("rcptcheck: every exit code of seeds 000 and 001 gets its reply; 421s close", async () => {
  for (const code of EXIT_CODES) {
    const reply = rcptCheckReply(code);
    const expected = reply === undefined
      ? "S: 250 2.1.5 ok\n"
      : `S: ${reply.reply}\n${reply.close ? "S! closed\n" : ""}`;
    const decisions = await play(
      `rcptcheck-${code}`,
      RCPTCHECK + HELLO + `C: RCPT TO:<${code}@mx.example.net>\n` + expected,
    );
    const last = decisions.at(-1)!;
    assertEquals(last.check, "rcptcheck", `exit ${code}`);
    assertEquals(last.verdict, reply === undefined ? "pass" : "refuse", `exit ${code}`);
    if (reply !== undefined) {
      assertEquals(last.rule, {
        check: "rcptcheck",
        source: "control/rcptcheck",
        entry: `${FIXTURES}exit_code.sh exit ${code}`,
      });
    }
  }
});

Deno.test("rcptcheck: the program sees SENDER and RECIPIENT", async () => {
  // With another sender than it wants, the fixture exits 100; the clean environment is
  // net/program_lookup_test.ts's.
  await play(
    "rcptcheck-sender",
    RCPTCHECK.replace("WANT_SENDER=a@sender.example", "WANT_SENDER=other@sender.example") +
      HELLO + `C: RCPT TO:<0@mx.example.net>
S: 553 sorry, no mailbox here by that name. (#5.1.1)
`,
  );
});

Deno.test("rcptcheck: RCPTCHECK overrides control/rcptcheck; set empty it turns it off", async () => {
  const decisions = await play(
    "rcptcheck-env",
    RCPTCHECK + `@ env RCPTCHECK=${FIXTURES}crash.sh
` + HELLO + `C: RCPT TO:<0@mx.example.net>
S: 421 unable to execute recipient check (#4.3.0)
S! closed
`,
  );
  assertEquals(decisions.at(-1)?.rule?.source, "RCPTCHECK");
  const off = await play(
    "rcptcheck-off",
    RCPTCHECK + `@ env RCPTCHECK=""
` + HELLO + `C: RCPT TO:<1@mx.example.net>
S: 250 2.1.5 ok
`,
  );
  assertEquals(off.filter((d) => d.phase === "rcpt"), []);
});

Deno.test("rcptcheck: a missing, hanging or crashing program is a temporary failure, never an accept", async () => {
  for (
    const [program, why] of [
      ["/nonexistent/rcptcheck", "cannot run"],
      [`${FIXTURES}hang.sh`, "1 s"],
      [`${FIXTURES}crash.sh`, "died of SIGSEGV"],
    ]
  ) {
    const decisions = await play(
      "rcptcheck-broken",
      SETUP + `@ control realrcptto 0
@ control rcptcheck ${program}
@ control timeoutrcptcheck 1
` + HELLO + `C: RCPT TO:<0@mx.example.net>
S: 421 unable to execute recipient check (#4.3.0)
S! closed
`,
    );
    const entry = decisions.at(-1)?.rule?.entry ?? "";
    assert(entry.startsWith(`${program} not run: `) && entry.includes(why), entry);
  }
});

// greylisting -------------------------------------------------------------------------

const GREYLIST = SETUP + `@ control realrcptto 0
@ control greylist 1
@ control greylistdelay 300
@ remote 198.51.100.7
`;

const GREYLISTED = "451 4.7.1 greylisted, please try again later";

Deno.test("greylist: the first try is 451, a retry after greylistdelay passes and stays passed", async () => {
  const first = await play(
    "greylist-first",
    GREYLIST + `@ now 2024-03-05T07:00:00Z
` + HELLO + `C: RCPT TO:<joe@mx.example.net>
S: ${GREYLISTED}
`,
  );
  assertEquals(rows(first.filter((d) => d.check === "greylist")), [
    [
      "greylist",
      "joe@mx.example.net (198.51.100.0/24 a@sender.example joe@mx.example.net)",
      "lookup",
    ],
    ["greylist", "joe@mx.example.net", "refuse"],
  ]);
  assertEquals(
    first.at(-1)?.rule?.entry,
    "198.51.100.0/24 a@sender.example joe@mx.example.net (retry in 300 s)",
  );
  // Too early, from another address of the same /24: still greylisted.
  await play(
    "greylist-early",
    GREYLIST.replace("198.51.100.7", "198.51.100.9") + `@ now 2024-03-05T07:02:00Z
` + HELLO + `C: RCPT TO:<joe@mx.example.net>
S: ${GREYLISTED}
`,
  );
  await play(
    "greylist-retry",
    GREYLIST + `@ now 2024-03-05T07:05:00Z
` + HELLO + `C: RCPT TO:<joe@mx.example.net>
S: 250 2.1.5 ok
`,
  );
  await play(
    "greylist-later",
    GREYLIST + `@ now 2024-03-06T07:00:00Z
` + HELLO + `C: RCPT TO:<joe@mx.example.net>
S: 250 2.1.5 ok
`,
  );
  // Another recipient is another triplet.
  await play(
    "greylist-other",
    GREYLIST + `@ now 2024-03-06T07:00:00Z
` + HELLO + `C: RCPT TO:<postmaster@mx.example.net>
S: ${GREYLISTED}
`,
  );
});

Deno.test("greylist: RELAYCLIENT, AUTH and NOGREYLIST clients pass without a lookup", async () => {
  const relay = await play(
    "greylist-relay",
    GREYLIST + `@ relayclient ""
@ now 2024-04-01T00:00:00Z
` + HELLO + `C: RCPT TO:<relay-test@mx.example.net>
S: 250 2.1.5 ok
`,
  );
  assertEquals(rows(relay.filter((d) => d.check === "greylist")), [
    ["greylist", "relay-test@mx.example.net", "pass"],
  ]);
  const auth = await play(
    "greylist-auth",
    GREYLIST + `@ control auth/smtp 2
@ user tim@example.net tanstaaftanstaaf
@ now 2024-04-01T00:00:00Z
S: 220 mx.example.net ESMTP
C: EHLO client.example
S: 250-mx.example.net
S: 250-AUTH PLAIN
S: 250-ENHANCEDSTATUSCODES
S: 250-PIPELINING
S: 250-SIZE
S: 250-8BITMIME
S: 250 SMTPUTF8
C: AUTH PLAIN AHRpbUBleGFtcGxlLm5ldAB0YW5zdGFhZnRhbnN0YWFm
S: 235 2.7.0 ok, go ahead
C: MAIL FROM:<tim@example.net>
S: 250 2.1.0 ok
C: RCPT TO:<auth-test@mx.example.net>
S: 250 2.1.5 ok
`,
  );
  assertEquals(rows(auth.filter((d) => d.check === "greylist")), [
    ["greylist", "auth-test@mx.example.net", "pass"],
  ]);
  const off = await play(
    "greylist-off",
    GREYLIST + `@ env NOGREYLIST=
@ now 2024-04-01T00:00:00Z
` + HELLO + `C: RCPT TO:<nogrey-test@mx.example.net>
S: 250 2.1.5 ok
`,
  );
  assertEquals(off.filter((d) => d.check === "greylist"), []);
});

Deno.test("greylist: no answer from the store is 451, never an accept", async () => {
  await play(
    "greylist-down",
    GREYLIST + HELLO + `C: RCPT TO:<joe@mx.example.net>
S: 451 4.3.0 greylisting unavailable, try again later
`,
    {
      lookupRunners: {
        ...RUNNERS,
        greylist: () => Promise.resolve({ kind: "temporary", reason: "auth restarted" }),
      },
    },
  );
});
