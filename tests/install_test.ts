/**
 * `deno task install` and the launcher it writes, run as an operator would:
 * from another directory, with Deno on the PATH and with only npx (a stand-in
 * npx that runs this Deno, so no registry is needed), and under a qmail
 * program's name through a link.
 */
import { assertEquals, assertStringIncludes } from "./assert.ts";
import { makeTempHome, runQmd } from "./harness.ts";

const ROOT = new URL("../", import.meta.url).pathname.replace(/\/$/, "");
const DENO = Deno.execPath();

async function run(
  command: string,
  args: string[],
  options: { cwd: string; env?: Record<string, string>; clearEnv?: boolean },
): Promise<{ code: number; stdout: string; stderr: string }> {
  const result = await new Deno.Command(command, {
    args,
    cwd: options.cwd,
    env: { NO_COLOR: "1", ...options.env },
    clearEnv: options.clearEnv,
    stdin: "null",
  }).output();
  const decoder = new TextDecoder();
  return {
    code: result.code,
    stdout: decoder.decode(result.stdout),
    stderr: decoder.decode(result.stderr),
  };
}

/** PATH entries without a deno in them (the shell's tools stay reachable). */
function pathWithoutDeno(): string[] {
  return (Deno.env.get("PATH") ?? "/usr/bin:/bin").split(":").filter((dir) => {
    try {
      Deno.statSync(`${dir}/deno`);
      return false;
    } catch {
      return dir !== "";
    }
  });
}

Deno.test("install: deno task install writes a qmd launcher that works from any directory", async () => {
  const base = (await makeTempHome()).replace(/\/home$/, "");
  const bin = `${base}/bin dir`;
  const elsewhere = `${base}/elsewhere`;
  Deno.mkdirSync(elsewhere);
  const install = await run(DENO, ["task", "install", "--bin-dir", bin], { cwd: ROOT });
  assertEquals(install.code, 0, install.stderr);
  assertStringIncludes(install.stdout, `wrote ${bin}/qmd`);
  assertStringIncludes(install.stdout, "is not on your PATH");
  assertEquals((Deno.statSync(`${bin}/qmd`).mode ?? 0) & 0o777, 0o755);
  // The launcher runs main.ts with exactly the qmd task's flags.
  const task = JSON.parse(Deno.readTextFileSync(`${ROOT}/deno.json`)).tasks.qmd as string;
  const flags = task.replace(/^deno run /, "").replace(/ main\.ts$/, "");
  assertStringIncludes(Deno.readTextFileSync(`${bin}/qmd`), `${flags} ${ROOT}/main.ts "$@"`);

  const home = await makeTempHome();
  assertEquals((await runQmd(["init", "--home", home, "--me", "mx.example.test"])).code, 0);
  const denoDir = DENO.slice(0, DENO.lastIndexOf("/"));
  const withDeno = await run(`${bin}/qmd`, ["showctl", "--home", home], {
    cwd: elsewhere,
    env: { PATH: `${bin}:${denoDir}:/usr/bin:/bin` },
  });
  assertEquals(withDeno.code, 0, withDeno.stderr);
  assertStringIncludes(withDeno.stdout, "mx.example.test");

  // Only Node.js: no deno on the PATH, npx fetches it. This npx runs this Deno instead.
  const fakeBin = `${base}/node-only`;
  Deno.mkdirSync(fakeBin);
  Deno.writeTextFileSync(
    `${fakeBin}/npx`,
    `#!/bin/sh\n[ "$1" = -y ] && [ "$2" = deno@2.9.6 ] || { echo "npx: unexpected $*" >&2; exit 99; }\nshift 2\nexec '${DENO}' "$@"\n`,
    { mode: 0o755 },
  );
  const path = [bin, fakeBin, ...pathWithoutDeno()].join(":");
  const nodeOnly = await run(`${bin}/qmd`, ["--help"], { cwd: elsewhere, env: { PATH: path } });
  assertEquals(nodeOnly.code, 0, nodeOnly.stderr);
  assertStringIncludes(nodeOnly.stdout, "usage: qmd <command>");

  // A link named for a qmail program makes it that program (argv[0] passes through).
  Deno.symlinkSync(`${bin}/qmd`, `${bin}/qmail-qstat`);
  const qstat = await run(`${bin}/qmail-qstat`, [], {
    cwd: elsewhere,
    env: { PATH: path, QMD_HOME: home },
  });
  assertEquals(qstat.code, 0, qstat.stderr);
  assertEquals(
    qstat.stdout,
    "messages in queue: 0\nmessages in queue but not yet preprocessed: 0\n",
  );

  // Installing again replaces the launcher; a qmd that is not a launcher is left alone.
  assertEquals((await run(DENO, ["task", "install", "--bin-dir", bin], { cwd: ROOT })).code, 0);
  Deno.writeTextFileSync(`${bin}/qmd`, "#!/bin/sh\necho a compiled qmd\n");
  const refused = await run(DENO, ["task", "install", "--bin-dir", bin], { cwd: ROOT });
  assertEquals(refused.code, 1);
  assertStringIncludes(refused.stderr, `${bin}/qmd exists and is not a qmd launcher`);
  assertStringIncludes(Deno.readTextFileSync(`${bin}/qmd`), "a compiled qmd");
});
