/**
 * control/acme at `qmd start`: a broken line stops the start with the file
 * and line named, as every other broken control file does.
 */
import { assert, assertStringIncludes } from "./assert.ts";
import { makeInitedHome, runQmd } from "./harness.ts";

Deno.test("acme: a broken control/acme line stops qmd start, naming the file and line", async () => {
  const home = await makeInitedHome();
  Deno.writeTextFileSync(`${home}/control/acme`, "# renewal\nrenew 120\n");
  const run = await runQmd([
    "start",
    "--home",
    home,
    "--smtp",
    "127.0.0.1:0",
    "--smtpd-workers",
    "1",
    "--grace",
    "1",
  ]);
  assert(run.code !== 0, `exit ${run.code}`);
  assertStringIncludes(
    run.stdout + run.stderr,
    `${home}/control/acme line 2: expected 1 to 90 days, found 120`,
  );
});
