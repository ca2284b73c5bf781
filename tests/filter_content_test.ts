/**
 * The filter chain's verdicts beyond refusals, and the content scans, end to
 * end through the real connection driver with fake checks
 * (tests/filter_fakes.ts): tarpit, blacklist, header lines, scans refusing
 * or failing at the end of DATA, the trace, and a run over a loopback socket
 * with the real queue.
 */
import { assert, assertEquals } from "./assert.ts";
import { parseTranscript } from "./transcript.ts";
import { runTranscriptLive } from "./transcript_run.ts";
import type { SessionTrace, Verdict } from "../appliance/filters/filter.ts";
import { PASS, refuse } from "../appliance/filters/filter.ts";
import { contentModule } from "../appliance/policy/content_modules.ts";
import { REPLY_SCAN_FAILED } from "../appliance/smtp/replies.ts";
import { fakeCheck, fakeScanner, HELLO, play, rule, TO_DATA } from "./filter_fakes.ts";

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
    TO_DATA + `C: Subject: hi
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

Deno.test("a content scan refusing at the end of DATA leaves nothing in the queue", async () => {
  const seen: string[] = [];
  const run = await play(
    "clamd",
    TO_DATA + `C: Subject: virus
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
    TO_DATA + `C: hi
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
    TO_DATA + `C: Message-ID:
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
    TO_DATA + `C: hi
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
      TO_DATA + `C: Message-ID: <v@example.org>
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
      // Only the scan: the real filter table would add its own decisions to the trace.
      filterModules: [],
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
