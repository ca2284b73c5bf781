/**
 * The real content checks (appliance/policy/content_modules.ts: clamd and
 * signatures) in SMTP transcripts through the real connection driver, in
 * memory, with a fake clamd on loopback: what each control file and each
 * environment switch does at the end of DATA, the replies, the log lines and
 * what is queued (nothing, when refused).
 */
import { assertEquals } from "./assert.ts";
import { FAKE_VIRUS_MARKER, FAKE_VIRUS_NAME, FakeClamd } from "./fakes/fake_clamd.ts";
import { HELLO, play } from "./filter_fakes.ts";
import { CONTENT_MODULES } from "../appliance/policy/content_modules.ts";
import type { LogRecord } from "../appliance/log.ts";

const EXE = "TVqQAAMAAAAEAAAA//8AALgAAAAAAAAAQAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";

/** MAIL, RCPT and DATA with `body` lines, then the reply to the final dot. */
function transaction(body: string[], reply: string): string {
  return `C: MAIL FROM:<a@example.org>
S: 250 2.1.0 ok
C: RCPT TO:<b@example.net>
S: 250 2.1.5 ok
C: DATA
S: 354 go ahead
${body.map((line) => `C: ${line}`).join("\n")}
C: .
${reply}
`;
}

const ACCEPTED = "S~ ^250 2\\.6\\.0 ok \\d+ qp 4242$";

const ATTACHMENT = [
  "Subject: invoice",
  'Content-Type: multipart/mixed; boundary="b"',
  "",
  "--b",
  "Content-Type: application/octet-stream",
  "Content-Transfer-Encoding: base64",
  "",
  EXE,
  "--b--",
];

/** Plays a transcript with the real content modules; returns what was queued and logged. */
async function run(name: string, text: string) {
  const logs: string[] = [];
  const result = await play(name, text, {
    contentModules: CONTENT_MODULES,
    onLog: (record: LogRecord) => logs.push(record.text),
  });
  return { queued: result.queued.length, logs };
}

Deno.test("signatures: an executable attachment is refused at the final dot, nothing queued", async () => {
  const refused = await run(
    "signature hit",
    "@ control signatures TVqQAAMAA\n" + HELLO +
      transaction(ATTACHMENT, "S: 552 we don't accept email with executable content (#5.3.4)"),
  );
  assertEquals(refused.queued, 0);
  const ok = await run(
    "EXECUTABLEOK",
    "@ control signatures TVqQAAMAA\n@ env EXECUTABLEOK=\n" + HELLO +
      transaction(ATTACHMENT, ACCEPTED),
  );
  assertEquals(ok.queued, 1);
  const plain = await run(
    "no signature",
    "@ control signatures TVqQAAMAA\n" + HELLO + transaction(["Subject: hi", "", EXE], ACCEPTED),
  );
  assertEquals(plain.queued, 1, "not a base64 MIME part");
});

Deno.test("clamd: a virus is refused with the seed's reply and CLAMD: line; NOCLAMD lets it in", async () => {
  const fake = FakeClamd.start();
  try {
    const clamd = `@ control clamd 127.0.0.1:${fake.port}\n`;
    const virus = ["Subject: x", "", `x ${FAKE_VIRUS_MARKER} y`];
    const refused = await run(
      "virus",
      clamd + HELLO +
        transaction(virus, `S: 554 5.7.7 your email contains the virus "${FAKE_VIRUS_NAME}"!`),
    );
    assertEquals(refused.queued, 0);
    assertEquals(refused.logs.filter((line) => line.includes("CLAMD")), [
      `smtpd virus: CLAMD: virus "${FAKE_VIRUS_NAME}" was found!`,
    ]);
    assertEquals(fake.streams.length, 1);
    const clean = await run(
      "clean",
      clamd + HELLO + transaction(["Subject: x", "", "hi"], ACCEPTED),
    );
    assertEquals(clean.queued, 1);
    assertEquals(fake.streams.length, 2);
    const off = await run(
      "NOCLAMD",
      clamd + "@ env NOCLAMD=\n" + HELLO + transaction(virus, ACCEPTED),
    );
    assertEquals(off.queued, 1);
    assertEquals(fake.streams.length, 2, "NOCLAMD: clamd is not asked");
    // Seed 000's sample: with tarpitting on, CLAMD:, then TARPIT:, a pause, then the 554.
    const tarpitted = await run(
      "virus, tarpitted",
      clamd + "@ control tarpitcount 3\n@ control tarpitdelay 2\n@ control log/tarpitting 1\n" +
        HELLO +
        transaction(
          virus,
          `P: 2\nS: 554 5.7.7 your email contains the virus "${FAKE_VIRUS_NAME}"!`,
        ),
    );
    assertEquals(tarpitted.queued, 0);
    assertEquals(
      tarpitted.logs.filter((line) => /CLAMD|TARPIT/.test(line)),
      [
        `smtpd virus, tarpitted: CLAMD: virus "${FAKE_VIRUS_NAME}" was found!`,
        "smtpd virus, tarpitted: TARPIT: <a@example.org> to <b@example.net> | helo(client.example)",
      ],
    );
  } finally {
    await fake.close();
  }
});

Deno.test("clamd down: let through by default, 451 with clamdfailreject, CLAMDFAILREJECT=0 overrides", async () => {
  const gone = FakeClamd.start();
  const port = gone.port;
  await gone.close();
  const clamd = `@ control clamd 127.0.0.1:${port}\n`;
  const body = ["Subject: x", "", "hi"];
  const open = await run("fail open", clamd + HELLO + transaction(body, ACCEPTED));
  assertEquals(open.queued, 1);
  assertEquals(
    open.logs.filter((line) => line.includes("CLAMD")).map((line) => line.split(": ").slice(0, 3)),
    [["smtpd fail open", "CLAMD", "scan failed"]],
  );
  const reject = "@ control clamdfailreject 1\n";
  const closed = await run(
    "fail closed",
    clamd + reject + HELLO +
      transaction(body, "S: 451 4.3.0 virus scanner failed, try again later"),
  );
  assertEquals(closed.queued, 0);
  const overridden = await run(
    "CLAMDFAILREJECT=0",
    clamd + reject + "@ env CLAMDFAILREJECT=0\n" + HELLO + transaction(body, ACCEPTED),
  );
  assertEquals(overridden.queued, 1);
  const byEnv = await run(
    "CLAMDFAILREJECT=1",
    clamd + "@ env CLAMDFAILREJECT=1\n" + HELLO +
      transaction(body, "S: 451 4.3.0 virus scanner failed, try again later"),
  );
  assertEquals(byEnv.queued, 0);
});
