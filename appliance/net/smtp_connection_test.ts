/**
 * The SMTP driver against abusive clients (issue 11): one that pipelines and
 * never reads its replies, one that trickles a command line or a DATA
 * section a byte at a time, and control characters in the session log.
 * A scripted Transport (tests/fakes) stands in for the socket; every wait
 * is bounded.
 */
import { assert, assertEquals } from "../../tests/assert.ts";
import { waitFor } from "../../tests/harness.ts";
import { type LogRecord, setLogSink } from "../log.ts";
import { OUTPUT_HIGH_WATER } from "./connection_io.ts";
import {
  type MessageSink,
  serveSmtpConnection,
  type SmtpConnectionOptions,
} from "./smtp_connection.ts";
import { ScriptedClient, trickle } from "../../tests/fakes/scripted_client.ts";

/** A queue that keeps what it was given. */
class MemoryQueue implements MessageSink {
  readonly qp = "1";
  committed = false;
  aborted = false;
  write(): Promise<void> {
    return Promise.resolve();
  }
  commit(): Promise<void> {
    this.committed = true;
    return Promise.resolve();
  }
  abort(): Promise<void> {
    this.aborted = true;
    return Promise.resolve();
  }
}

function options(overrides: Partial<SmtpConnectionOptions> = {}): SmtpConnectionOptions {
  return {
    session: {
      greeting: ["mx.example.test"],
      localHost: "mx.example.test",
      remoteIp: "192.0.2.1",
      remoteHost: "unknown",
      rcptHosts: (domain) => domain === "example.test",
      databytes: 0,
    },
    openQueue: () => Promise.resolve(new MemoryQueue()),
    timeoutSeconds: 30,
    commandSeconds: 120,
    dataSeconds: 1200,
    maxLineLength: 1000,
    sessionId: "t.1",
    ...overrides,
  };
}

/** Captures this isolate's log records while `work` runs. */
async function capturingLog(work: () => Promise<void>): Promise<LogRecord[]> {
  const records: LogRecord[] = [];
  setLogSink((record) => records.push(record), "smtpd");
  try {
    await work();
  } finally {
    setLogSink(() => {}, "test");
  }
  return records;
}

Deno.test("smtp driver: a client that never reads gets no more commands taken than one high-water of replies", async () => {
  // 20,000 pipelined EHLOs in one chunk: about 3 MB of replies if all were answered.
  // The greeting is read; after it the client reads nothing.
  const client = new ScriptedClient([{ text: "EHLO x\r\n".repeat(20_000) }], 1);
  const session = capturingLog(() => serveSmtpConnection(client, options()));
  await waitFor(() => client.written.length >= 2 || undefined, 5000, () => "a blocked write");
  // The greeting went out; the next write waits for the client, and holds a bounded amount.
  const pending = client.written[1].length;
  assert(pending <= OUTPUT_HIGH_WATER + 1024, `one write holds ${pending} bytes`);
  assertEquals(client.written.length, 2, "no write is queued behind the blocked one");
  client.unblock();
  await session;
  assert(client.closed);
});

Deno.test("smtp driver: a command line trickled past timeoutcommand is cut off with 451", async () => {
  // One byte every 20 ms of a 400-byte line: 8 s in all, against a 0.3 s deadline.
  const client = new ScriptedClient(trickle(`NOOP ${"x".repeat(395)}\r\n`, 20));
  const records = await capturingLog(() =>
    serveSmtpConnection(client, options({ commandSeconds: 0.3 }))
  );
  assertEquals(client.text().split("\r\n").slice(1), ["451 4.4.2 timeout", ""]);
  assert(client.reads < 200, `the session read ${client.reads} one-byte chunks`);
  assert(client.closed);
  assert(
    records.some((record) =>
      record.text === "smtpd t.1: timeout: command line not finished within 0.3 s"
    ),
    records.map((record) => record.text).join("\n"),
  );
});

Deno.test("smtp driver: lines that each arrive in time are not cut off however long the session", async () => {
  const client = new ScriptedClient(
    Array.from({ length: 8 }, () => ({ pauseMs: 60, text: "NOOP\r\n" })),
  );
  await capturingLog(() => serveSmtpConnection(client, options({ commandSeconds: 0.3 })));
  assertEquals(client.text().split("\r\n").filter((line) => line.startsWith("250")).length, 8);
  assert(!client.text().includes("451"));
});

Deno.test("smtp driver: a DATA section trickled past timeoutdata is cut off and nothing is queued", async () => {
  const queues: MemoryQueue[] = [];
  const client = new ScriptedClient([
    { text: "HELO x\r\nMAIL FROM:<a@example.org>\r\nRCPT TO:<b@example.test>\r\nDATA\r\n" },
    ...trickle(`Subject: slow\r\n\r\n${"y".repeat(300)}\r\n.\r\n`, 20),
  ]);
  const records = await capturingLog(() =>
    serveSmtpConnection(
      client,
      options({
        dataSeconds: 0.3,
        openQueue: () => {
          const queue = new MemoryQueue();
          queues.push(queue);
          return Promise.resolve(queue);
        },
      }),
    )
  );
  assert(client.text().endsWith("354 go ahead\r\n451 4.4.2 timeout\r\n"), client.text());
  assertEquals(queues.length, 1);
  assert(queues[0].aborted && !queues[0].committed);
  assert(records.some((record) => record.text.endsWith("DATA not finished within 0.3 s")));
});

Deno.test("smtp driver: timeoutcommand 0 keeps qmail's per-read timeout only", async () => {
  const client = new ScriptedClient(trickle("NOOP\r\n", 60));
  await capturingLog(() => serveSmtpConnection(client, options({ commandSeconds: 0 })));
  assert(client.text().includes("250 "), client.text());
});

Deno.test("smtp driver: log/smtp_in shows a client's ESC and stray CR as escapes", async () => {
  const client = new ScriptedClient([{ text: "NOOP \x1b[2J\rX\x9b\r\n" }]);
  const records = await capturingLog(() =>
    serveSmtpConnection(
      client,
      options({ log: { smtpIn: true, smtpOut: true, orChecks: false, tarpitting: false } }),
    )
  );
  const input = records.filter((record) => record.event === "smtp_in").map((r) => r.text);
  assertEquals(input, ["smtpd t.1: C: NOOP \\x1b[2J\\rX\\x9b"]);
});

Deno.test("smtp driver: log/pidqplog logs each queued message's sender and qp, only when on", async () => {
  const script = () => [{
    text: "HELO x\r\nMAIL FROM:<a@example.org>\r\nRCPT TO:<b@example.test>\r\nDATA\r\n" +
      "Subject: hi\r\n\r\nbody\r\n.\r\nMAIL FROM:<>\r\nRCPT TO:<b@example.test>\r\nDATA\r\n" +
      "\r\nbounce\r\n.\r\nQUIT\r\n",
  }];
  const log = (pidQp: boolean) => ({
    smtpIn: false,
    smtpOut: false,
    orChecks: false,
    tarpitting: false,
    pidQp,
  });
  const on = new ScriptedClient(script());
  const records = await capturingLog(() =>
    serveSmtpConnection(on, options({ log: log(true), contentModules: [] }))
  );
  assertEquals(on.text().match(/250 2\.6\.0 ok \d+ qp 1/g)?.length, 2, on.text());
  assertEquals(records.filter((record) => record.event === "smtp_mail_recv").map((r) => r.text), [
    `smtpd t.1: mail recv: pid ${Deno.pid} from <a@example.org> qp 1`,
    `smtpd t.1: mail recv: pid ${Deno.pid} from <> qp 1`,
  ]);
  const off = new ScriptedClient(script());
  const quiet = await capturingLog(() =>
    serveSmtpConnection(off, options({ log: log(false), contentModules: [] }))
  );
  assertEquals(quiet.filter((record) => record.event === "smtp_mail_recv"), []);
});
