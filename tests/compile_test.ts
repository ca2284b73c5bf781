/**
 * `deno task compile`: the deno compile runs it plans for the host, one
 * Linux target or both, and the one line it prints where denort cannot be
 * had (a DENORT_BIN that is not there; no network, made certain by a proxy on
 * a closed loopback port).
 */
import { assert, assertEquals, assertStringIncludes } from "./assert.ts";
import { makeTempHome } from "./harness.ts";
import { compileFailureLine, compilePlan } from "./tools/compile_plan.ts";
import { COMPILE_INCLUDES } from "../mod.ts";
import { freePort } from "../appliance/net/free_port.ts";

const ROOT = new URL("../", import.meta.url).pathname;
const X86 = "x86_64-unknown-linux-gnu";
const ARM = "aarch64-unknown-linux-gnu";
const present = (path: string) => path === "/opt/denort";

function steps(args: string[], denort?: string) {
  const plan = compilePlan(args, denort, present);
  if ("error" in plan) throw new Error(plan.error);
  return plan.steps;
}

function planError(args: string[], denort?: string): string {
  const plan = compilePlan(args, denort, present);
  assert("error" in plan, `expected a refusal for ${args.join(" ")}`);
  return plan.error;
}

/** The value following `flag` in a deno compile argument list. */
function flagValue(args: string[], flag: string): string | undefined {
  const index = args.indexOf(flag);
  return index < 0 ? undefined : args[index + 1];
}

Deno.test("compile plan: the host build writes ./qmd with every worker module included", () => {
  const [step] = steps([]);
  assertEquals(step.output, "qmd");
  assertEquals(flagValue(step.args, "--target"), undefined);
  const included = step.args.flatMap((arg, index) =>
    step.args[index - 1] === "--include" ? [arg] : []
  );
  assertEquals(included, [...COMPILE_INCLUDES]);
  assert(included.includes("appliance/roles/admin.ts"));
  assertEquals(step.args.slice(-3), ["--output", "qmd", "main.ts"]);
});

Deno.test("compile plan: --target builds qmd-ARCH for that triple, or the output given", () => {
  const [arm] = steps(["--target", ARM]);
  assertEquals([arm.target, arm.output, flagValue(arm.args, "--target")], [
    ARM,
    "qmd-aarch64",
    ARM,
  ]);
  const [x86] = steps([`--target=${X86}`, "/tmp/q"]);
  assertEquals([x86.output, flagValue(x86.args, "--target")], ["/tmp/q", X86]);
  assertEquals(steps(["--target", X86], "/opt/denort").length, 1);
});

Deno.test("compile plan: --all-targets builds qmd-x86_64 and qmd-aarch64 into a directory", () => {
  const built = steps(["--all-targets", "dist/"]);
  assertEquals(built.map((step) => [step.target, step.output, flagValue(step.args, "--output")]), [
    [X86, "dist/qmd-x86_64", "dist/qmd-x86_64"],
    [ARM, "dist/qmd-aarch64", "dist/qmd-aarch64"],
  ]);
  assertEquals(steps(["--all-targets"]).map((step) => step.output), [
    "./qmd-x86_64",
    "./qmd-aarch64",
  ]);
});

Deno.test("compile plan: bad arguments and an unusable DENORT_BIN are refused in one line", () => {
  assertStringIncludes(planError(["--target", "x86_64-pc-windows-msvc"]), "unknown target");
  assertStringIncludes(planError(["--target"]), "unknown target (none given)");
  assertStringIncludes(planError(["--strip"]), "unexpected argument --strip");
  assertStringIncludes(planError(["a", "b"]), "unexpected argument b");
  assertStringIncludes(
    planError([], "/nowhere/denort"),
    "DENORT_BIN=/nowhere/denort does not exist",
  );
  assertStringIncludes(planError(["--all-targets"], "/opt/denort"), "names one target's denort");
  for (const args of [["--target", "x"], ["--strip"]]) {
    assertEquals(planError(args).split("\n").length, 1);
  }
});

Deno.test("compile: deno compile's denort and other failures become one line", () => {
  const download = "\x1b[31merror\x1b[0m: Writing deno compile executable\n\nCaused by:\n" +
    "    0: Setting up base binary.\n    1: error sending request for url " +
    "(https://dl.deno.land/release/v2/denort-aarch64-unknown-linux-gnu.zip)\n\nStack backtrace:\n   0: <unknown>\n";
  assertEquals(
    compileFailureLine(download, ARM),
    `qmd compile: cannot get the denort for ${ARM} (no network to dl.deno.land and DENORT_BIN unset); set DENORT_BIN=/path/to/denort and retry`,
  );
  assertEquals(
    compileFailureLine(
      'error: Module not found "file:///x.ts".\n\nStack backtrace:\n  0: <unknown>\n',
      undefined,
    ),
    'qmd compile: deno compile failed: error: Module not found "file:///x.ts".',
  );
});

/** Runs `deno task compile` with `env` over this environment (minus DENORT_BIN). */
async function runCompile(args: string[], env: Record<string, string>) {
  const base = Deno.env.toObject();
  delete base.DENORT_BIN;
  const result = await new Deno.Command(Deno.execPath(), {
    args: ["task", "-q", "compile", ...args],
    cwd: ROOT,
    clearEnv: true,
    env: { ...base, NO_COLOR: "1", ...env },
    stdin: "null",
  }).output();
  const decoder = new TextDecoder();
  return {
    code: result.code,
    stdout: decoder.decode(result.stdout),
    stderr: decoder.decode(result.stderr).trim(),
  };
}

Deno.test("compile: a DENORT_BIN that is not there stops the build with one line", async () => {
  const out = await makeTempHome();
  const missing = `${out}/no-such-denort`;
  const result = await runCompile(["--target", ARM, `${out}/qmd`], { DENORT_BIN: missing });
  assertEquals(result.code, 1);
  assertEquals(result.stderr.split("\n"), [
    `qmd compile: DENORT_BIN=${missing} does not exist; cannot build the executable`,
  ]);
  assertEquals(result.stdout, "");
});

Deno.test("compile: with no network and no DENORT_BIN each target's missing denort is one line", async () => {
  const denoDir = (await new Deno.Command(Deno.execPath(), { args: ["info", "--json"] }).output())
    .stdout;
  const cache = JSON.parse(new TextDecoder().decode(denoDir)).denoDir as string;
  try {
    Deno.statSync(`${cache}/dl`);
    console.log(`skipped: ${cache}/dl holds downloaded runtimes, so compile needs no network`);
    return;
  } catch {
    // No denort was ever downloaded: compile must fetch one.
  }
  // A proxy on a port nothing listens on: no request leaves this machine.
  const proxy = `http://127.0.0.1:${await freePort("127.0.0.1")}`;
  const offline = { HTTPS_PROXY: proxy, https_proxy: proxy, NO_PROXY: "", no_proxy: "" };
  const out = await makeTempHome();
  for (
    const [args, target] of [[["--target", ARM, `${out}/qmd`], ARM], [["--all-targets", out], X86]]
  ) {
    const result = await runCompile(args as string[], offline);
    assertEquals(result.code, 1, result.stderr);
    assertEquals(result.stderr.split("\n"), [
      `qmd compile: cannot get the denort for ${target} (no network to dl.deno.land and DENORT_BIN unset); set DENORT_BIN=/path/to/denort and retry`,
    ]);
    assertEquals(result.stdout, "");
  }
  assertEquals([...Deno.readDirSync(out)].map((entry) => entry.name), []);
});
