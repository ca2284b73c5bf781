/**
 * The filter chain wired into SMTP sessions, end to end: transcripts through
 * the real connection driver (tests/transcript_run.ts) with small fake checks
 * (tests/filter_fakes.ts). This file: a refusal at each phase, lookups, the
 * transaction and session scopes (rblsmtpd's conversation).
 * tests/filter_content_test.ts: tarpit, blacklist, header lines, content
 * scans and the trace.
 */
import { assert, assertEquals } from "./assert.ts";
import type { LogRecord } from "../appliance/log.ts";
import type { SessionTrace } from "../appliance/filters/filter.ts";
import { PASS, refuse } from "../appliance/filters/filter.ts";
import { fakeCheck, HELLO, play, rule } from "./filter_fakes.ts";
import { startFakeDns } from "./fakes/fake_dns.ts";
import { Resolver } from "../appliance/dns/resolver.ts";

Deno.test("a refusal at connect replaces the greeting and closes", async () => {
  const run = await play(
    "connect",
    `S: 554 5.7.1 go away
S! closed
`,
    {
      filterModules: [
        fakeCheck("block", ["connect"], () => refuse("554 5.7.1 go away", rule("block"))),
      ],
    },
  );
  assert(run.closed);
});

Deno.test("a refusal at HELO leaves the session without a HELO name", async () => {
  const traces: SessionTrace[] = [];
  await play(
    "helo",
    `S: 220 mx.example.net ESMTP
C: HELO bad.example
S: 550 5.7.1 bad helo
C: HELO good.example
S: 250 mx.example.net
C: QUIT
S: 221 2.0.0 mx.example.net
`,
    {
      filterModules: [
        fakeCheck(
          "badhelo",
          ["helo"],
          (request) =>
            request.helo === "bad.example" ? refuse("550 5.7.1 bad helo", rule("badhelo")) : PASS,
        ),
      ],
      onTrace: (trace) => traces.push(trace),
    },
  );
  assertEquals(traces.length, 1);
  assertEquals(traces[0].helo, "good.example");
  assertEquals(traces[0].decisions.map((d) => [d.phase, d.input, d.verdict]), [
    ["helo", "bad.example", "refuse"],
    ["helo", "good.example", "pass"],
  ]);
});

Deno.test("refusals at MAIL, RCPT and DATA, each logged once with the check's own line", async () => {
  const logs: string[] = [];
  await play(
    "mail-rcpt-data",
    HELLO + `C: MAIL FROM:<bad@example.org>
S: 553 5.1.8 sorry, your envelope sender is in my badmailfrom list
L: bmchecks: badmailfrom bad@example.org
C: RCPT TO:<a@example.net>
S: 503 5.5.1 MAIL first
L~ ^reject: RCPT
C: MAIL FROM:<good@example.org>
S: 250 2.1.0 ok
C: RCPT TO:<nobody@example.net>
S: 550 sorry, no mailbox here by that name. (#5.1.1)
L~ ^reject: RCPT from 192\\.0\\.2\\.1 helo=<client\\.example>: 550 sorry, no mailbox here by that name\\. \\(#5\\.1\\.1\\); from=<good@example\\.org> to=<nobody@example\\.net> \\(by realrcptto \\(control/realrcptto line 1\\): x\\)$
C: RCPT TO:<a@example.net>
S: 250 2.1.5 ok
C: DATA
S: 554 5.7.1 no data today
L~ ^reject: DATA .*\\(by nodata
C: QUIT
S: 221 2.0.0 mx.example.net
`,
    {
      filterModules: [
        fakeCheck(
          "badmailfrom",
          ["mail"],
          (request) =>
            request.sender === "bad@example.org"
              ? refuse(
                "553 5.1.8 sorry, your envelope sender is in my badmailfrom list",
                rule("badmailfrom"),
                { log: "bmchecks: badmailfrom bad@example.org" },
              )
              : PASS,
        ),
        fakeCheck(
          "realrcptto",
          ["rcpt"],
          (request) =>
            request.recipient === "nobody@example.net"
              ? refuse("550 sorry, no mailbox here by that name. (#5.1.1)", rule("realrcptto"))
              : PASS,
        ),
        fakeCheck("nodata", ["data"], () => refuse("554 5.7.1 no data today", rule("nodata"))),
      ],
      onLog: (record) => logs.push(record.text),
    },
  );
  assertEquals(logs.filter((line) => line.includes("bmchecks")).length, 1);
});

Deno.test("a lookup holds the session: pipelined commands wait for the answer", async () => {
  const asked: string[] = [];
  const logs: string[] = [];
  let inFlight = 0;
  let most = 0;
  const run = await play(
    "lookups",
    HELLO +
      `C! "MAIL FROM:<a@example.org>\\r\\nRCPT TO:<listed@example.net>\\r\\nRCPT TO:<b@example.net>\\r\\nRCPT TO:<c@example.net>\\r\\nDATA\\r\\n"
S: 250 2.1.0 ok
S: 451 4.7.1 listed
S: 250 2.1.5 ok
S: 451 4.3.0 could not ask: no runner for program
S: 354 go ahead
C: hello
C: .
S~ ^250 2\\.6\\.0 ok \\d+ qp 4242$
E: Fa@example.org
E: Tb@example.net
`,
    {
      filterModules: [
        fakeCheck(
          "dnsbl",
          ["rcpt"],
          (request) =>
            request.recipient === "c@example.net"
              ? {
                kind: "lookup",
                lookup: { kind: "program", argv: ["x"], env: {}, timeoutSeconds: 5 },
              }
              : { kind: "lookup", lookup: { kind: "dns", name: request.recipient!, type: "A" } },
          (_request, answer) => {
            if (answer.kind === "temporary") {
              return refuse(`451 4.3.0 could not ask: ${answer.reason}`, rule("dnsbl"));
            }
            return answer.kind === "dns" && answer.records.length > 0
              ? refuse("451 4.7.1 listed", rule("dnsbl"))
              : PASS;
          },
        ),
      ],
      lookupRunners: {
        dns: async (lookup) => {
          asked.push(lookup.name);
          most = Math.max(most, ++inFlight);
          await new Promise((resolve) => setTimeout(resolve, 5));
          inFlight--;
          return { kind: "dns", records: lookup.name.startsWith("listed") ? ["127.0.0.2"] : [] };
        },
      },
      onLog: (record) => logs.push(record.text),
    },
  );
  assertEquals(logs.filter((line) => line.includes("lookup:")), [
    "smtpd lookups: program lookup: no runner for program",
  ]);
  assertEquals(asked, ["listed@example.net", "b@example.net"]);
  assertEquals(most, 1);
  assertEquals(run.queued.length, 1);
});

Deno.test("scope transaction: later RCPTs and the DATA get the same refusal; MAIL starts afresh", async () => {
  const run = await play(
    "scope-transaction",
    HELLO + `C: MAIL FROM:<a@example.org>
S: 250 2.1.0 ok
C: RCPT TO:<good@example.net>
S: 250 2.1.5 ok
C: RCPT TO:<sales@example.net>
S: 553 sorry, badrcptto seen, so you MUST be spamming.
C: RCPT TO:<other@example.net>
S: 553 sorry, badrcptto seen, so you MUST be spamming.
C: DATA
S: 553 sorry, badrcptto seen, so you MUST be spamming.
C: MAIL FROM:<a@example.org>
S: 250 2.1.0 ok
C: RCPT TO:<good@example.net>
S: 250 2.1.5 ok
C: DATA
S: 354 go ahead
C: hi
C: .
S~ ^250 2\\.6\\.0 ok \\d+ qp 4242$
`,
    {
      filterModules: [
        fakeCheck(
          "badrcptto",
          ["rcpt"],
          (request) =>
            request.recipient === "sales@example.net"
              ? refuse("553 sorry, badrcptto seen, so you MUST be spamming.", rule("badrcptto"), {
                scope: "transaction",
              })
              : PASS,
        ),
      ],
    },
  );
  assertEquals(run.queued.length, 1);
});

const LISTED = fakeCheck(
  "rbl",
  ["connect"],
  () =>
    refuse("451 listed at rbl.example.org", rule("rbl"), {
      scope: "session",
      log: "rblsmtpd: 192.0.2.1 pid 0: 451 listed at rbl.example.org",
    }),
);

Deno.test("scope session at connect: rblsmtpd's conversation until QUIT", async () => {
  const logs: LogRecord[] = [];
  const run = await play(
    "rblsmtpd",
    `S: 220 rblsmtpd.local
C: EHLO client.example
S: 250 rblsmtpd.local
C: MAIL FROM:<a@example.org>
S: 250 rblsmtpd.local
C: RCPT TO:<b@example.net>
S: 451 listed at rbl.example.org
C: DATA
S: 451 listed at rbl.example.org
C: NOOP
S: 250 rblsmtpd.local
C: QUIT
S: 221 rblsmtpd.local
S! closed
`,
    { filterModules: [LISTED], onLog: (record) => logs.push(record) },
  );
  assert(run.closed);
  assertEquals(run.queued.length, 0);
  assertEquals(
    logs.filter((record) => record.text.includes("rblsmtpd:")).map((record) => record.text),
    ["smtpd rblsmtpd: rblsmtpd: 192.0.2.1 pid 0: 451 listed at rbl.example.org"],
  );
});

Deno.test("RBL_GREET, RBL_ACCEPT and RBL_QUIT give rblsmtpd's texts (seed 000)", async () => {
  await play(
    "rbl-texts",
    `@ env RBL_GREET=have a lot of fun!
@ env RBL_ACCEPT=welcome spammer, I will now eat you :O
@ env RBL_QUIT=cu l8er ...
S: 220 have a lot of fun!
C: HELO x
S: 250 welcome spammer, I will now eat you :O
C: RCPT TO:<b@example.net>
S: 451 listed at rbl.example.org
C: QUIT
S: 221 cu l8er ...
S! closed
`,
    { filterModules: [LISTED] },
  );
});

Deno.test("a session refusal with close at connect says only the refusal (rblsmtpd -t 0)", async () => {
  await play(
    "rbl-close",
    `S: 553 listed
S! closed
`,
    {
      filterModules: [
        fakeCheck(
          "rbl",
          ["connect"],
          () => refuse("553 listed", rule("rbl"), { scope: "session", close: true }),
        ),
      ],
    },
  );
});

Deno.test("a DNSBL-style check through the real resolver: listed, not listed, SERVFAIL", async () => {
  const fake = await startFakeDns({
    "1.2.0.192.zen.example": { a: ["127.0.0.2"] },
    "2.2.0.192.zen.example": { servfail: true },
  });
  const dnsbl = fakeCheck(
    "rbl",
    ["connect"],
    (request) => ({
      kind: "lookup",
      lookup: {
        kind: "dns",
        name: `${request.remoteIp.split(".").reverse().join(".")}.zen.example`,
        type: "A",
      },
    }),
    // rblsmtpd: a temporary failure lets the client in (no -C).
    (_request, answer) =>
      answer.kind === "dns" && answer.records.length > 0
        ? refuse("451 listed at zen.example", rule("rbl"), { scope: "session" })
        : PASS,
  );
  const hooks = {
    filterModules: [dnsbl],
    lookups: {
      resolver: new Resolver({
        nameServers: [{ ipAddr: "127.0.0.1", port: fake.port }],
        timeoutSeconds: 0.3,
        attempts: 1,
      }),
    },
  };
  try {
    await play("dnsbl-listed", "@ remote 192.0.2.1\nS: 220 rblsmtpd.local\n", hooks);
    await play("dnsbl-clean", "@ remote 192.0.2.3\nS: 220 mx.example.net ESMTP\n", hooks);
    await play("dnsbl-servfail", "@ remote 192.0.2.2\nS: 220 mx.example.net ESMTP\n", hooks);
  } finally {
    await fake.close();
  }
});
