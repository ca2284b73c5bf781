/**
 * Runs every transcript in tests/pop3_transcripts/ against the pure POP3
 * session, and checks the POP3 transcript parser and runner themselves.
 */
import { assert, assertEquals, assertThrows } from "./assert.ts";
import {
  parsePop3Transcript,
  runPop3Transcript,
  TranscriptError,
  uidlOf,
} from "./pop3_transcript.ts";

const DIRECTORY = new URL("./pop3_transcripts/", import.meta.url);

const files = [...Deno.readDirSync(DIRECTORY)]
  .filter((entry) => entry.isFile && entry.name.endsWith(".txt"))
  .map((entry) => entry.name)
  .sort();

for (const name of files) {
  Deno.test(`pop3 transcript ${name} against the pure session`, () => {
    try {
      runPop3Transcript(parsePop3Transcript(Deno.readTextFileSync(new URL(name, DIRECTORY))));
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
    "@ message new/1700000000.1.mx 120",
    "@ message cur/1700000001.2.mx:2,S 200",
    "@ plaintext",
    "@ tls",
    "@ mechanisms 3",
    "@ timestamp <1.2@x>",
    "@ commit-error oops",
    "S: +OK <1.2@x>",
    "C: QUIT",
  ].join("\n"));
  assertEquals(setup.users, { tim: "tanstaaf" });
  assertEquals(setup.messages, [
    { name: "new/1700000000.1.mx", size: 120, uidl: "1700000000.1.mx" },
    { name: "cur/1700000001.2.mx:2,S", size: 200, uidl: "1700000001.2.mx" },
  ]);
  assert(setup.plaintext && setup.tls && !setup.tlsActive);
  assertEquals(setup.mechanismsMask, 3);
  assertEquals(setup.timestamp, "<1.2@x>");
  assertEquals(setup.commitError, "oops");
  assertEquals(events.map((event) => [event.kind, event.line]), [["server", 10], ["client", 11]]);
});

Deno.test("parsePop3Transcript refuses unknown setup, late setup and SMTP-only events", () => {
  assertThrows(() => parsePop3Transcript("@ rcpthosts example.net"), TranscriptError);
  assertThrows(() => parsePop3Transcript("S: +OK \n@ plaintext"), TranscriptError);
  assertThrows(() => parsePop3Transcript("@ message tmp/x 1"), TranscriptError);
  assertThrows(() => parsePop3Transcript("@ plaintext yes"), TranscriptError);
  assertThrows(() => parsePop3Transcript("Q: body"), TranscriptError);
});

Deno.test("uidlOf drops the directory and the info after the colon", () => {
  assertEquals(uidlOf("new/1.2.host"), "1.2.host");
  assertEquals(uidlOf("cur/1.2.host:2,RS"), "1.2.host");
});

Deno.test("the runner reports a mismatch with its line", () => {
  const transcript = parsePop3Transcript(
    "S: +OK <4242.1700000000@mx.example.net>\nC: NOOP\nS: -ERR",
  );
  const error = assertThrows(() => runPop3Transcript(transcript), TranscriptError);
  assert(error.message.startsWith("line 3:"), error.message);
  const unexpected = parsePop3Transcript("C: NOOP");
  assertThrows(() => runPop3Transcript(unexpected), TranscriptError);
});

Deno.test("the runner records the commit's deleted messages and effects", () => {
  const run = runPop3Transcript(parsePop3Transcript([
    "@ plaintext",
    "@ user tim tanstaaf",
    "@ message new/1.a.mx 10",
    "@ message new/2.b.mx 20",
    "S: +OK <4242.1700000000@mx.example.net>",
    'C! "USER tim\\r\\nPASS tanstaaf\\r\\nDELE 2\\r\\nQUIT\\r\\n"',
    "S: +OK ",
    "S: +OK ",
    "S: +OK ",
    "S: +OK ",
    "S! closed",
  ].join("\n")));
  assert(run.closed);
  assertEquals(run.committed?.map((message) => message.name), ["new/2.b.mx"]);
  assertEquals(run.effects.map((effect) => effect.kind), ["auth", "open", "commit"]);
});
