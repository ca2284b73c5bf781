/**
 * What `qmd user` and `qmd domain` tell the operator is what the running
 * appliance does: a mailbox in a domain listed in control/locals gets its
 * mail, and deleting a virtual domain of the same name as a local one keeps
 * the rcpthosts line `qmd init` wrote, so its postmaster is still accepted.
 */
import { assert, assertEquals, assertMatch, assertStringIncludes } from "./assert.ts";
import {
  addUser,
  maildirNew,
  makeInitedHome,
  runQmd,
  sendMessage,
  SmtpClient,
  startQmd,
  waitFor,
} from "./harness.ts";

Deno.test("e2e: x@localhost is delivered to its mailbox; domain del localhost keeps init's rcpthosts line", async () => {
  const home = await makeInitedHome();
  const add = await addUser(home, "x@localhost", "pw");
  // What it says about control/locals must be what happens below.
  assert(!add.stdout.includes("not to virtual mailboxes"), add.stdout);
  assert(!add.stdout.includes("warning:"), add.stdout);
  assertStringIncludes(add.stdout, "its mailboxes still get their mail");

  const qmd = await startQmd(home);
  try {
    const reply = await sendMessage(
      qmd.port,
      "a@sender.example",
      ["x@localhost"],
      "Subject: t\n\nhi\n",
    );
    assertMatch(reply, /^250 /);
    const maildir = `${home}/mail/localhost/x/Maildir`;
    const [file] = await waitFor(
      () => maildirNew(maildir).length > 0 ? maildirNew(maildir) : undefined,
      20_000,
      () => `delivery to ${maildir}\n${qmd.output()}`,
    );
    assertStringIncludes(Deno.readTextFileSync(file), "Delivered-To: x@localhost\n");

    const del = await runQmd(["domain", "del", "localhost", "--force", "--home", home]);
    assertEquals(del.code, 0, del.stderr);
    assertStringIncludes(del.stdout, "kept control/rcpthosts line 2 (localhost)");
    assertEquals(
      Deno.readTextFileSync(`${home}/control/rcpthosts`),
      "mx.example.test\nlocalhost\n",
    );
    const client = await SmtpClient.connect(qmd.port);
    try {
      await client.reply();
      await client.command("HELO test.example");
      await client.command("MAIL FROM:<a@sender.example>");
      assertMatch(await client.command("RCPT TO:<postmaster@localhost>"), /^250 /);
      await client.command("QUIT");
    } finally {
      client.close();
    }
  } finally {
    await qmd.stop();
  }
});
