/**
 * Authentication-Results in a running appliance (`qmd start`): nodemailer,
 * an independent client and DKIM signer, sends a signed message carrying a
 * forged Authentication-Results header with our authserv-id and another
 * host's; the smtpd role verifies it inside its worker, with its own
 * permissions, against a fake DNS zone on loopback (control/dnsservers),
 * spools it in queue/pid, and the Maildir copy has our header first after
 * qmail's own lines, the forged one gone and the foreign one kept.
 */
import nodemailer from "nodemailer";
import { assert, assertEquals, assertMatch } from "./assert.ts";
import { addUser, maildirNew, makeInitedHome, startQmd, waitFor } from "./harness.ts";
import { startFakeDns } from "./fakes/fake_dns.ts";
import { KEYS, mailAuthZone } from "./fakes/mail_auth.ts";

Deno.test("auth results e2e: a message nodemailer signed lands with our header first", async () => {
  const dns = await startFakeDns(mailAuthZone());
  const home = await makeInitedHome({ authresults: "1", dmarcreject: "1" });
  Deno.writeTextFileSync(`${home}/control/dnsservers`, `127.0.0.1:${dns.port}\n`);
  await addUser(home, "joe@example.test", "correct horse");
  const qmd = await startQmd(home);
  try {
    const transport = (dkim: boolean) =>
      nodemailer.createTransport({
        host: "127.0.0.1",
        port: qmd.port,
        secure: false,
        ignoreTLS: true,
        name: "client.example",
        ...(dkim
          ? {
            dkim: {
              domainName: "example.org",
              keySelector: "sel",
              privateKey: KEYS.rsa.privateKey,
            },
          }
          : {}),
      });
    const signer = transport(true);
    const info = await signer.sendMail({
      from: "alice@example.org",
      to: "joe@example.test",
      subject: "signed",
      text: "Hello Joe.\n.leading dot line\n",
      headers: {
        "Authentication-Results": "mx.example.test; dkim=pass header.d=bank.example",
        "X-Relay-Results": "kept",
      },
    });
    signer.close();
    assertMatch(String(info.response), /^250 2\.6\.0 ok \d+ qp \d+$/);
    // p=reject and dmarcreject 1: a forged From is refused at the final dot.
    const unsigned = transport(false);
    const refused = await unsigned.sendMail({
      from: "alerts@example.org",
      to: "joe@example.test",
      envelope: { from: "x@spf-fail.example", to: "joe@example.test" },
      subject: "pay now",
      text: "Pay.\n",
    }).then(() => "accepted", (error: Error & { response?: string }) => error.response ?? "");
    unsigned.close();
    assertMatch(refused, /^550 5\.7\.1 message refused: it fails the DMARC policy of example\.org/);

    const maildir = `${home}/mail/example.test/joe/Maildir`;
    const [file] = await waitFor(
      () => maildirNew(maildir).length > 0 ? maildirNew(maildir) : undefined,
      20_000,
      () => qmd.output(),
    );
    const text = await Deno.readTextFile(file);
    const lines = text.split("\n");
    assertEquals(lines[0], "Return-Path: <alice@example.org>");
    assertMatch(lines[2], /^Received: \(qmail \d+ invoked from network\); /);
    assertEquals(lines[3], "Authentication-Results: mx.example.test;");
    assertMatch(
      lines[4],
      /^ dkim=pass header\.i=@example\.org header\.s=sel header\.a=rsa-sha256 /,
    );
    assertMatch(
      lines[5],
      /^ spf=pass \(mx\.example\.test: domain of alice@example\.org designates 127\.0\.0\.1 /,
    );
    assertEquals(lines[6], " arc=none;");
    assertMatch(lines[7], /^ dmarc=pass \(p=REJECT arc=none\) header\.from=example\.org/);
    assertMatch(lines[8], /^Received: from unknown \(HELO client\.example\) \(127\.0\.0\.1\)$/);
    assertEquals(text.split("Authentication-Results:").length, 2, "the forged one is gone");
    assert(text.includes("\nX-Relay-Results: kept\n"), text);
    assert(text.includes("\nHello Joe.\n.leading dot line\n"), text);
    await waitFor(
      () => /auth results: dkim=none spf=fail arc=none dmarc=fail/.test(qmd.output()) || undefined,
      10_000,
      () => qmd.output(),
    );
    assertMatch(qmd.output(), /auth results: dkim=pass spf=pass arc=none dmarc=pass/);
    assertEquals([...Deno.readDirSync(`${home}/queue/pid`)], [], "no spool left in queue/pid");
  } finally {
    await qmd.stop();
    await dns.close();
  }
});
