/**
 * Seed 000's `ERROR: eof from client - SPAMMER?`: logged when a client hangs
 * up without QUIT (its sample: after a spammer's message was accepted), not
 * after a QUIT.
 */
import { assertEquals } from "./assert.ts";
import { HELLO, play } from "./filter_fakes.ts";
import type { LogRecord } from "../appliance/log.ts";

async function eofLines(name: string, text: string): Promise<string[]> {
  const logs: string[] = [];
  await play(name, text, { onLog: (record: LogRecord) => logs.push(record.text) });
  return logs.filter((line) => line.includes("eof from client"));
}

Deno.test("session log: a client gone without QUIT is a SPAMMER? line; after QUIT none", async () => {
  assertEquals(await eofLines("hang-up", HELLO), [
    "smtpd hang-up: ERROR: eof from client - SPAMMER?",
  ]);
  assertEquals(
    await eofLines("quit", HELLO + "C: QUIT\nS: 221 2.0.0 mx.example.net\nS! closed\n"),
    [],
  );
});
