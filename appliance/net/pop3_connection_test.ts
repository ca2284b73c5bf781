/**
 * The POP3 driver against abusive clients (issue 11): one that pipelines and
 * never reads its replies, one that trickles a command line, and control
 * characters in the session log. A scripted Transport (tests/fakes) stands
 * in for the socket; every wait is bounded.
 */
import { assert, assertEquals } from "../../tests/assert.ts";
import { waitFor } from "../../tests/harness.ts";
import { ScriptedClient, trickle } from "../../tests/fakes/scripted_client.ts";
import { type LogRecord, setLogSink } from "../log.ts";
import { type Pop3ConnectionOptions, servePop3Connection } from "./pop3_connection.ts";
import { testPop3Options } from "../../tests/connection_options.ts";

/** What the driver writes through in one go at most (OUTPUT_HIGH_WATER in pop3_connection.ts). */
const POP3_HIGH_WATER = 1024 * 1024;

function options(overrides: Partial<Pop3ConnectionOptions> = {}): Pop3ConnectionOptions {
  return testPop3Options(false, overrides);
}

async function capturingLog(work: () => Promise<void>): Promise<LogRecord[]> {
  const records: LogRecord[] = [];
  setLogSink((record) => records.push(record), "pop3d");
  try {
    await work();
  } finally {
    setLogSink(() => {}, "test");
  }
  return records;
}

Deno.test("pop3 driver: a client that never reads gets no more commands taken than one high-water of replies", async () => {
  // 40,000 pipelined CAPAs in one chunk: several MB of replies if all were answered.
  const client = new ScriptedClient([{ text: "CAPA\r\n".repeat(40_000) }], 1);
  const session = capturingLog(() => servePop3Connection(client, options()));
  await waitFor(() => client.written.length >= 2 || undefined, 5000, () => "a blocked write");
  const pending = client.written[1].length;
  assert(pending <= POP3_HIGH_WATER + 1024, `one write holds ${pending} bytes`);
  assertEquals(client.written.length, 2, "no write is queued behind the blocked one");
  client.unblock();
  await session;
  assert(client.closed);
});

Deno.test("pop3 driver: a command line trickled past timeoutcommand is cut off", async () => {
  const client = new ScriptedClient(trickle(`CAPA ${"x".repeat(395)}\r\n`, 20));
  const records = await capturingLog(() =>
    servePop3Connection(client, options({ commandSeconds: 0.3 }))
  );
  assert(client.reads < 200, `the session read ${client.reads} one-byte chunks`);
  assert(client.text().includes("\r\n-ERR "), client.text());
  assert(
    records.some((record) =>
      record.text === "pop3d p.1: timeout: command line not finished within 0.3 s"
    ),
    records.map((record) => record.text).join("\n"),
  );
});

Deno.test("pop3 driver: log/pop3_in shows a client's ESC and stray CR as escapes", async () => {
  const client = new ScriptedClient([{ text: "NOOP \x1b[2J\rX\r\nQUIT\r\n" }]);
  const records = await capturingLog(() =>
    servePop3Connection(client, options({ log: { pop3In: true, pop3Out: false } }))
  );
  const input = records.filter((record) => record.event === "pop3_in").map((r) => r.text);
  assertEquals(input, ["pop3d p.1: C: NOOP \\x1b[2J\\rX", "pop3d p.1: C: QUIT"]);
});
