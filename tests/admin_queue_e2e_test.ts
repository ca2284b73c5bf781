/**
 * The console's queue page on a running appliance: a message to a remote
 * host that refuses connections stays deferred; held over HTTP it shows as
 * held on the page and in `qmd queue list`, and released over HTTP the
 * send role (which carried both out: its log says so) tries it again.
 */
import { assertEquals, assertStringIncludes } from "./assert.ts";
import { makeInitedHome, runQmd, startQmd, waitFor } from "./harness.ts";
import { adminLogin } from "./admin_client.ts";
import { freePort } from "../appliance/net/free_port.ts";
import type { QueuedMessage } from "../appliance/queue/control_request.ts";

const ADMIN_PASSWORD = "a long admin password";

/** How many deliveries of message `id` the log shows started. */
function deliveriesOf(log: string, id: string): number {
  return log.split("\n").filter((line) => line.includes(`: msg ${id} to remote `)).length;
}

Deno.test("admin queue e2e: a deferred message held and released over HTTP by the send role", async () => {
  const home = await makeInitedHome();
  const passwd = await runQmd(["admin", "passwd", "--password-stdin", "--home", home], {
    stdin: `${ADMIN_PASSWORD}\n`,
  });
  assertEquals(passwd.code, 0, passwd.stderr);
  // Nothing listens on this loopback port: every remote delivery is deferred.
  Deno.writeTextFileSync(
    `${home}/control/smtproutes`,
    `:[127.0.0.1]:${await freePort("127.0.0.1")}\n`,
  );
  const qmd = await startQmd(home, { workers: 1 });
  try {
    const admin = await adminLogin(`http://127.0.0.1:${qmd.adminPort}`, ADMIN_PASSWORD);
    const sent = await runQmd([
      "inject",
      "--home",
      home,
      "-f",
      "joe@example.test",
      "far@remote.example",
    ], {
      stdin: "Subject: stuck\n\nhello\n",
    });
    assertEquals(sent.code, 0, sent.stderr);
    const listed = async (query = "") => {
      const data = await (await admin.get(`/api/queue${query}`)).json();
      return data.messages as QueuedMessage[];
    };
    const deferred = await waitFor(
      async () =>
        (await listed("?q=far@remote")).find((message) =>
          message.recipients.some((each) => each.lastDeferral !== undefined)
        ),
      30_000,
      qmd.output,
    );
    const id = deferred.id;
    const page = await (await admin.get("/queue")).text();
    assertStringIncludes(page, `href="/queue/message/${id}"`);

    const hold = await admin.postForm("/queue/action", { action: "hold", id, back: "list" });
    assertEquals(hold.status, 303);
    await hold.body?.cancel();
    // The send role carried it out: its log line comes through the supervisor.
    await waitFor(
      () => qmd.output().includes(`queue hold msg ${id}`) || undefined,
      10_000,
      qmd.output,
    );
    assertEquals((await listed("?state=held")).map((message) => message.id), [id]);
    const detail = await (await admin.get(`/queue/message/${id}`)).text();
    assertStringIncludes(detail, "queued, held");
    const cli = JSON.parse((await runQmd(["queue", "list", "--json", "--home", home])).stdout);
    assertEquals(cli.messages.find((each: QueuedMessage) => each.id === id)?.held, true);

    const before = deliveriesOf(qmd.output(), id);
    const release = await admin.postJson("/api/queue/release", { ids: [id] });
    assertEquals(release.status, 200);
    const { by, results } = await release.json();
    assertEquals(by, "send role");
    assertEquals(results[0].text, "released: due now");
    assertEquals(await listed("?state=held"), []);
    await waitFor(() => deliveriesOf(qmd.output(), id) > before || undefined, 20_000, qmd.output);
    assertStringIncludes(qmd.output(), `queue release msg ${id}`);
  } finally {
    assertEquals(await qmd.stop(), 0);
  }
});
