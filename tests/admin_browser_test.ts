/**
 * The console in a real browser: playwright-core drives Debian's chromium
 * (/usr/bin/chromium) against `qmd start` on loopback. It logs in, sees a
 * deferred message on the queue page, holds and releases it with the
 * row's buttons, holds it again as a bulk job whose page follows its
 * progress, opens it, edits control/databytes and rolls the change back,
 * and watches a line arrive in the live log; no page may break the CSP (no
 * inline script or style). Without chromium the test is skipped, saying
 * why (CI has none: `apt-get install chromium` to run it).
 */
import { assert, assertEquals, assertStringIncludes } from "./assert.ts";
import { makeInitedHome, runQmd, startQmd, waitFor } from "./harness.ts";
import { freePort } from "../appliance/net/free_port.ts";
import type { QueuedMessage } from "../appliance/queue/control_request.ts";

const CHROMIUM = "/usr/bin/chromium";
const ADMIN_PASSWORD = "a long admin password";

function chromiumInstalled(): boolean {
  try {
    return Deno.statSync(CHROMIUM).isFile;
  } catch {
    return false;
  }
}

const installed = chromiumInstalled();
if (!installed) {
  console.log(
    `admin browser test skipped: ${CHROMIUM} is not installed (apt-get install chromium)`,
  );
}

/** The first message `qmd queue list` shows with a deferral kept. */
async function deferredMessage(home: string): Promise<QueuedMessage | undefined> {
  const listed = await runQmd(["queue", "list", "--json", "--home", home]);
  const messages = JSON.parse(listed.stdout).messages as QueuedMessage[];
  return messages.find((message) =>
    message.recipients.some((each) => each.lastDeferral !== undefined)
  );
}

Deno.test({
  name:
    "admin browser: log in, hold and release a message, edit and roll back a control file, live log",
  ignore: !installed,
  async fn() {
    const { chromium } = await import("playwright-core");
    const home = await makeInitedHome();
    const passwd = await runQmd(["admin", "passwd", "--password-stdin", "--home", home], {
      stdin: `${ADMIN_PASSWORD}\n`,
    });
    assertEquals(passwd.code, 0, passwd.stderr);
    // Nothing listens on this loopback port: the remote delivery stays deferred.
    Deno.writeTextFileSync(
      `${home}/control/smtproutes`,
      `:[127.0.0.1]:${await freePort("127.0.0.1")}\n`,
    );
    const qmd = await startQmd(home, { workers: 1 });
    const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true });
    const problems: string[] = [];
    try {
      const page = await browser.newPage();
      page.setDefaultTimeout(20_000);
      page.on("console", (message) => {
        // A 4xx answer is logged as "Failed to load resource" (the refused file's 422): expected.
        if (message.type() === "error" && !message.text().startsWith("Failed to load resource")) {
          problems.push(message.text());
        }
      });
      page.on("pageerror", (error) => problems.push(error.message));
      const base = `http://127.0.0.1:${qmd.adminPort}`;

      const sent = await runQmd(
        ["inject", "--home", home, "-f", "joe@example.test", "far@remote.example"],
        { stdin: "Subject: stuck\n\nhello\n" },
      );
      assertEquals(sent.code, 0, sent.stderr);
      const { id } = await waitFor(() => deferredMessage(home), 30_000, qmd.output);

      // Log in: the login page, then the dashboard.
      await page.goto(`${base}/`);
      assertEquals(new URL(page.url()).pathname, "/login");
      await page.fill('input[name="password"]', ADMIN_PASSWORD);
      await Promise.all([page.waitForURL(`${base}/`), page.click("text=Log in")]);
      assertEquals(await page.textContent("h1"), "Dashboard");

      // The queue: the message is listed; hold it, then release it, with the row's buttons.
      await page.click('nav a[href="/queue"]');
      const row = page.locator(`tr[data-id="${id}"]`);
      assertStringIncludes(await row.innerText(), "far@remote.example");
      await Promise.all([
        page.waitForURL(/\/queue\?ok=/),
        row.locator('button[value="hold"]').click(),
      ]);
      assertStringIncludes(await row.locator(".state").innerText(), "held");
      assertStringIncludes(await page.locator("p.ok").innerText(), `#${id}: held`);
      assertEquals((await deferredMessage(home))?.held, true);
      await Promise.all([
        page.waitForURL(/\/queue\?ok=/),
        row.locator('button[value="release"]').click(),
      ]);
      assert(!(await row.locator(".state").innerText()).includes("held"));
      assertEquals((await deferredMessage(home))?.held, false);

      // A bulk hold of the ticked message: the job's page polls its progress (bulk_progress.js).
      await row.locator('input[type="checkbox"]').check();
      await page.selectOption('#bulk select[name="action"]', "hold");
      await Promise.all([
        page.waitForURL(/\/queue\/jobs\//),
        page.click("text=Apply to the selected messages"),
      ]);
      await page.locator("#progress-text", { hasText: "1 of 1 done" }).waitFor();
      assertStringIncludes(await page.locator("li.ok").innerText(), `#${id}: held`);
      assertEquals((await deferredMessage(home))?.held, true);
      await page.goto(`${base}/queue`);

      // The message's own page: envelope and header.
      await page.click(`a[href="/queue/message/${id}"]`);
      assertStringIncludes(await page.locator("pre").innerText(), "Subject: stuck");

      // A control file: a broken value refused naming the line, a good one saved, then rolled back.
      await page.goto(`${base}/controls/file?name=databytes`);
      await page.fill('textarea[name="text"]', "ten megabytes\n");
      await page.click("text=Check and save");
      assertStringIncludes(await page.locator("p.error").innerText(), "control/databytes line 1");
      await page.fill('textarea[name="text"]', "20000000\n");
      await Promise.all([page.waitForURL(/ok=saved/), page.click("text=Check and save")]);
      assertEquals(Deno.readTextFileSync(`${home}/control/databytes`), "20000000\n");
      await Promise.all([
        page.waitForURL(/ok=/),
        page.locator("form[action='/controls/rollback'] button").first().click(),
      ]);
      let rolledBack = true;
      try {
        Deno.statSync(`${home}/control/databytes`);
        rolledBack = false;
      } catch {
        // the file did not exist before the change: the rollback removed it
      }
      assert(rolledBack, "control/databytes is back as it was (absent)");

      // The live log: a change made now shows up in the open page.
      await page.goto(`${base}/log`);
      const release = await runQmd(["queue", "release", id, "--home", home]);
      assertEquals(release.code, 0, release.stderr);
      await page.locator("#log", { hasText: `queue release msg ${id}` }).waitFor();
      assertEquals(problems, [], "no script error and no CSP violation on any page");
    } finally {
      await browser.close();
      assertEquals(await qmd.stop(), 0);
    }
  },
});
