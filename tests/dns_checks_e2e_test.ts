/**
 * The DNS checks in a running appliance (`qmd start`): the smtpd role loads
 * their control files, asks the resolver of control/dnsservers (a fake DNS
 * server on loopback), and imports mailauth on the first SPF lookup inside
 * its worker, with the role's own permissions.
 */
import { assertEquals, assertMatch } from "./assert.ts";
import { addUser, maildirNew, makeInitedHome, SmtpClient, startQmd, waitFor } from "./harness.ts";
import { startFakeDns } from "./fakes/fake_dns.ts";

Deno.test("dns e2e: spfbehavior 3 refuses a fail and stamps Received-SPF on a pass; a DNSBL listing", async () => {
  const dns = await startFakeDns({
    "spf-pass.example": { txt: ["v=spf1 ip4:127.0.0.0/8 -all"] },
    "spf-fail.example": { txt: ["v=spf1 ip4:192.0.2.0/24 -all"] },
    "1.0.0.127.bl.example": { txt: ["listed for the test"] },
  });
  const home = await makeInitedHome({ spfbehavior: "3" });
  Deno.writeTextFileSync(`${home}/control/dnsservers`, `127.0.0.1:${dns.port}\n`);
  await addUser(home, "joe@example.test", "correct horse");
  const qmd = await startQmd(home);
  try {
    const client = await SmtpClient.connect(qmd.port);
    try {
      await client.reply();
      await client.command("HELO client.example");
      assertMatch(
        await client.command("MAIL FROM:<a@spf-fail.example>"),
        /^550 mx\.example\.test: domain of a@spf-fail\.example does not designate 127\.0\.0\.1 as permitted sender \(#5\.7\.1\)$/,
      );
      assertEquals(await client.command("MAIL FROM:<a@spf-pass.example>"), "250 2.1.0 ok");
      assertEquals(await client.command("RCPT TO:<joe@example.test>"), "250 2.1.5 ok");
      assertMatch(await client.command("DATA"), /^354/);
      await client.send("Subject: spf\r\n\r\nhello\r\n.\r\n");
      assertMatch(await client.reply(), /^250 2\.6\.0 ok/);
      await client.command("QUIT");
    } finally {
      client.close();
    }
    const maildir = `${home}/mail/example.test/joe/Maildir`;
    const [file] = await waitFor(
      () => maildirNew(maildir).length > 0 ? maildirNew(maildir) : undefined,
      20_000,
      () => qmd.output(),
    );
    assertMatch(
      await Deno.readTextFile(file),
      /\nReceived-SPF: pass \(mx\.example\.test: domain of a@spf-pass\.example designates 127\.0\.0\.1 as permitted sender\) client-ip=127\.0\.0\.1;/,
    );
    // Controls are read per reload: the DNSBL part starts the appliance again.
  } finally {
    await qmd.stop();
  }
  Deno.writeTextFileSync(`${home}/control/rblsmtpd`, "-r bl.example\n");
  const listed = await startQmd(home);
  try {
    const client = await SmtpClient.connect(listed.port);
    try {
      assertEquals(await client.reply(), "220 rblsmtpd.local");
      assertEquals(await client.command("HELO client.example"), "250 rblsmtpd.local");
      assertEquals(await client.command("RCPT TO:<joe@example.test>"), "451 listed for the test");
      assertEquals(await client.command("QUIT"), "221 rblsmtpd.local");
    } finally {
      client.close();
    }
    await waitFor(
      () => /rblsmtpd: 127\.0\.0\.1: 451 listed for the test/.test(listed.output()) || undefined,
      10_000,
      () => listed.output(),
    );
    // -t 1: rblsmtpd's alarm drops the conversation a second after it began, without a word.
    Deno.writeTextFileSync(`${home}/control/rblsmtpd`, "-t 1 -r bl.example\n");
    const reloads = listed.output().split("reloaded control files").length;
    listed.process.kill("SIGHUP");
    await waitFor(
      () => listed.output().split("reloaded control files").length > reloads || undefined,
      10_000,
      () => listed.output(),
    );
    const dropped = await SmtpClient.connect(listed.port);
    try {
      assertEquals(await dropped.reply(), "220 rblsmtpd.local");
      assertEquals(await dropped.command("HELO client.example"), "250 rblsmtpd.local");
      const after = await dropped.reply().then((reply) => `reply ${reply}`, (error) => `${error}`);
      assertMatch(after, /connection closed; buffered: ""/);
    } finally {
      dropped.close();
    }
    await waitFor(
      () => /timeout: rblsmtpd -t 1/.test(listed.output()) || undefined,
      10_000,
      () => listed.output(),
    );
  } finally {
    await listed.stop();
    await dns.close();
  }
});
