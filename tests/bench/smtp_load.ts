/**
 * The benchmarks' load tool: 2 KiB messages over plain SMTP, one
 * connection per message, N sessions at once, bounded in count and time;
 * and the wait for the Maildir to hold what was accepted.
 */
import { maildirNew, makeTempHome, runQmd, SmtpClient } from "../harness.ts";

/** The 2 KiB message every load sends (LF form; CRLF on the wire). */
export const MESSAGE = `Subject: bench\n\n${`${"x".repeat(72)}\n`.repeat(28)}`.slice(0, 2047) +
  "\n";

/** One message in one connection; true when the server answered 250 to the dot. */
export async function sendOne(
  port: number,
  body: string = MESSAGE,
  recipient = "joe@example.test",
): Promise<boolean> {
  const client = await SmtpClient.connect(port);
  try {
    await client.reply();
    await client.send(
      `HELO bench.example\r\nMAIL FROM:<bench@example.org>\r\nRCPT TO:<${recipient}>\r\nDATA\r\n`,
    );
    for (let i = 0; i < 4; i++) await client.reply();
    await client.send(body.replace(/\n/g, "\r\n") + ".\r\nQUIT\r\n");
    const reply = await client.reply();
    return reply.startsWith("250 ");
  } finally {
    client.close();
  }
}

/** `count` messages through `sessions` sessions at once, stopping at `maxMs` whatever is left. */
export async function load(
  port: number,
  sessions: number,
  count: number,
  maxMs: number,
  recipient?: string,
): Promise<{ accepted: number; seconds: number }> {
  let next = 0;
  let accepted = 0;
  const started = performance.now();
  const deadline = started + maxMs;
  await Promise.all(Array.from({ length: sessions }, async () => {
    while (next < count && performance.now() < deadline) {
      next++;
      if (await sendOne(port, MESSAGE, recipient).catch(() => false)) accepted++;
    }
  }));
  return { accepted, seconds: (performance.now() - started) / 1000 };
}

/** Waits (at most `maxMs`) until `count()` reaches `expected`; the last count. */
export async function waitCount(
  count: () => number,
  expected: number,
  maxMs: number,
): Promise<number> {
  const deadline = performance.now() + maxMs;
  while (performance.now() < deadline) {
    if (count() >= expected) break;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return count();
}

/** Waits (at most `maxMs`) until the Maildir's new/ holds `expected` messages. */
export function waitDelivered(maildir: string, expected: number, maxMs: number): Promise<number> {
  return waitCount(() => maildirNew(maildir).length, expected, maxMs);
}

/**
 * A home for the SMTP benchmarks: joe@example.test's Maildir, and the
 * per-IP and total session limits lifted for one load generator on 127.0.0.1.
 * QMD_BENCH_DIR puts it (and so the queue and Maildirs) on another filesystem.
 */
export async function makeBenchHome(): Promise<{ home: string; maildir: string }> {
  const home = await makeTempHome(Deno.env.get("QMD_BENCH_DIR"));
  await runQmd(["init", "--home", home, "--me", "mx.example.test"]);
  Deno.writeTextFileSync(`${home}/control/concurrencyperip`, "1000\n");
  Deno.writeTextFileSync(`${home}/control/concurrencyincoming`, "1000\n");
  await runQmd(["user", "add", "joe@example.test", "--password-stdin", "--home", home], {
    stdin: "pw\n",
  });
  return { home, maildir: `${home}/mail/example.test/joe/Maildir` };
}
