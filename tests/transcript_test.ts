/**
 * Runs every transcript in tests/transcripts/ through the real SMTP
 * connection driver over an in-memory connection, and checks the transcript
 * parser and the runner themselves.
 */
import { assert, assertEquals, assertRejects, assertThrows } from "./assert.ts";
import {
  parseTranscript,
  parseTranscriptSetup,
  TranscriptError,
  transcriptRunsOnlyInMemory,
} from "./transcript.ts";
import { runTranscriptInMemory } from "./transcript_run.ts";

const DIRECTORY = new URL("./transcripts/", import.meta.url);

const files = [...Deno.readDirSync(DIRECTORY)]
  .filter((entry) => entry.isFile && entry.name.endsWith(".txt"))
  .map((entry) => entry.name)
  .sort();

for (const name of files) {
  Deno.test(`transcript ${name} through the connection driver in memory`, async () => {
    const events = parseTranscript(Deno.readTextFileSync(new URL(name, DIRECTORY)));
    try {
      await runTranscriptInMemory(events, name);
    } catch (error) {
      if (error instanceof TranscriptError) throw new Error(`${name} ${error.message}`);
      throw error;
    }
  });
}

Deno.test("there are transcripts to run", () => {
  assert(files.length >= 20, `only ${files.length} transcripts`);
});

Deno.test("parseTranscript reads every event kind", () => {
  const events = parseTranscript([
    "# a comment",
    "",
    "@ rcpthosts example.net .example.org",
    '@ relayclient ""',
    "S: 220 mx.example.net ESMTP",
    "S~ ^250 2\\.6\\.0 ok \\d+ qp \\d+$",
    "C: MAIL FROM:<a@example.org>",
    'C! "x\\u0000\\u00ff\\r\\n"',
    "S! closed",
    "Q: line",
    'Q! "raw"',
    "E: Fa@example.org",
    "R: Received: from unknown (192.0.2.1)",
    "R~ ^  by ",
  ].join("\n"));
  assertEquals(events.map((event) => event.kind), [
    "setup",
    "setup",
    "server",
    "server-match",
    "client",
    "client",
    "closed",
    "body-line",
    "body",
    "envelope",
    "received",
    "received-match",
  ]);
  const client = events[4];
  assert(client.kind === "client");
  assertEquals(new TextDecoder().decode(client.bytes), "MAIL FROM:<a@example.org>\r\n");
  const raw = events[5];
  assert(raw.kind === "client");
  assertEquals([...raw.bytes], [0x78, 0, 0xff, 0x0d, 0x0a]);
  const setup = parseTranscriptSetup(events);
  assertEquals(setup.controls.rcpthosts, ["example.net", ".example.org"]);
  assertEquals(setup.env.RELAYCLIENT, "");
  assertEquals(transcriptRunsOnlyInMemory(events), false);
});

Deno.test("parseTranscript keeps trailing spaces of a client line", () => {
  const [event] = parseTranscript("C: NOOP  ");
  assert(event.kind === "client");
  assertEquals(new TextDecoder().decode(event.bytes), "NOOP  \r\n");
});

Deno.test("parseTranscript refuses what it does not know", () => {
  assertThrows(() => parseTranscript("X: what"), TranscriptError);
  assertThrows(() => parseTranscript("@ colour blue"), TranscriptError);
  assertThrows(() => parseTranscript("S: 220 x\n@ databytes 5"), TranscriptError);
  assertThrows(() => parseTranscript('C! "\\u0100"'), TranscriptError);
  assertThrows(() => parseTranscript("C! not json"), TranscriptError);
  assertThrows(() => parseTranscript("S! open"), TranscriptError);
  assertThrows(() => parseTranscript("S~ ("), TranscriptError);
  const error = assertThrows(() => parseTranscript("# ok\nZ: bad"), TranscriptError);
  assertEquals(error.line, 2);
});

Deno.test("in-memory-only setup is flagged for live runners", () => {
  assert(transcriptRunsOnlyInMemory(parseTranscript("@ remote 192.0.2.9 host.example")));
  assert(transcriptRunsOnlyInMemory(parseTranscript("@ now 2024-12-25T23:59:05Z")));
  assert(!transcriptRunsOnlyInMemory(parseTranscript("@ queue-error Zqq read error (#4.3.0)")));
  assert(!transcriptRunsOnlyInMemory(parseTranscript("@ databytes 100")));
  assert(!transcriptRunsOnlyInMemory(parseTranscript("@ tls\nS: 220 x\nP: 3")));
});

Deno.test("the runner reports a wrong server line with its line number", async () => {
  const events = parseTranscript("S: 220 mx.example.net ESMTP\nC: NOOP\nS: 250 not ok");
  const error = await assertRejects(() => runTranscriptInMemory(events), TranscriptError);
  assertEquals(error.line, 3);
});

Deno.test("the runner reports server lines nobody expected", async () => {
  const events = parseTranscript("S: 220 mx.example.net ESMTP\nC: NOOP");
  await assertRejects(() => runTranscriptInMemory(events), TranscriptError);
});

Deno.test("the runner reports a missing close", async () => {
  const events = parseTranscript(
    "S: 220 mx.example.net ESMTP\nC: NOOP\nS: 250 2.0.0 ok\nS! closed",
  );
  await assertRejects(() => runTranscriptInMemory(events), TranscriptError);
});

Deno.test("the runner reports a pause the server did not make, and one it made", async () => {
  const quiet = parseTranscript("S: 220 mx.example.net ESMTP\nC: NOOP\nP: 1\nS: 250 2.0.0 ok");
  const error = await assertRejects(() => runTranscriptInMemory(quiet), TranscriptError);
  assertEquals(error.line, 3);
  const paused = parseTranscript(
    "@ control helodelay 4\nS: 220 mx.example.net ESMTP\nC: HELO x\nS: 250 mx.example.net",
  );
  await assertRejects(() => runTranscriptInMemory(paused), TranscriptError);
});

Deno.test("the runner checks the queued body, envelope and Received header", async () => {
  const base = [
    "@ rcpthosts example.net",
    "S: 220 mx.example.net ESMTP",
    "C: MAIL FROM:<a@example.org>",
    "S: 250 2.1.0 ok",
    "C: RCPT TO:<b@example.net>",
    "S: 250 2.1.5 ok",
    "C: DATA",
    "S: 354 go ahead",
    "C: one",
    "C: .",
    // The clock's time (2024-03-05T07:08:09Z) and the in-memory queue's qp.
    "S: 250 2.6.0 ok 1709622489 qp 4242",
  ];
  const run = await runTranscriptInMemory(parseTranscript([...base, "Q: one"].join("\n")));
  assertEquals(run.queued.length, 1);
  for (
    const wrong of [["Q: two"], ["Q: one", "Q: two"], ["E: Fa@example.org"], ["R~ ^Received"]]
  ) {
    await assertRejects(
      () => runTranscriptInMemory(parseTranscript([...base, ...wrong].join("\n"))),
      TranscriptError,
    );
  }
});

Deno.test("the runner starts TLS after the server's 220 and drops what was pipelined", async () => {
  const run = await runTranscriptInMemory(parseTranscript([
    "@ tls",
    "S: 220 mx.example.net ESMTP",
    'C! "STARTTLS\\r\\nNOOP\\r\\n"',
    "S: 220 2.0.0 ready to start TLS",
    "C: QUIT",
    "S: 221 2.0.0 mx.example.net",
    "S! closed",
  ].join("\n")));
  assertEquals(run.tlsStarts, 1);
  assert(run.closed);
});

Deno.test("parseTranscript reads L: and L~ reject log lines", () => {
  const events = parseTranscript([
    "S: 220 mx.example.net ESMTP",
    "L: reject: RCPT from 192.0.2.1 helo=<>: 503 5.5.1 MAIL first",
    "L~ ^reject: MAIL from [0-9.]+ ",
  ].join("\n"));
  assertEquals(events.map((event) => event.kind), ["server", "log", "log-match"]);
  assert(events[1].kind === "log" && events[1].text.startsWith("reject: RCPT from 192.0.2.1"));
  assert(events[2].kind === "log-match" && events[2].pattern.test("reject: MAIL from 127.0.0.1 "));
});
