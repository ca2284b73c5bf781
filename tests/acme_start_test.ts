/**
 * control/acme at `qmd start` and on SIGHUP: a broken line stops the start
 * with the file and line named, as every other broken control file does; on
 * SIGHUP it is reported and the acme isolate keeps the file it had.
 */
import { assert, assertEquals, assertStringIncludes } from "./assert.ts";
import { makeInitedHome, runQmd, startQmd, waitFor } from "./harness.ts";
import { freePort } from "../appliance/net/free_port.ts";

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

Deno.test({
  name: "acme: SIGHUP re-reads control/acme, a broken or re-aimed one is reported and the old kept",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const home = await makeInitedHome({}, "mail.example.test");
    const http = await freePort("127.0.0.1");
    // A CA that is not there: the first order fails (and is retried inside acme-client).
    const good = `directory https://127.0.0.1:9/dir\nhttp 127.0.0.1:${http}\n`;
    Deno.writeTextFileSync(`${home}/control/acme`, good);
    const qmd = await startQmd(home, { workers: 1 });
    try {
      await waitFor(
        () => qmd.output().includes("acme: ordering a certificate for mail.example.test"),
        20_000,
        () => `the first order:\n${qmd.output()}`,
      );
      Deno.writeTextFileSync(`${home}/control/acme`, `${good}renew 0\n`);
      qmd.process.kill("SIGHUP");
      await waitFor(
        () => qmd.output().includes(`${home}/control/acme line 3: expected 1 to 90 days, found 0`),
        20_000,
        () => `the broken line reported:\n${qmd.output()}`,
      );
      assertStringIncludes(qmd.output(), "still using the previous control/acme");
      Deno.writeTextFileSync(`${home}/control/acme`, good.replace(`${http}`, `${http + 1}`));
      qmd.process.kill("SIGHUP");
      await waitFor(
        () => qmd.output().includes("a new directory host or http address takes effect when qmd"),
        20_000,
        () => `the re-aimed file reported:\n${qmd.output()}`,
      );
    } finally {
      // The order still running does not hold up the drain.
      assertEquals(await qmd.stop(), 0);
    }
  },
});
