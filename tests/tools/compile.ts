/**
 * `deno task compile`: builds the single executable with the same flags as
 * `deno task start` and every worker module embedded, for this machine or for
 * Linux x86_64 / aarch64 (`--target`, `--all-targets`; compile_plan.ts).
 * deno compile needs the target's denort runtime (downloaded from Deno's
 * release site, or DENORT_BIN); when neither is available this fails with
 * one clear line instead of a stack.
 */
import { compileFailureLine, compilePlan } from "./compile_plan.ts";

const root = new URL("../../", import.meta.url).pathname;

function exists(path: string): boolean {
  try {
    Deno.statSync(path);
    return true;
  } catch {
    return false;
  }
}

const plan = compilePlan(Deno.args, Deno.env.get("DENORT_BIN"), exists);
if ("error" in plan) {
  console.error(plan.error);
  Deno.exit(1);
}
for (const step of plan.steps) {
  // deno compile runs in the project's directory, so a relative OUTPUT is taken from there.
  const slash = step.output.lastIndexOf("/");
  if (slash > 0) {
    Deno.mkdirSync(new URL(step.output.slice(0, slash), `file://${root}`), { recursive: true });
  }
  const result = await new Deno.Command(Deno.execPath(), {
    args: step.args,
    cwd: root,
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (!result.success) {
    console.error(compileFailureLine(new TextDecoder().decode(result.stderr), step.target));
    Deno.exit(1);
  }
  console.log(`qmd compile: wrote ${step.output}${step.target ? ` (${step.target})` : ""}`);
}
