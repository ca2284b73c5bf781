/**
 * New listener permissions on SIGHUP (appliance/listener_takeover.ts): an
 * rcptcheck program named after qmd started could not run in the smtpd
 * isolate (its run permission is fixed at start); after a reload a successor
 * isolate with the new permissions takes the port over, while a session
 * opened before the reload goes on in the old isolate until it ends.
 */
import { assertEquals, assertMatch } from "./assert.ts";
import { addUser, makeInitedHome, SmtpClient, startQmd, waitFor } from "./harness.ts";

const PROGRAM = new URL("./fixtures/rcptcheck/exit_code.sh", import.meta.url).pathname;

async function rcptReply(port: number, recipient: string): Promise<string> {
  const client = await SmtpClient.connect(port);
  try {
    await client.reply();
    await client.command("HELO client.example");
    assertMatch(await client.command("MAIL FROM:<a@sender.example>"), /^250 /);
    return await client.command(`RCPT TO:<${recipient}>`);
  } finally {
    client.close();
  }
}

Deno.test("regrant e2e: an rcptcheck named after the start runs once a reload hands smtpd over", async () => {
  // realrcptto off: the program alone decides for these made-up addresses.
  const home = await makeInitedHome({ realrcptto: "0" });
  await addUser(home, "joe@virtual.example", "pw");
  const qmd = await startQmd(home, { workers: 1 });
  const early = await SmtpClient.connect(qmd.port);
  try {
    assertMatch(await early.reply(), /^220 /);
    assertEquals(await early.command("HELO early.example"), "250 mx.example.test");
    assertEquals(await rcptReply(qmd.port, "100@virtual.example"), "250 2.1.5 ok");

    Deno.writeTextFileSync(`${home}/control/rcptcheck`, `${PROGRAM}\n`);
    qmd.process.kill("SIGHUP");
    await waitFor(
      () => qmd.output().includes("smtpd permissions changed") || undefined,
      10_000,
      () => qmd.output(),
    );
    // Once the successor listens, new sessions run the program: exit 100 refuses.
    await waitFor(
      async () => (await rcptReply(qmd.port, "100@virtual.example")).startsWith("553") || undefined,
      20_000,
      () => qmd.output(),
    );
    assertEquals(
      await rcptReply(qmd.port, "100@virtual.example"),
      "553 sorry, no mailbox here by that name. (#5.1.1)",
    );
    assertEquals(await rcptReply(qmd.port, "0@virtual.example"), "250 2.1.5 ok");

    // The session from before the reload is still served, by the old isolate.
    assertEquals(await early.command("MAIL FROM:<a@sender.example>"), "250 2.1.0 ok");
    assertEquals(await early.command("QUIT"), "221 2.0.0 mx.example.test");
  } finally {
    early.close();
    await qmd.stop();
  }
  // The old isolate ended after its last session; nothing crashed on the way.
  assertEquals(qmd.output().includes("crashed"), false, qmd.output());
});
