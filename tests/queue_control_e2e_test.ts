/**
 * Queue control on a running appliance (issue 14): a message to a remote
 * host that refuses connections stays deferred; `qmd queue` lists it with
 * its last deferral, holds, releases, retries and bounces it, and `qmd
 * queue remove` and qmail-remove take others, every change carried out by
 * the send role (its log says so) while real qmail tools' view (`qmd
 * qread`) stays qmail's.
 */
import { assert, assertEquals, assertStringIncludes } from "./assert.ts";
import { addUser, maildirNew, makeInitedHome, runQmd, startQmd, waitFor } from "./harness.ts";
import { freePort } from "../appliance/net/free_port.ts";
import type { QueuedMessage } from "../appliance/queue/control_request.ts";

/** `qmd queue list --json` on `home`. */
async function list(home: string): Promise<{ by: string; messages: QueuedMessage[] }> {
  const listed = await runQmd(["queue", "list", "--json", "--home", home]);
  assertEquals(listed.code, 0, listed.stderr);
  return JSON.parse(listed.stdout);
}

/** Injects a message from joe to `to` and waits until its remote recipient has been deferred. */
async function queueDeferred(home: string, to: string, subject: string, log: () => string) {
  const sent = await runQmd(["inject", "--home", home, "-f", "joe@example.test", to], {
    stdin: `Subject: ${subject}\n\nhello\n`,
  });
  assertEquals(sent.code, 0, sent.stderr);
  return await waitFor(
    async () => {
      const { messages } = await list(home);
      return messages.find((message) =>
        message.recipients.some((each) => each.address === to && each.lastDeferral !== undefined)
      );
    },
    30_000,
    log,
  );
}

/** How many deliveries of message `id` the log shows started. */
function deliveriesOf(log: string, id: string): number {
  return log.split("\n").filter((line) => line.includes(`: msg ${id} to remote `)).length;
}

Deno.test("queue control on a running qmd goes through the send role", async () => {
  const home = await makeInitedHome();
  await addUser(home, "joe@example.test", "correct horse");
  // Nothing listens on this loopback port: every remote delivery is deferred.
  Deno.writeTextFileSync(
    `${home}/control/smtproutes`,
    `:[127.0.0.1]:${await freePort("127.0.0.1")}\n`,
  );
  const qmd = await startQmd(home);
  try {
    const first = await queueDeferred(home, "far@remote.example", "first", qmd.output);
    const id = first.id;
    assertEquals(first.state, "queued");
    assert(first.nextRetry.remote !== undefined);
    assertStringIncludes(first.recipients[0].lastDeferral!.text, "establish an SMTP connection");
    assertEquals((await list(home)).by, "send role");
    const text = await runQmd(["queue", "list", "--home", home]);
    assertStringIncludes(text.stdout, `#${id}  <joe@example.test>`);
    assertStringIncludes(text.stdout, "last deferral ");

    const qreadBefore = (await runQmd(["qread", "--home", home])).stdout;
    const hold = await runQmd(["queue", "hold", id, "--home", home]);
    assertEquals(hold.code, 0, hold.stderr);
    await waitFor(() => /queue hold msg \d+/.test(qmd.output()) || undefined, 10_000, qmd.output);
    assert(Deno.statSync(`${home}/queue/hold/${id}`).isFile);
    assertEquals((await runQmd(["qread", "--home", home])).stdout, qreadBefore);
    assertEquals((await list(home)).messages.find((each) => each.id === id)?.held, true);
    const refused = await runQmd(["queue", "retry", id, "--home", home]);
    assertEquals(refused.code, 111);
    assertStringIncludes(refused.stderr, "is held");

    const before = deliveriesOf(qmd.output(), id);
    const release = await runQmd(["queue", "release", id, "--home", home]);
    assertEquals(release.code, 0, release.stderr);
    await waitFor(() => deliveriesOf(qmd.output(), id) > before || undefined, 20_000, qmd.output);
    const retried = deliveriesOf(qmd.output(), id);
    // The delivery must end before a bounce is allowed; the retry waits its turn too.
    await waitFor(
      async () => {
        const retry = await runQmd(["queue", "retry", id, "--home", home]);
        return retry.code === 0 || undefined;
      },
      20_000,
      qmd.output,
    );
    await waitFor(() => deliveriesOf(qmd.output(), id) > retried || undefined, 20_000, qmd.output);

    await waitFor(
      async () => {
        const bounce = await runQmd([
          "queue",
          "bounce",
          id,
          "--reason",
          "The test bounced it.",
          "--home",
          home,
        ]);
        return bounce.code === 0 || undefined;
      },
      20_000,
      qmd.output,
    );
    const maildir = `${home}/mail/example.test/joe/Maildir`;
    const [bounce] = await waitFor(
      () => maildirNew(maildir).length > 0 ? maildirNew(maildir) : undefined,
      20_000,
      qmd.output,
    );
    const bounceText = Deno.readTextFileSync(bounce);
    assertStringIncludes(bounceText, "<far@remote.example>:\nThe test bounced it.\n");
    assertStringIncludes(bounceText, "Subject: first");

    const second = await queueDeferred(home, "other@remote.example", "second", qmd.output);
    const third = await queueDeferred(home, "third@remote.example", "third-marker", qmd.output);
    await waitFor(
      async () => {
        const removed = await runQmd(["queue", "remove", second.id, "--home", home]);
        return removed.code === 0 || undefined;
      },
      20_000,
      qmd.output,
    );
    const found = await runQmd(["remove", "-p", "third-marker", "--home", home]);
    assertEquals(found.stdout, `${third.id}: yes\n`);
    await waitFor(
      async () => {
        const yanked = await runQmd(["remove", "-p", "third-marker", "-r", "--home", home]);
        return yanked.code === 0 || undefined;
      },
      20_000,
      qmd.output,
    );
    assert(Deno.statSync(`${home}/queue/yanked/${third.id}.mess`).isFile);
    assertEquals((await list(home)).messages, []);
    assertEquals(
      (await runQmd(["qstat", "--home", home])).stdout,
      [
        "messages in queue: 0",
        "messages in queue but not yet preprocessed: 0",
        "",
      ].join("\n"),
    );
    assertStringIncludes(qmd.output(), `queue remove msg ${second.id}: removed`);
    assertStringIncludes(qmd.output(), `queue yank msg ${third.id}: yanked`);
  } finally {
    assertEquals(await qmd.stop(), 0);
  }
});
