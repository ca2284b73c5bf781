/**
 * `qmd start --delivery-nice N`: the send, local and remote isolates' threads
 * run N nice levels below the rest (Linux keeps a nice value per thread), so
 * the sessions whose clients wait go first when the CPU is short. Read from
 * /proc, as an operator would with `ps -L -o nice`.
 */
import { assertEquals, assertStringIncludes } from "./assert.ts";
import { makeInitedHome, runQmd, startQmd } from "./harness.ts";

/** The nice value in a /proc stat file: field 19, counted after "pid (comm) " (field 3 on). */
function niceOf(statPath: string): number {
  const stat = Deno.readTextFileSync(statPath);
  return Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[16]);
}

/** The nice value of each isolate thread ("worker-N") of process `pid`. */
function workerNices(pid: number): number[] {
  const nices: number[] = [];
  for (const task of Deno.readDirSync(`/proc/${pid}/task`)) {
    const name = Deno.readTextFileSync(`/proc/${pid}/task/${task.name}/comm`).trim();
    if (name.startsWith("worker-")) nices.push(niceOf(`/proc/${pid}/task/${task.name}/stat`));
  }
  return nices.sort((a, b) => a - b);
}

Deno.test({
  name: "delivery nice: send, local and remote run N levels below the other isolates",
  ignore: Deno.build.os !== "linux",
  fn: async () => {
    for (const [flag, below] of [["7", 7], ["0", 0]] as const) {
      const home = await makeInitedHome();
      const qmd = await startQmd(home, { extraArgs: ["--delivery-nice", flag] });
      try {
        // The process's own nice (a CI may run everything under nice).
        const base = niceOf(`/proc/${qmd.process.pid}/stat`);
        const nices = workerNices(qmd.process.pid);
        // smtpd ×2, pop3d ×2, auth, admin at the process's nice; send, local, remote below.
        const others = nices.length - 3;
        assertEquals(
          nices,
          [...Array(others).fill(base), ...Array(3).fill(Math.min(19, base + below))],
          `--delivery-nice ${flag}`,
        );
      } finally {
        await qmd.stop();
      }
    }
  },
});

Deno.test("delivery nice: a value outside 0 to 19 is refused before anything starts", async () => {
  const home = await makeInitedHome();
  const result = await runQmd(["start", "--home", home, "--delivery-nice", "20"]);
  assertEquals(result.code === 0, false);
  assertStringIncludes(result.stderr, "--delivery-nice must be a whole number from 0 to 19");
});
