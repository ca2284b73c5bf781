/**
 * Session log lines operators parse, in seed 000's sample forms:
 * `ERROR: eof from client - SPAMMER?` when a client hangs up without QUIT
 * (not after a QUIT), and the RCPT tarpit's `TARPIT: <sender> to <rcpt> |
 * helo(HELO)`.
 */
import { assertEquals } from "./assert.ts";
import { HELLO, play } from "./filter_fakes.ts";
import type { LogRecord } from "../appliance/log.ts";

async function logLines(name: string, text: string, marker: string): Promise<string[]> {
  const logs: string[] = [];
  await play(name, text, { onLog: (record: LogRecord) => logs.push(record.text) });
  return logs.filter((line) => line.includes(marker));
}

const eofLines = (name: string, text: string) => logLines(name, text, "eof from client");

Deno.test("session log: a client gone without QUIT is a SPAMMER? line; after QUIT none", async () => {
  assertEquals(await eofLines("hang-up", HELLO), [
    "smtpd hang-up: ERROR: eof from client - SPAMMER?",
  ]);
  assertEquals(
    await eofLines("quit", HELLO + "C: QUIT\nS: 221 2.0.0 mx.example.net\nS! closed\n"),
    [],
  );
});

Deno.test("session log: the RCPT tarpit's TARPIT: line has the sender, the recipient and the HELO", async () => {
  const lines = await logLines(
    "tarpit",
    "@ control tarpitcount 1\n@ control tarpitdelay 3\n@ control log/tarpitting 1\n" + HELLO +
      `C: MAIL FROM:<a@example.org>
S: 250 2.1.0 ok
C: RCPT TO:<b@example.net>
S: 250 2.1.5 ok
C: RCPT TO:<c@example.net>
P: 3
S: 250 2.1.5 ok
`,
    "TARPIT",
  );
  assertEquals(lines, [
    "smtpd tarpit: TARPIT: <a@example.org> to <c@example.net> | helo(client.example)",
  ]);
});
