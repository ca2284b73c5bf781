/**
 * The benchmarks' load tool: 2 KiB messages over plain SMTP, one
 * connection per message, N sessions at once, bounded in count and time;
 * and the wait for the Maildir to hold what was accepted.
 */
import { makeTempHome, runQmd, SmtpClient } from "../harness.ts";

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

/**
 * How often the waits below look. A look at a Maildir reads its new/, which
 * costs the load tool about 1.4 µs an entry here: looking every 20 ms at a
 * new/ of 12,000 messages took nearly half a core from the server under test
 * while its last messages were being delivered.
 */
const LOOK_EVERY_MS = 50;

/** Waits (at most `maxMs`) until `count()` reaches `expected`; the last count. */
export async function waitCount(
  count: () => number,
  expected: number,
  maxMs: number,
): Promise<number> {
  const deadline = performance.now() + maxMs;
  while (performance.now() < deadline) {
    if (count() >= expected) break;
    await new Promise((resolve) => setTimeout(resolve, LOOK_EVERY_MS));
  }
  return count();
}

/** Messages in the Maildir's new/ (0 while it does not exist). */
export function countNew(maildir: string): number {
  let count = 0;
  try {
    for (const _ of Deno.readDirSync(`${maildir}/new`)) count++;
  } catch {
    // not there (yet)
  }
  return count;
}

/**
 * Moves what new/ holds to cur/, as a mail reader would, so that the next
 * round's looks read only that round's messages. Renames free no inode, so
 * the servers' next file creations meet the file system as they left it.
 */
export function emptyNew(maildir: string): void {
  let entries: Deno.DirEntry[];
  try {
    entries = [...Deno.readDirSync(`${maildir}/new`)];
  } catch {
    return;
  }
  for (const entry of entries) {
    Deno.renameSync(`${maildir}/new/${entry.name}`, `${maildir}/cur/${entry.name}:2,`);
  }
}

/** Waits (at most `maxMs`) until the Maildir's new/ holds `expected` messages. */
export function waitDelivered(maildir: string, expected: number, maxMs: number): Promise<number> {
  return waitCount(() => countNew(maildir), expected, maxMs);
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
