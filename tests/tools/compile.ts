/**
 * `deno task compile`: builds the single executable with the same flags as
 * `deno task start` and every worker module embedded. deno compile needs the
 * denort runtime (downloaded from Deno's release site, or DENORT_BIN); when
 * neither is available this fails with one clear line instead of a stack.
 */
import { COMPILE_INCLUDES, RUN_FLAGS } from "../../mod.ts";

const root = new URL("../../", import.meta.url).pathname;
const output = Deno.args[0] ?? "qmd";
const denort = Deno.env.get("DENORT_BIN");
if (denort !== undefined) {
  try {
    Deno.statSync(denort);
  } catch {
    console.error(`qmd compile: DENORT_BIN=${denort} does not exist; cannot build the executable`);
    Deno.exit(1);
  }
}
const args = [
  "compile",
  ...RUN_FLAGS,
  ...COMPILE_INCLUDES.flatMap((path) => ["--include", path]),
  "--output",
  output,
  "main.ts",
];
const result = await new Deno.Command(Deno.execPath(), {
  args,
  cwd: root,
  stdout: "piped",
  stderr: "piped",
}).output();
if (result.success) {
  console.log(`qmd compile: wrote ${output}`);
  Deno.exit(0);
}
const stderr = new TextDecoder().decode(result.stderr);
if (/denort|download|failed to fetch|error sending request|dns error/i.test(stderr)) {
  console.error(
    "qmd compile: cannot get the denort runtime (no network to Deno's release site and DENORT_BIN unset); set DENORT_BIN=/path/to/denort and retry",
  );
} else {
  console.error(`qmd compile: deno compile failed: ${stderr.trim().split("\n").slice(-1)[0]}`);
}
Deno.exit(1);
