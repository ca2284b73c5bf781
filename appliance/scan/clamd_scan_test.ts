import { assert, assertEquals } from "../../tests/assert.ts";
import {
  FAKE_VIRUS_MARKER,
  FAKE_VIRUS_NAME,
  FakeClamd,
  type FakeClamdOptions,
} from "../../tests/fakes/fake_clamd.ts";
import type { ClamdSettings, ClamdTarget } from "../../config/clamd.ts";
import type { FilterRequest } from "../filters/filter.ts";
import { REPLY_CLAMD_FAILED } from "../filters/clamd_verdict.ts";
import { beginClamdScan } from "./clamd_scan.ts";
import { openClamdStream } from "./clamd_client.ts";

const encoder = new TextEncoder();

const REQUEST: FilterRequest = {
  phase: "data",
  remoteIp: "192.0.2.7",
  env: {},
  relaying: false,
  tls: false,
  recipients: ["u@example.test"],
  now: 0,
  sessionId: "1.9",
};

interface Logged {
  event: string;
  text: string;
  fields: Record<string, unknown>;
}

async function withFake(
  options: FakeClamdOptions & { unix?: boolean },
  body: (fake: FakeClamd, target: ClamdTarget) => Promise<void>,
): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "qmd-clamd-" });
  const unixPath = `${dir}/clamd.sock`;
  const fake = FakeClamd.start({ ...options, unixPath });
  try {
    await body(
      fake,
      options.unix
        ? { kind: "unix", path: unixPath }
        : { kind: "tcp", host: "127.0.0.1", port: fake.port },
    );
  } finally {
    await fake.close();
    await Deno.remove(dir, { recursive: true });
  }
}

/** Scans `chunks` and returns the verdict and the log lines. */
async function scan(
  settings: ClamdSettings,
  chunks: string[],
): Promise<{ verdict: unknown; logged: Logged[] }> {
  const logged: Logged[] = [];
  const scan = beginClamdScan(
    settings,
    REQUEST,
    (event, text, fields) => logged.push({ event, text, fields }),
  );
  for (const chunk of chunks) await scan.write(encoder.encode(chunk));
  return { verdict: await scan.finish(), logged };
}

function settings(target: ClamdTarget, failReject = false, timeoutSeconds = 5): ClamdSettings {
  return { target, failReject, timeoutSeconds };
}

for (const unix of [false, true]) {
  const over = unix ? "a Unix socket" : "TCP";
  Deno.test(`clamd scan over ${over}: a virus is refused with the seed's reply and CLAMD line for the session`, async () => {
    await withFake({ unix }, async (fake, target) => {
      // The marker is split across two chunks.
      const half = FAKE_VIRUS_MARKER.length >> 1;
      const { verdict, logged } = await scan(settings(target), [
        "Subject: x\n\nbody ",
        FAKE_VIRUS_MARKER.slice(0, half),
        FAKE_VIRUS_MARKER.slice(half) + "\n",
      ]);
      assertEquals(verdict, {
        kind: "refuse",
        reply: [`554 5.7.7 your email contains the virus "${FAKE_VIRUS_NAME}"!`],
        rule: { check: "clamd", source: "control/clamd", entry: FAKE_VIRUS_NAME },
        log: `CLAMD: virus "${FAKE_VIRUS_NAME}" was found!`,
        tarpitted: true,
      });
      // The session logs a refusal's line; the scan adds none of its own.
      assertEquals(logged, []);
      assertEquals(fake.streams.length, 1);
      assertEquals(fake.streams[0].command, "zINSTREAM\0");
      assertEquals(fake.streams[0].chunks, 3);
      assertEquals(fake.streams[0].ended, true);
    });
  });

  Deno.test(`clamd scan over ${over}: a clean message passes without a log line`, async () => {
    await withFake({ unix }, async (_fake, target) => {
      const { verdict, logged } = await scan(settings(target), ["Subject: x\n\nhello\n"]);
      assertEquals(verdict, { kind: "pass" });
      assertEquals(logged, []);
    });
  });
}

Deno.test("clamd scan: chunks reach clamd as they are written, before the end of the message", async () => {
  await withFake({}, async (fake, target) => {
    const scan = beginClamdScan(settings(target), REQUEST, () => {});
    const first = encoder.encode("Subject: stream\n\n" + "a".repeat(5000) + "\n");
    await scan.write(first);
    // Resolves only when the fake has the first chunk while finish() has not been called.
    await fake.receivedBytes(first.length);
    assertEquals(fake.streams[0].ended, false);
    await scan.write(encoder.encode("more\n"));
    await fake.receivedBytes(first.length + 5);
    assertEquals(await scan.finish(), { kind: "pass" });
    assertEquals(fake.streams[0].chunks, 2);
  });
});

Deno.test("clamd scan: a large chunk goes in pieces, never one frame over 1 MiB", async () => {
  await withFake({}, async (fake, target) => {
    const big = "b".repeat(2_500_000);
    const { verdict } = await scan(settings(target), [big]);
    assertEquals(verdict, { kind: "pass" });
    assertEquals(fake.streams[0].chunks, 3);
    assertEquals(fake.streams[0].bytes, big.length);
  });
});

Deno.test("clamd scan: over StreamMaxLength clamd answers early and hangs up; later writes do not fail and the message passes", async () => {
  await withFake({ mode: "limit", limitBytes: 1000 }, async (fake, target) => {
    const logged: Logged[] = [];
    const scan = beginClamdScan(
      settings(target, true),
      REQUEST,
      (event, text, fields) => logged.push({ event, text, fields }),
    );
    for (let i = 0; i < 50; i++) await scan.write(encoder.encode("c".repeat(500) + "\n"));
    assertEquals(await scan.finish(), { kind: "pass" });
    assertEquals(fake.streams[0].reply, "INSTREAM size limit exceeded. ERROR");
    assertEquals(logged.map((line) => line.text), [
      "smtpd 1.9: CLAMD: message over clamd's StreamMaxLength, not scanned",
    ]);
  });
});

Deno.test("clamd scan: clamd down lets the message through with clamdfailreject 0, refuses it with 1", async () => {
  // A port nothing listens on: a fake started and closed again.
  const gone = FakeClamd.start();
  const port = gone.port;
  await gone.close();
  const target: ClamdTarget = { kind: "tcp", host: "127.0.0.1", port };
  const open = await scan(settings(target, false), ["Subject: x\n\nhi\n"]);
  assertEquals(open.verdict, { kind: "pass" });
  assert(open.logged[0].text.startsWith("smtpd 1.9: CLAMD: scan failed: cannot connect to clamd"));
  const closed = await scan(settings(target, true), ["Subject: x\n\nhi\n"]);
  const refused = closed.verdict as { reply: string[]; rule: { source: string }; log: string };
  assertEquals(refused.reply, [REPLY_CLAMD_FAILED]);
  assertEquals(refused.rule.source, "control/clamdfailreject");
  assert(refused.log.startsWith("CLAMD: scan failed: cannot connect to clamd"), refused.log);
  assertEquals(closed.logged, []);
  const missing = await scan(
    settings({ kind: "unix", path: "/nonexistent/qmd/clamd.sock" }, true),
    ["x\n"],
  );
  assertEquals((missing.verdict as { reply: string[] }).reply, [REPLY_CLAMD_FAILED]);
});

Deno.test("clamd scan: clamd that hangs times out after timeoutclamd; fail-open or fail-closed", async () => {
  await withFake({ mode: "hang" }, async (_fake, target) => {
    const open = await scan(settings(target, false, 1), ["Subject: x\n\nhi\n"]);
    assertEquals(open.verdict, { kind: "pass" });
    assertEquals(open.logged.map((line) => line.text), [
      "smtpd 1.9: CLAMD: scan failed: clamd at 127.0.0.1:" + (target as { port: number }).port +
      " did not answer within 1 s",
    ]);
    const closed = await scan(settings(target, true, 1), ["Subject: x\n\nhi\n"]);
    assertEquals((closed.verdict as { reply: string[] }).reply, [REPLY_CLAMD_FAILED]);
  });
});

Deno.test("clamd scan: clamd that hangs up after the command is a failure, not a pass by accident", async () => {
  await withFake({ mode: "close" }, async (_fake, target) => {
    const closed = await scan(settings(target, true), ["Subject: x\n\nhi\n", "more\n"]);
    assertEquals((closed.verdict as { reply: string[] }).reply, [REPLY_CLAMD_FAILED]);
  });
});

Deno.test("clamd scan: abort releases the connection and sends no end of stream", async () => {
  await withFake({}, async (fake, target) => {
    const scan = beginClamdScan(settings(target), REQUEST, () => {});
    await scan.write(encoder.encode("partial"));
    await fake.receivedBytes(7);
    await scan.abort();
    assertEquals(fake.streams[0].ended, false);
  });
});

Deno.test("clamd client: the reply comes back without its NUL", async () => {
  await withFake({}, async (fake, target) => {
    const stream = await openClamdStream(target, 5);
    await stream.send(encoder.encode(FAKE_VIRUS_MARKER));
    assertEquals(await stream.finish(), `stream: ${FAKE_VIRUS_NAME} FOUND`);
    assertEquals(fake.streams[0].bytes, FAKE_VIRUS_MARKER.length);
  });
});
