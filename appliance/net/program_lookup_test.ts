import { assertEquals } from "../../tests/assert.ts";
import { runProgramLookup } from "./program_lookup.ts";

async function script(body: string): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix: "qmd-program-" });
  const path = `${dir}/check`;
  await Deno.writeTextFile(path, `#!/bin/sh\n${body}\n`);
  await Deno.chmod(path, 0o755);
  return path;
}

const lookup = (program: string, env: Record<string, string> = {}, timeoutSeconds = 10) => ({
  kind: "program" as const,
  argv: [program],
  env,
  timeoutSeconds,
});

Deno.test("program lookup: the exit code and output come back; only the given environment", async () => {
  const program = await script('echo "to=$RECIPIENT from=$SENDER home=${HOME-unset}"; exit 100');
  const answer = await runProgramLookup(
    lookup(program, { SENDER: "a@b.test", RECIPIENT: "c@d.test" }),
  );
  assertEquals(answer, {
    kind: "program",
    exitCode: 100,
    output: "to=c@d.test from=a@b.test home=unset",
  });
  assertEquals(await runProgramLookup(lookup(await script("exit 0"))), {
    kind: "program",
    exitCode: 0,
  });
});

Deno.test("program lookup: missing, hanging and crashing programs are temporary", async () => {
  const missing = await runProgramLookup(lookup("/nonexistent/rcptcheck"));
  assertEquals(missing.kind, "temporary");
  const hanging = await runProgramLookup(lookup(await script("exec sleep 30"), {}, 0.3));
  assertEquals(hanging.kind === "temporary" && hanging.reason.includes("killed after 0.3 s"), true);
  const crashing = await runProgramLookup(lookup(await script("kill -SEGV $$")));
  assertEquals(crashing.kind === "temporary" && crashing.reason.includes("SIGSEGV"), true);
  const notExecutable = await script("exit 0");
  await Deno.chmod(notExecutable, 0o644);
  assertEquals((await runProgramLookup(lookup(notExecutable))).kind, "temporary");
});
