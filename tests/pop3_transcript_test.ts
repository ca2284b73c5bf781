/**
 * Runs every transcript in tests/pop3_transcripts/ through the real POP3
 * connection driver over an in-memory connection against a real Maildir, and
 * checks the POP3 transcript parser and runner themselves.
 */
import { assert, assertEquals, assertRejects, assertThrows } from "./assert.ts";
import { parsePop3Transcript, TranscriptError } from "./pop3_transcript.ts";
import { runPop3TranscriptInMemory } from "./pop3_transcript_run.ts";

const DIRECTORY = new URL("./pop3_transcripts/", import.meta.url);

const files = [...Deno.readDirSync(DIRECTORY)]
  .filter((entry) => entry.isFile && entry.name.endsWith(".txt"))
  .map((entry) => entry.name)
  .sort();

for (const name of files) {
  Deno.test(`pop3 transcript ${name} through the connection driver in memory`, async () => {
    try {
      await runPop3TranscriptInMemory(
        parsePop3Transcript(Deno.readTextFileSync(new URL(name, DIRECTORY))),
        name,
      );
    } catch (error) {
      if (error instanceof TranscriptError) throw new Error(`${name} ${error.message}`);
      throw error;
    }
  });
}

Deno.test("there are POP3 transcripts to run", () => {
  assert(files.length >= 20, `only ${files.length} transcripts`);
});

Deno.test("parsePop3Transcript reads the setup and keeps line numbers", () => {
  const { setup, events } = parsePop3Transcript([
    "# comment",
    "@ user tim tanstaaf",
    '@ message new/1700000000.1.mx "Subject: one\\n\\nbody\\n"',
    '@ message cur/1700000001.2.mx:2,S "x"',
    "@ plaintext",
    "@ tls",
    "@ mechanisms 3",
    "@ timestamp <1.2@x>",
    "@ in-use",
    "S: +OK <1.2@x>",
    "C: QUIT",
    "M: remove new/1700000000.1.mx",
  ].join("\n"));
  assertEquals(setup.users, { tim: "tanstaaf" });
  assertEquals(setup.messages, [
    { name: "new/1700000000.1.mx", text: "Subject: one\n\nbody\n" },
    { name: "cur/1700000001.2.mx:2,S", text: "x" },
  ]);
  assert(setup.plaintext && setup.tls && !setup.tlsActive && setup.inUse);
  assertEquals(setup.mechanismsMask, 3);
  assertEquals(setup.timestamp, "<1.2@x>");
  assertEquals(events.map((event) => [event.kind, event.line]), [
    ["server", 10],
    ["client", 11],
    ["maildir", 12],
  ]);
});

Deno.test("parsePop3Transcript refuses unknown setup, late setup and SMTP-only events", () => {
  assertThrows(() => parsePop3Transcript("@ rcpthosts example.net"), TranscriptError);
  assertThrows(() => parsePop3Transcript("S: +OK \n@ plaintext"), TranscriptError);
  assertThrows(() => parsePop3Transcript('@ message tmp/x "x"'), TranscriptError);
  assertThrows(() => parsePop3Transcript("@ message new/x 120"), TranscriptError);
  assertThrows(() => parsePop3Transcript("@ plaintext yes"), TranscriptError);
  assertThrows(() => parsePop3Transcript("Q: body"), TranscriptError);
  assertThrows(() => parsePop3Transcript("L: reject: x"), TranscriptError);
  assertThrows(() => parsePop3Transcript("M: rename new/x"), TranscriptError);
  assertThrows(() => parsePop3Transcript("M: remove"), TranscriptError);
});

Deno.test("the runner reports a mismatch with its line", async () => {
  const transcript = parsePop3Transcript(
    "S: +OK <4242.1700000000@mx.example.net>\nC: NOOP\nS: -ERR",
  );
  const error = await assertRejects(() => runPop3TranscriptInMemory(transcript), TranscriptError);
  assert(error.message.startsWith("line 3:"), error.message);
  const unexpected = parsePop3Transcript("C: NOOP");
  await assertRejects(() => runPop3TranscriptInMemory(unexpected), TranscriptError);
});

Deno.test("the runner leaves the Maildir as QUIT committed it", async () => {
  const run = await runPop3TranscriptInMemory(parsePop3Transcript([
    "@ plaintext",
    "@ user tim tanstaaf",
    '@ message new/1.a.mx "a\\n"',
    '@ message new/2.b.mx "b\\n"',
    '@ message cur/3.c.mx:2,S "c\\n"',
    "S: +OK <4242.1700000000@mx.example.net>",
    'C! "USER tim\\r\\nPASS tanstaaf\\r\\nDELE 2\\r\\nQUIT\\r\\n"',
    "S: +OK ",
    "S: +OK ",
    "S: +OK ",
    "S: +OK ",
    "S! closed",
  ].join("\n")));
  assert(run.closed);
  assertEquals(run.files, ["cur/1.a.mx:2,", "cur/3.c.mx:2,S"]);
});

Deno.test("the Maildir lists the setup's messages in the order given, whatever their names", async () => {
  const run = await runPop3TranscriptInMemory(parsePop3Transcript([
    "@ plaintext",
    "@ user tim tanstaaf",
    '@ message cur/9.z.mx:2,S "z\\n"',
    '@ message new/1.a.mx "aa\\n"',
    "S: +OK <4242.1700000000@mx.example.net>",
    'C! "USER tim\\r\\nPASS tanstaaf\\r\\nUIDL\\r\\nLIST\\r\\n"',
    "S: +OK ",
    "S: +OK ",
    "S: +OK ",
    "S: 1 9.z.mx",
    "S: 2 1.a.mx",
    "S: .",
    "S: +OK ",
    "S: 1 2",
    "S: 2 3",
    "S: .",
  ].join("\n")));
  // No QUIT: nothing was committed, the files are where they were.
  assertEquals(run.files, ["cur/9.z.mx:2,S", "new/1.a.mx"]);
});
