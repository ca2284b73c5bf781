/**
 * qmail's promise under fire: messages are sent while the appliance is
 * killed with SIGKILL at random moments and restarted. Every message that got
 * "250 ok" must end up in the Maildir; duplicates are allowed and counted.
 * Bounded: a fixed number of messages, kills and a deadline.
 */
import { assertEquals } from "./assert.ts";
import {
  maildirNew,
  makeTempHome,
  type RunningQmd,
  runQmd,
  sendMessage,
  startQmd,
  waitFor,
} from "./harness.ts";
import net from "node:net";

const MESSAGES = 120;
const KILLS = 5;
const CLIENTS = 3;
const DEADLINE_MS = 150_000;

/** mulberry32: a small seeded generator so a failing run can be replayed. */
function seededRandom(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) =>
    server.listen({ host: "127.0.0.1", port: 0 }, () => resolve())
  );
  const port = (server.address() as net.AddressInfo).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

Deno.test({
  name: "crash: every message acknowledged with 250 survives SIGKILL at random moments",
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    const seed = Number(Deno.env.get("QMD_CRASH_SEED") ?? Date.now() % 100000);
    const random = seededRandom(seed);
    const home = await makeTempHome();
    assertEquals((await runQmd(["init", "--home", home, "--me", "mx.example.test"])).code, 0);
    assertEquals(
      (await runQmd(["user", "add", "joe@example.test", "--password-stdin", "--home", home], {
        stdin: "pw\n",
      }))
        .code,
      0,
    );
    const port = await freePort();
    const deadline = Date.now() + DEADLINE_MS;
    let qmd: RunningQmd | undefined = await startQmd(home, { port });
    const acked = new Set<number>();
    let next = 0;
    let kills = 0;

    const client = async () => {
      while (Date.now() < deadline) {
        const index = next < MESSAGES ? next++ : -1;
        if (index < 0) return;
        // Retry one message until the server acknowledges it, as an MTA would.
        while (Date.now() < deadline) {
          try {
            const reply = await sendMessage(
              port,
              "sender@example.org",
              ["joe@example.test"],
              `Subject: crash-${index}\n\nmessage ${index}\n`,
            );
            if (reply.startsWith("250 ")) {
              acked.add(index);
              break;
            }
            if (/^5/.test(reply)) throw new Error(`permanent refusal: ${reply}`);
          } catch (error) {
            if ((error as Error).message.startsWith("permanent")) throw error;
            // connection refused or cut by the kill: try again shortly
          }
          await new Promise((resolve) => setTimeout(resolve, 50));
        }
        // Pace the senders so the kills land while messages are in flight.
        await new Promise((resolve) => setTimeout(resolve, random() * 120));
      }
    };

    const killer = async () => {
      while (kills < KILLS && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 100 + random() * 400));
        await qmd!.kill();
        kills++;
        qmd = undefined;
        await new Promise((resolve) => setTimeout(resolve, random() * 200));
        qmd = await startQmd(home, { port });
      }
    };

    await Promise.all([...Array.from({ length: CLIENTS }, client), killer()]);
    assertEquals(acked.size, MESSAGES, `all messages acknowledged (seed ${seed})`);
    if (qmd === undefined) qmd = await startQmd(home, { port });
    const maildir = `${home}/mail/example.test/joe/Maildir`;
    const counts = new Map<number, number>();
    try {
      await waitFor(
        () => {
          counts.clear();
          for (const file of maildirNew(maildir)) {
            const match = /Subject: crash-(\d+)\n/.exec(Deno.readTextFileSync(file));
            if (match) counts.set(Number(match[1]), (counts.get(Number(match[1])) ?? 0) + 1);
          }
          return [...acked].every((index) => counts.has(index)) ? true : undefined;
        },
        60_000,
        () =>
          `every acknowledged message delivered (seed ${seed}); missing ${
            [...acked].filter((i) => !counts.has(i))
          }`,
      );
    } finally {
      await qmd.stop();
    }
    const duplicates = [...counts.values()].reduce((sum, count) => sum + count - 1, 0);
    console.log(
      `crash test: seed ${seed}, ${kills} kills, ${acked.size} acknowledged, ${duplicates} duplicates`,
    );
    assertEquals(kills, KILLS, "the appliance was killed every time planned");
  },
});
