/**
 * Denial of service and abuse against a running appliance (issue 11, 7a,
 * 7b, 7c, 7f), as bounded tests over loopback:
 *  - 200 clients that close before or during a TLS handshake (SMTPS, POP3S)
 *    or right after STARTTLS leave every session slot free: the per-IP
 *    limit's worth of sessions can be opened again at once;
 *  - a pipelined NOOP flood with log/smtp_in and smtp_out on keeps the
 *    appliance's RSS flat, and client control characters reach the log as
 *    escapes;
 *  - a client trickling a command line, a DATA section or a POP3 command a
 *    byte at a time is cut off at timeoutcommand / timeoutdata.
 */
import net from "node:net";
import { assert, assertEquals, assertStringIncludes } from "./assert.ts";
import { makeInitedHome, startQmd, waitFor } from "./harness.ts";

/** The per-IP session limit (control/concurrencyperip's default). */
const PER_IP = 20;

/** A raw client: connect, collect what the server sends, notice when it hangs up. */
class RawClient {
  readonly socket: net.Socket;
  received = "";
  closed = false;
  #wake: (() => void) | undefined;

  private constructor(socket: net.Socket) {
    this.socket = socket;
    socket.on("data", (chunk: Uint8Array) => {
      this.received += new TextDecoder("latin1").decode(chunk);
      this.#wake?.();
    });
    socket.on("close", () => {
      this.closed = true;
      this.#wake?.();
    });
    socket.on("error", () => {});
  }

  static connect(port: number): Promise<RawClient> {
    return new Promise((resolve, reject) => {
      const socket = net.connect({ host: "127.0.0.1", port });
      socket.once("connect", () => resolve(new RawClient(socket)));
      socket.once("error", reject);
    });
  }

  /** Waits at most `ms` for the server's text to match (or for it to hang up). */
  async until(pattern: RegExp, ms = 10_000): Promise<boolean> {
    const giveUp = Date.now() + ms;
    while (!pattern.test(this.received) && !this.closed && Date.now() < giveUp) {
      await new Promise<void>((resolve) => {
        this.#wake = resolve;
        setTimeout(resolve, 50);
      });
    }
    return pattern.test(this.received);
  }

  write(text: string): Promise<void> {
    return new Promise((resolve) =>
      this.socket.write(Uint8Array.from(text, (ch) => ch.charCodeAt(0)), () => resolve())
    );
  }

  close(): void {
    this.socket.destroy();
  }
}

/** A TLS record header announcing a ClientHello, and a few bytes of it. */
const PARTIAL_CLIENT_HELLO = "\x16\x03\x01\x00\x50\x01\x00\x00";

/** Opens PER_IP sessions at once on `port`; how many were greeted with `greeting`. */
async function greetedAtOnce(port: number, greeting: RegExp): Promise<number> {
  const clients = await Promise.all(
    Array.from({ length: PER_IP }, () => RawClient.connect(port)),
  );
  const greeted = await Promise.all(clients.map((client) => client.until(greeting)));
  for (const client of clients) client.close();
  return greeted.filter(Boolean).length;
}

/** Waits (bounded) until all PER_IP sessions can be had again. */
async function assertEverySlotFree(port: number, greeting: RegExp): Promise<void> {
  let last = 0;
  await waitFor(
    async () => (last = await greetedAtOnce(port, greeting)) === PER_IP || undefined,
    20_000,
    () => `${PER_IP} sessions greeted at once (last try: ${last})`,
  );
}

Deno.test("abuse: 200 aborted TLS handshakes and STARTTLS leave every session slot free", async () => {
  const qmd = await startQmd(await makeInitedHome());
  try {
    await assertEverySlotFree(qmd.port, /^220 /);
    for (let i = 0; i < 200; i++) {
      const client = await RawClient.connect(qmd.smtpsPort);
      if (i % 2 === 1) await client.write(PARTIAL_CLIENT_HELLO);
      client.close();
    }
    await assertEverySlotFree(qmd.port, /^220 /);
    for (let i = 0; i < 200; i++) {
      const client = await RawClient.connect(qmd.port);
      if (await client.until(/^220 /)) {
        await client.write("EHLO client.example\r\nSTARTTLS\r\n");
        await client.until(/\r\n220 /);
      }
      client.close();
    }
    await assertEverySlotFree(qmd.port, /^220 /);
    for (let i = 0; i < 200; i++) (await RawClient.connect(qmd.pop3sPort)).close();
    await assertEverySlotFree(qmd.pop3Port, /^\+OK /);
  } finally {
    await qmd.stop();
  }
});

function rssKb(pid: number): number {
  const status = Deno.readTextFileSync(`/proc/${pid}/status`);
  return Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
}

/** NOOPs in the flood: 1,200,000 log records with smtp_in and smtp_out. */
const FLOOD = 600_000;

/** Pipelines `count` NOOPs and reads every reply; returns the replies counted. */
async function noopFlood(port: number, count: number): Promise<number> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  const chunk = new TextEncoder().encode("NOOP\r\n".repeat(10_000));
  let replies = -1; // the greeting's line
  const reader = (async () => {
    const buffer = new Uint8Array(65536);
    while (replies < count) {
      const n = await conn.read(buffer);
      if (n === null) break;
      for (let i = 0; i < n; i++) if (buffer[i] === 0x0a) replies++;
    }
  })();
  for (let sent = 0; sent < count; sent += 10_000) {
    for (let written = 0; written < chunk.length;) {
      written += await conn.write(chunk.subarray(written));
    }
  }
  await reader;
  conn.close();
  return replies;
}

Deno.test("abuse: a logged NOOP flood keeps the appliance's memory flat; client control characters are escaped", async () => {
  if (!Deno.build.os.startsWith("linux")) {
    console.log("skipped: reads /proc/PID/status");
    return;
  }
  const qmd = await startQmd(
    await makeInitedHome({ "log/smtp_in": "1", "log/smtp_out": "1" }),
    // JSON lines cost the writer more than text ones: the harder case.
    { workers: 1, extraArgs: ["--log-format", "json"] },
  );
  try {
    const pid = qmd.process.pid;
    // Warm up (code compiled, buffers grown), then a baseline.
    assertEquals(await noopFlood(qmd.port, 20_000), 20_000);
    await waitFor(
      () => qmd.output().includes(`"event":"smtp_close"`) || undefined,
      20_000,
      () => "the warm-up session's close in the log",
    );
    const baseline = rssKb(pid);
    let peak = baseline;
    const sampler = setInterval(() => peak = Math.max(peak, rssKb(pid)), 20);
    const flooded = await noopFlood(qmd.port, FLOOD);
    // Records still on their way to stdout hold memory too: sample until the last is out.
    await waitFor(
      () => (qmd.output().match(/"event":"smtp_close"/g) ?? []).length >= 2 || undefined,
      60_000,
      () => "the flood session's close in the log",
    ).finally(() => clearInterval(sampler));
    assertEquals(flooded, FLOOD);
    const growthMb = (peak - baseline) / 1024;
    // Held in memory, 1,200,000 records would take a few hundred MB.
    assert(growthMb < 128, `RSS grew ${growthMb.toFixed(1)} MB under the flood`);

    const client = await RawClient.connect(qmd.port);
    await client.until(/^220 /);
    await client.write("NOOP \x1b[2J\x1b]0;owned\x07\rX\r\nQUIT\r\n");
    await client.until(/221 /);
    client.close();
    // The text is `C: NOOP \x1b[2J\x1b]0;owned\x07\rX`, its backslashes doubled in JSON.
    const logged = String.raw`C: NOOP \\x1b[2J\\x1b]0;owned\\x07\\rX"`;
    await waitFor(
      () => qmd.output().includes(logged) || undefined,
      10_000,
      () => `${logged} in the log`,
    );
    const output = qmd.output();
    assert(!output.includes("\x1b") && !output.includes("\\u001b"), "no ESC, raw or as \\u001b");
  } finally {
    await qmd.stop();
  }
});

/** Sends `text` one byte every `pauseMs` until the server hangs up; returns the bytes sent. */
async function trickle(client: RawClient, text: string, pauseMs: number): Promise<number> {
  let sent = 0;
  for (const ch of text) {
    if (client.closed) break;
    await client.write(ch);
    sent++;
    await new Promise((resolve) => setTimeout(resolve, pauseMs));
  }
  return sent;
}

Deno.test("abuse: clients trickling a command line, a DATA section or a POP3 command are cut off", async () => {
  const home = await makeInitedHome({ timeoutcommand: "1", timeoutdata: "2" });
  const qmd = await startQmd(home);
  // 60 bytes at one per 200 ms: 12 s of trickle against deadlines of 1 and 2 s.
  const slowLine = `NOOP ${"x".repeat(53)}\r\n`;
  try {
    const smtp = await RawClient.connect(qmd.port);
    await smtp.until(/^220 /);
    const sent = await trickle(smtp, slowLine, 200);
    assert(sent < slowLine.length, `the whole line went through (${sent} bytes)`);
    assertStringIncludes(smtp.received, "451 4.4.2 timeout\r\n");

    const data = await RawClient.connect(qmd.port);
    await data.until(/^220 /);
    await data.write(
      "HELO slow.example\r\nMAIL FROM:<a@example.org>\r\nRCPT TO:<postmaster@mx.example.test>\r\nDATA\r\n",
    );
    assert(await data.until(/354 /), data.received);
    const body = `Subject: slow\r\n\r\n${"y".repeat(40)}\r\n.\r\n`;
    const bodySent = await trickle(data, body, 200);
    assert(bodySent < body.length, `the whole message went through (${bodySent} bytes)`);
    assert(data.received.endsWith("451 4.4.2 timeout\r\n"), data.received);

    const pop3 = await RawClient.connect(qmd.pop3Port);
    await pop3.until(/^\+OK /);
    const popSent = await trickle(pop3, `CAPA ${"x".repeat(53)}\r\n`, 200);
    assert(popSent < slowLine.length, `the whole POP3 line went through (${popSent} bytes)`);
    assert(pop3.closed);

    await waitFor(
      () => /smtpd \S+: timeout: DATA not finished within 2 s/.test(qmd.output()) || undefined,
      10_000,
      () => `the DATA deadline in the log:\n${qmd.output()}`,
    );
    assertStringIncludes(qmd.output(), "timeout: command line not finished within 1 s");
    assert(!qmd.output().includes("new msg"), "the trickled message was not queued");
  } finally {
    await qmd.stop();
  }
});
