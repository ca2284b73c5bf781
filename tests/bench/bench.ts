/**
 * `deno task bench`: figures, never assertions. Starts the appliance on a
 * temporary home and measures, on this machine:
 *  - accepted/s and delivered-to-Maildir/s for 2 KiB messages, one
 *    connection per message, at 1, 10 and 50 concurrent sessions;
 *  - RSS growth of the appliance while one 100 MB message is accepted;
 *  - cold start: process spawn to the first 220 greeting;
 * then each area's own rows (front door, remote, POP3, filters, DKIM).
 * Every loop is bounded in count and time.
 *
 * `deno task bench --profile [--v8-prof]` prints only where a message's
 * cost goes: CPU by role, syscalls, V8 profiles (profile.ts).
 * `deno task bench --peers [--rounds N]` prints only qmd beside Postfix,
 * Haraka and smtp-sink, with the ratios (peers.ts).
 */
import { RUN_FLAGS } from "../../mod.ts";
import { SmtpClient, startQmd } from "../harness.ts";
import { countNew, emptyNew, load, makeBenchHome, waitDelivered } from "./smtp_load.ts";
import { frontDoorBench } from "./front_door.ts";
import { remoteBench } from "./remote.ts";
import { pop3Bench } from "./pop3.ts";
import { filtersBench } from "./filters.ts";
import { dkimBench } from "./dkim.ts";
import { profileBench } from "./profile.ts";
import { peersBench, relayBench } from "./peers.ts";
import { authResultsBench } from "./auth_results.ts";

const TARGETS = { endToEndPerSecond: 1000, rssGrowthMb: 32, coldStartMs: 300 };
function rssKb(pid: number): number {
  try {
    const status = Deno.readTextFileSync(`/proc/${pid}/status`);
    return Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
  } catch {
    return 0;
  }
}

async function coldStart(home: string): Promise<number> {
  const port = 20000 + Math.floor(Math.random() * 20000);
  const started = performance.now();
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      ...RUN_FLAGS,
      new URL("../../main.ts", import.meta.url).pathname,
      "start",
      "--home",
      home,
      "--smtp",
      `127.0.0.1:${port}`,
      // Only the SMTP port: the other listeners' fixed defaults may be taken.
      ...["--submission", "--smtps", "--pop3", "--pop3s"].flatMap((flag) => [flag, "off"]),
    ],
    stdout: "null",
    stderr: "null",
  }).spawn();
  let elapsed = -1;
  while (performance.now() - started < 20_000) {
    try {
      const client = await SmtpClient.connect(port);
      const greeting = await client.reply();
      client.close();
      if (greeting.startsWith("220")) {
        elapsed = performance.now() - started;
        break;
      }
    } catch {
      await new Promise((resolve) => setTimeout(resolve, 2));
    }
  }
  try {
    child.kill("SIGTERM");
  } catch {
    // it already exited (and elapsed stays -1)
  }
  await child.status;
  return elapsed;
}

async function main() {
  const { home, maildir } = await makeBenchHome();
  const rows: string[] = [];
  const qmd = await startQmd(home, { workers: navigator.hardwareConcurrency });
  let endToEnd10 = 0;
  try {
    for (const [sessions, count] of [[1, 300], [10, 2000], [50, 2000]]) {
      emptyNew(maildir);
      const before = countNew(maildir);
      const started = performance.now();
      const result = await load(qmd.port, sessions, count, 60_000);
      const delivered = await waitDelivered(maildir, before + result.accepted, 120_000);
      const totalSeconds = (performance.now() - started) / 1000;
      const perSecond = (delivered - before) / totalSeconds;
      if (sessions === 10) endToEnd10 = perSecond;
      rows.push(
        `${String(sessions).padStart(3)} sessions: ${result.accepted} accepted in ${
          result.seconds.toFixed(2)
        } s = ${(result.accepted / result.seconds).toFixed(0)} accepted/s; ${
          delivered - before
        } delivered in ${totalSeconds.toFixed(2)} s = ${perSecond.toFixed(0)} delivered/s`,
      );
    }
    // One 100 MB message: sample the appliance's RSS while it is accepted.
    const pid = qmd.process.pid;
    const baseline = rssKb(pid);
    let peak = baseline;
    const sampler = setInterval(() => (peak = Math.max(peak, rssKb(pid))), 20);
    const client = await SmtpClient.connect(qmd.port);
    await client.reply();
    await client.send(
      "HELO bench.example\r\nMAIL FROM:<bench@example.org>\r\nRCPT TO:<joe@example.test>\r\nDATA\r\n",
    );
    for (let i = 0; i < 4; i++) await client.reply();
    const line = new TextEncoder().encode("y".repeat(998) + "\r\n");
    const block = new Uint8Array(line.length * 1000);
    for (let i = 0; i < 1000; i++) block.set(line, i * line.length);
    for (let sent = 0; sent < 100_000_000; sent += block.length) await client.send(block);
    await client.send(".\r\n");
    const reply = await client.reply();
    client.close();
    clearInterval(sampler);
    const growthMb = (peak - baseline) / 1024;
    rows.push(
      `100 MB message: ${reply.slice(0, 3)}; appliance RSS ${
        (baseline / 1024).toFixed(1)
      } MB -> peak ${(peak / 1024).toFixed(1)} MB, growth ${
        growthMb.toFixed(1)
      } MB (target < ${TARGETS.rssGrowthMb} MB, ratio ${
        (growthMb / TARGETS.rssGrowthMb).toFixed(2)
      })`,
    );
  } finally {
    await qmd.stop();
  }
  const cold = await coldStart(home);
  rows.push(
    `cold start to first 220: ${cold.toFixed(0)} ms (target ${TARGETS.coldStartMs} ms, ratio ${
      (cold / TARGETS.coldStartMs).toFixed(2)
    })`,
  );
  rows.push(
    `end to end at 10 sessions: ${
      endToEnd10.toFixed(0)
    } msg/s (target ${TARGETS.endToEndPerSecond}, ratio ${
      (endToEnd10 / TARGETS.endToEndPerSecond).toFixed(2)
    })`,
  );
  console.log(
    `qmd bench (${navigator.hardwareConcurrency} CPUs, Deno ${Deno.version.deno}, home ${home})`,
  );
  for (const row of rows) console.log(`  ${row}`);
  for (const row of await frontDoorBench()) console.log(`  ${row}`);
  for (const row of await remoteBench()) console.log(`  ${row}`);
  for (const row of await pop3Bench()) console.log(`  ${row}`);
  for (const row of await filtersBench()) console.log(`  ${row}`);
  for (const row of await dkimBench()) console.log(`  ${row}`);
  for (const row of await authResultsBench()) console.log(`  ${row}`);
  await Deno.remove(home.replace(/\/home$/, ""), { recursive: true });
}

/** `--profile [--v8-prof]`: only where a message's cost goes (profile.ts). */
async function profileMain(args: string[]) {
  console.log(
    `qmd bench --profile (${navigator.hardwareConcurrency} CPUs, Deno ${Deno.version.deno})`,
  );
  for (const row of await profileBench({ v8Prof: args.includes("--v8-prof") })) {
    console.log(`  ${row}`);
  }
}

/**
 * `--peers [--rounds N] [--peer NAME ...] [--relay]`: qmd beside Postfix,
 * Haraka and smtp-sink (peers.ts); `--peer` runs only the peers named (qmd,
 * postfix, haraka, smtp-sink; with --relay, qmd or postfix); `--relay`
 * instead compares qmd and Postfix relaying to smtp-sink.
 */
async function peersMain(args: string[]) {
  const at = args.indexOf("--rounds");
  const rounds = at >= 0 ? Math.max(1, Number(args[at + 1]) || 1) : 3;
  console.log(
    `qmd bench --peers (${navigator.hardwareConcurrency} CPUs, Deno ${Deno.version.deno})`,
  );
  const only = args.flatMap((arg, i) => args[i - 1] === "--peer" ? [arg.toLowerCase()] : []);
  const rows = args.includes("--relay")
    ? await relayBench(rounds, only)
    : await peersBench(rounds, only);
  for (const row of rows) console.log(`  ${row}`);
}

if (import.meta.main) {
  if (Deno.args.includes("--profile")) await profileMain(Deno.args);
  else if (Deno.args.includes("--peers")) await peersMain(Deno.args);
  else await main();
}
