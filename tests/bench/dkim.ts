/**
 * Issue 15's DKIM part of `deno task bench`: figures, never assertions.
 *
 *  - signing cost: signMessage (appliance/remote/dkim_sign.ts, both passes
 *    over a mess/ file on disk) for a 2 KiB and a 1 MB message, RSA-2048 and
 *    Ed25519, in ms per message;
 *  - remote delivery of 2 KiB messages to the loopback sink of
 *    tests/bench/remote.ts (20 in flight, connections reused) without a key,
 *    then with an RSA-2048 key, then an Ed25519 key for the sender's domain
 *    (the bench messages have no From:, so the envelope sender's domain
 *    signs: dkim_choice.ts).
 *
 * Every loop is bounded in count and time; only loopback addresses are used.
 * `deno run -A tests/bench/dkim.ts` runs just this part.
 */
import { signMessage } from "../../appliance/remote/dkim_sign.ts";
import { makeDkimKey } from "../../appliance/remote/test_dkim.ts";
import { makeTempHome, runQmd } from "../harness.ts";
import { runDeliveries, startSink, writeMessages } from "./remote.ts";

const SIZES = [
  { label: "2 KiB", bytes: 2048, count: 300 },
  { label: "1 MB", bytes: 1024 * 1024, count: 20 },
];
const SIGN_MAX_MS = 20_000;
const DELIVERIES = { reuse: true, count: 3000, maxMs: 30_000 };

function messageOf(bytes: number): string {
  const head = "From: bench@example.test\nTo: x@sink.test\nSubject: bench\n\n";
  const line = `${"x".repeat(72)}\n`;
  return head + line.repeat(Math.max(1, Math.floor((bytes - head.length) / line.length)));
}

/** ms per signMessage over a file on disk, bounded by count and SIGN_MAX_MS. */
async function signingCost(path: string, algorithm: "rsa" | "ed25519", count: number) {
  const key = makeDkimKey("example.test", "bench", algorithm);
  const file = await Deno.open(path, { read: true });
  try {
    let done = 0;
    const started = performance.now();
    while (done < count && performance.now() - started < SIGN_MAX_MS) {
      const outcome = await signMessage(file, "bench@example.test", [key], new Date());
      if (outcome.kind !== "signed") throw new Error(`not signed: ${JSON.stringify(outcome)}`);
      done++;
    }
    return { done, msEach: (performance.now() - started) / done };
  } finally {
    file.close();
  }
}

/** The rows for `deno task bench`. */
export async function dkimBench(): Promise<string[]> {
  const rows: string[] = [];
  const dir = await Deno.makeTempDir({ prefix: "qmd-bench-dkim-" });
  try {
    for (const size of SIZES) {
      const path = `${dir}/${size.bytes}`;
      await Deno.writeTextFile(path, messageOf(size.bytes));
      for (const algorithm of ["rsa", "ed25519"] as const) {
        const { done, msEach } = await signingCost(path, algorithm, size.count);
        rows.push(
          `DKIM signing, ${size.label} message, ${algorithm === "rsa" ? "RSA-2048" : "Ed25519"}: ` +
            `${msEach.toFixed(2)} ms/message (${done} signed, both passes over the file)`,
        );
      }
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }

  const home = await makeTempHome(Deno.env.get("QMD_BENCH_DIR"));
  await runQmd(["init", "--home", home, "--me", "mx.example.test"]);
  const sink = await startSink();
  try {
    Deno.writeTextFileSync(`${home}/control/smtproutes`, `:127.0.0.1:${sink.port}\n`);
    const mess = await writeMessages(home, DELIVERIES.count);
    for (const signing of ["off", "on (RSA-2048)", "on (Ed25519)"]) {
      // One key at a time: every key of the domain would sign.
      await Deno.remove(`${home}/control/dkim`, { recursive: true }).catch(() => {});
      if (signing !== "off") {
        const flags = signing.includes("Ed25519") ? ["--ed25519"] : [];
        const added = await runQmd(["dkim", "add", "example.test", ...flags, "--home", home]);
        if (added.code !== 0) throw new Error(added.stderr);
      }
      const result = await runDeliveries(home, mess, sink.pid, DELIVERIES);
      rows.push(
        `remote delivery to ${sink.name}, 2 KiB, 20 in flight, reuse, DKIM ${signing}: ${result.counts.K} delivered in ${
          result.seconds.toFixed(2)
        } s = ${(result.counts.K / result.seconds).toFixed(0)} msg/s; role CPU ${
          (100 * result.roleCpu / result.seconds).toFixed(0)
        }% of one core` +
          (result.firstFailure !== undefined ? `; first failure: ${result.firstFailure}` : ""),
      );
    }
  } finally {
    await sink.stop();
    await Deno.remove(home.replace(/\/home$/, ""), { recursive: true });
  }
  return rows;
}

if (import.meta.main) {
  for (const row of await dkimBench()) console.log(`  ${row}`);
}
