/**
 * The filter chain wired into SMTP sessions, end to end: transcripts through
 * the real connection driver (tests/transcript_run.ts) with small fake checks
 * registered as modules, the way appliance/policy/ registers the real ones.
 * Each fake check is told what to answer; the transcripts show what the
 * client sees, and the runs' queue, log records and trace show the rest.
 */
import { assert, assertEquals } from "./assert.ts";
import { parseTranscript } from "./transcript.ts";
import {
  runTranscriptInMemory,
  runTranscriptLive,
  type TranscriptFilterHooks,
} from "./transcript_run.ts";
import type {
  ContentScan,
  FilterPhase,
  FilterRequest,
  LookupAnswer,
  SessionTrace,
  Verdict,
} from "../appliance/filters/filter.ts";
import { PASS, refuse } from "../appliance/filters/filter.ts";
import { type FilterModule, filterModule } from "../appliance/policy/filter_modules.ts";
import { type ContentModule, contentModule } from "../appliance/policy/content_modules.ts";
import type { LogRecord } from "../appliance/log.ts";
import { REPLY_SCAN_FAILED } from "../appliance/smtp/replies.ts";

/** A check that answers `decide` in its phases, and `resume` with a lookup's answer. */
function fakeCheck(
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

const rule = (check: string) => ({ check, source: `control/${check}`, line: 1, entry: "x" });

async function play(name: string, text: string, hooks: TranscriptFilterHooks = {}) {
  return await runTranscriptInMemory(parseTranscript(text), name, hooks);
}

const HELLO = `@ rcpthosts example.net
S: 220 mx.example.net ESMTP
C: HELO client.example
S: 250 mx.example.net
`;

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

Deno.test("tarpit: the reply is paused and a TARPIT: line logged", async () => {
  const logs: string[] = [];
  await play(
    "tarpit",
    `@ control log/tarpitting 1
` + HELLO + `C: MAIL FROM:<a@example.org>
P: 7
S: 250 2.1.0 ok
`,
    {
      filterModules: [
        fakeCheck(
          "mfcheck",
          ["mail"],
          () => ({ kind: "tarpit", seconds: 7, rule: rule("mfcheck") }),
        ),
      ],
      onLog: (record) => logs.push(record.text),
    },
  );
  assertEquals(logs.filter((line) => line.includes("TARPIT:")), [
    "smtpd tarpit: TARPIT: <a@example.org> | helo(client.example) | mfcheck (control/mfcheck line 1): x",
  ]);
});

Deno.test("blacklist: from the next command every message goes to the check's address", async () => {
  const run = await play(
    "blacklist",
    HELLO + `C: MAIL FROM:<spammer@example.org>
S: 250 2.1.0 welcome spammer :)
C: RCPT TO:<b@example.net>
S: 250 2.1.5 I feed spamassassin now!
C: DATA
S: 354 go ahead
C: spam
C: .
S~ ^250 2\\.6\\.0 ok \\d+ qp 4242$
E: Fspammer@example.org
E: Tspamtrap@example.net
`,
    {
      filterModules: [
        fakeCheck("rbl", ["connect"], () => ({
          kind: "blacklist",
          rule: rule("rbl"),
          recipient: "spamtrap@example.net",
        })),
      ],
    },
  );
  assertEquals(run.queued.length, 1);
});

Deno.test("header lines of passing checks go above qmail-smtpd's Received line", async () => {
  const run = await play(
    "headers",
    HELLO + `C: MAIL FROM:<a@example.org>
S: 250 2.1.0 ok
C: RCPT TO:<b@example.net>
S: 250 2.1.5 ok
C: DATA
S: 354 go ahead
C: Subject: hi
C:
C: body
C: .
S~ ^250 2\\.6\\.0 ok \\d+ qp 4242$
`,
    {
      filterModules: [
        fakeCheck(
          "spf",
          ["mail"],
          () => ({ kind: "pass", headers: ["Received-SPF: pass (fake)"] }),
        ),
        fakeCheck("mark", ["connect", "rcpt"], (request) => ({
          kind: "pass",
          headers: [`X-Mark: ${request.phase}`],
        })),
      ],
    },
  );
  const message = run.queued[0];
  const text = message.received + new TextDecoder().decode(message.body);
  assert(
    text.startsWith("X-Mark: connect\nReceived-SPF: pass (fake)\nX-Mark: rcpt\nReceived: from "),
    text,
  );
  assert(text.endsWith("\nSubject: hi\n\nbody\n"), text);
});

/** A content check whose scans keep what they are given and answer `verdict` (or throw). */
function fakeScanner(name: string, verdict: Verdict | "throw", seen: string[]): ContentModule {
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

Deno.test("a content scan refusing at the end of DATA leaves nothing in the queue", async () => {
  const seen: string[] = [];
  const run = await play(
    "clamd",
    HELLO + `C: MAIL FROM:<a@example.org>
S: 250 2.1.0 ok
C: RCPT TO:<b@example.net>
S: 250 2.1.5 ok
C: DATA
S: 354 go ahead
C: Subject: virus
C:
C: X5O!P%@AP
C: .
S: 554 5.7.7 your email contains the virus "Eicar-Test-Signature"!
L: CLAMD: virus "Eicar-Test-Signature" was found!
C: RCPT TO:<b@example.net>
S: 503 5.5.1 MAIL first
L~ ^reject: RCPT
`,
    {
      contentModules: [
        fakeScanner("clamd", {
          kind: "refuse",
          reply: ['554 5.7.7 your email contains the virus "Eicar-Test-Signature"!'],
          rule: { check: "clamd", entry: "Eicar-Test-Signature" },
          log: 'CLAMD: virus "Eicar-Test-Signature" was found!',
        }, seen),
      ],
    },
  );
  assertEquals(run.queued.length, 0);
  assertEquals(run.aborted, 1);
  // The scan saw the client's message only, as it streamed (no Received line).
  assertEquals(seen, ["Subject: virus\n\nX5O!P%@AP\n"]);
});

Deno.test("a content scan that throws is a temporary failure (451)", async () => {
  const run = await play(
    "scan-throws",
    HELLO + `C: MAIL FROM:<a@example.org>
S: 250 2.1.0 ok
C: RCPT TO:<b@example.net>
S: 250 2.1.5 ok
C: DATA
S: 354 go ahead
C: hi
C: .
S: ${REPLY_SCAN_FAILED}
`,
    { contentModules: [fakeScanner("clamd", "throw", [])] },
  );
  assertEquals(run.queued.length, 0);
});

Deno.test("the trace gets every decision, the queue id and the Message-ID", async () => {
  const traces: SessionTrace[] = [];
  await play(
    "trace",
    HELLO + `C: MAIL FROM:<a@example.org>
S: 250 2.1.0 ok
C: RCPT TO:<b@example.net>
S: 250 2.1.5 ok
C: DATA
S: 354 go ahead
C: Message-ID:
C:  <1@example.org>
C:
C: hi
C: .
S~ ^250 2\\.6\\.0 ok \\d+ qp 4242$
C: QUIT
S: 221 2.0.0 mx.example.net
`,
    {
      filterModules: [
        fakeCheck("watch", ["connect", "helo", "mail", "rcpt", "data", "end"], () => PASS),
      ],
      contentModules: [fakeScanner("sig", PASS, [])],
      onTrace: (trace) => traces.push(trace),
    },
  );
  assertEquals(traces.length, 1);
  const trace = traces[0];
  assertEquals(trace.sessionId, "trace");
  assertEquals(trace.remoteIp, "192.0.2.1");
  assertEquals(trace.decisions.map((d) => `${d.phase} ${d.check} ${d.verdict}`), [
    "connect watch pass",
    "helo watch pass",
    "mail watch pass",
    "rcpt watch pass",
    "data watch pass",
    "end sig pass",
    "end watch pass",
  ]);
  assertEquals(trace.messages, [{
    queueId: "1",
    messageId: "<1@example.org>",
    sender: "a@example.org",
    recipients: ["b@example.net"],
  }]);
});

Deno.test("a refusal by an end-of-DATA check drops the message; a lookup there holds the reply", async () => {
  const run = await play(
    "end",
    HELLO + `C: MAIL FROM:<a@example.org>
S: 250 2.1.0 ok
C: RCPT TO:<b@example.net>
S: 250 2.1.5 ok
C: DATA
S: 354 go ahead
C: hi
C: .
S: 554 5.7.1 not this one
L~ ^reject: END-OF-MESSAGE from 192\\.0\\.2\\.1 .* \\(by late\\)$
C: MAIL FROM:<a@example.org>
S: 250 2.1.0 ok
`,
    {
      filterModules: [
        fakeCheck(
          "late",
          ["end"],
          () => ({ kind: "lookup", lookup: { kind: "dns", name: "late.example", type: "TXT" } }),
          () => refuse("554 5.7.1 not this one", { check: "late" }),
        ),
      ],
      lookupRunners: { dns: () => Promise.resolve({ kind: "dns", records: [] }) },
    },
  );
  assertEquals(run.queued.length, 0);
  assertEquals(run.aborted, 1);
});

/** Files under the queue's message, intd, todo and pid directories. */
function queueFiles(root: string): string[] {
  const files: string[] = [];
  const walk = (path: string) => {
    for (const entry of Deno.readDirSync(path)) {
      if (entry.isDirectory) walk(`${path}/${entry.name}`);
      else files.push(`${path}/${entry.name}`.slice(root.length + 1));
    }
  };
  for (const name of ["mess", "intd", "todo", "pid"]) walk(`${root}/${name}`);
  return files;
}

Deno.test("over a socket with the real queue: a scan's refusal leaves no file; the trace has the queue id", async () => {
  const traces: SessionTrace[] = [];
  let files: string[] = ["not looked at"];
  await runTranscriptLive(
    parseTranscript(
      HELLO + `C: MAIL FROM:<a@example.org>
S: 250 2.1.0 ok
C: RCPT TO:<b@example.net>
S: 250 2.1.5 ok
C: DATA
S: 354 go ahead
C: Message-ID: <v@example.org>
C:
C: virus
C: .
S: 554 5.7.7 your email contains the virus "Eicar-Test-Signature"!
C: MAIL FROM:<a@example.org>
S: 250 2.1.0 ok
C: RCPT TO:<b@example.net>
S: 250 2.1.5 ok
C: DATA
S: 354 go ahead
C: Message-ID: <ok@example.org>
C:
C: fine
C: .
S~ ^250 2\\.6\\.0 ok \\d+ qp \\d+$
C: QUIT
S~ ^221
`,
    ),
    "live-filters",
    {
      contentModules: [contentModule({
        name: "clamd",
        load: () => null,
        begin: () => {
          let text = "";
          return {
            write: (chunk: Uint8Array) => {
              text += new TextDecoder().decode(chunk);
              return Promise.resolve();
            },
            finish: (): Promise<Verdict> =>
              Promise.resolve(
                text.includes("virus")
                  ? {
                    kind: "refuse",
                    reply: ['554 5.7.7 your email contains the virus "Eicar-Test-Signature"!'],
                    rule: { check: "clamd" },
                  }
                  : PASS,
              ),
            abort: () => Promise.resolve(),
          };
        },
      })],
      onTrace: (trace) => traces.push(trace),
      onQueue: (root) => files = queueFiles(root),
    },
  );
  // One message queued (mess, intd and todo until send takes it), none for the refused one.
  assertEquals(files.filter((file) => file.startsWith("mess/")).length, 1, files.join(" "));
  const queueId = files.find((file) => file.startsWith("mess/"))!.split("/").at(-1)!;
  assertEquals(files.filter((file) => !file.endsWith(`/${queueId}`)), []);
  assertEquals(traces.length, 1);
  assertEquals(traces[0].messages.map((message) => [message.queueId, message.messageId]), [
    [queueId, "<ok@example.org>"],
  ]);
  assertEquals(traces[0].decisions.map((d) => `${d.phase} ${d.check} ${d.verdict}`), [
    "end clamd refuse",
    "end clamd pass",
  ]);
});
