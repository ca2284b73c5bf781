/**
 * SMTPUTF8 (RFC 6531) end to end over a real `qmd start`: nodemailer (an
 * independent client) sends to UTF-8 mailboxes, the queue keeps the address
 * bytes exactly, local delivery finds the accounts' mailboxes and users'
 * .qmail-EXT files by their UTF-8 names and writes Return-Path and
 * Delivered-To unchanged; the remote role sends SMTPUTF8 to a fake MX that
 * offers it and bounces with 5.6.7 when the MX does not.
 */
import nodemailer from "nodemailer";
import { assert, assertEquals, assertMatch, assertStringIncludes } from "./assert.ts";
import {
  addUser,
  injectAndAwaitBounce,
  makeInitedHome,
  runQmd,
  startQmd,
  waitFor,
} from "./harness.ts";
import { delivered, makeUserHome } from "./user_homes.ts";
import { startFakeDns } from "./fakes/fake_dns.ts";
import { startFakeMx } from "./fakes/fake_mx.ts";

const utf8 = new TextEncoder();
const text = new TextDecoder("utf-8", { fatal: true });

function appendLine(path: string, line: string): void {
  Deno.writeTextFileSync(path, `${line}\n`, { append: true });
}

/** Every file under `dir` (recursively) whose bytes contain `needle`. */
function filesHolding(dir: string, needle: Uint8Array): string[] {
  const found: string[] = [];
  for (const entry of Deno.readDirSync(dir)) {
    const path = `${dir}/${entry.name}`;
    if (entry.isDirectory) found.push(...filesHolding(path, needle));
    else if (entry.isFile && includesBytes(Deno.readFileSync(path), needle)) found.push(path);
  }
  return found;
}

function includesBytes(haystack: Uint8Array, needle: Uint8Array): boolean {
  outer: for (let i = 0; i + needle.length <= haystack.length; i++) {
    for (let j = 0; j < needle.length; j++) if (haystack[i + j] !== needle[j]) continue outer;
    return true;
  }
  return false;
}

Deno.test("smtputf8 e2e: nodemailer sends to UTF-8 mailboxes; the queue and the Maildirs keep the bytes", async () => {
  const home = await makeInitedHome();
  await addUser(home, "jörg@example.test", "correct horse");
  // A qmail-style user: virtualdomains sends 例子.测试 to the user cn, whose .qmail-用户 delivers.
  const outside = await Deno.makeTempDir({ prefix: "qmd-utf8-" });
  const cn = makeUserHome(`${outside}/cn`, "|exit 100\n");
  Deno.writeTextFileSync(`${cn}/.qmail-用户`, "./Maildir/\n", { mode: 0o600 });
  const uid = Deno.uid() ?? 0;
  const gid = Deno.gid() ?? 0;
  Deno.writeTextFileSync(`${home}/users/assign`, `+cn-:cn:${uid}:${gid}:${cn}:-::\n.\n`);
  appendLine(`${home}/control/rcpthosts`, "例子.测试");
  appendLine(`${home}/control/virtualdomains`, "例子.测试:cn");
  // Accepted, but not delivered here (a backup MX's domain): remote, and queued for want of DNS.
  appendLine(`${home}/control/rcpthosts`, "bücher.example");
  const qmd = await startQmd(home);
  try {
    const transport = nodemailer.createTransport({
      host: "127.0.0.1",
      port: qmd.port,
      secure: false,
      ignoreTLS: true,
      name: "client.example",
    });
    // A remote recipient stays in the queue (no DNS answers): its envelope bytes can be read there.
    const recipients = ["jörg@example.test", "用户@例子.测试", "ü@bücher.example"];
    const raw = "From: Zoë <zoë@sender.example>\r\nTo: jörg@example.test\r\n" +
      "Subject: grüße\r\n\r\nHallo Jörg, 你好.\r\n";
    const info = await transport.sendMail({
      envelope: { from: "zoë@sender.example", to: recipients },
      raw,
    });
    assertMatch(String(info.response), /^250 2\.6\.0 ok \d+ qp \d+$/);
    assertEquals(info.accepted, recipients);
    // realrcptto looks for a UTF-8 mailbox as it looks for any other.
    const unknown = await transport.sendMail({
      envelope: { from: "zoë@sender.example", to: ["nöbody@example.test"] },
      raw,
    }).then(() => undefined, (error: { responseCode?: number; response?: string }) => error);
    transport.close();
    assertEquals(unknown?.responseCode, 550, unknown?.response);

    const [jorg] = await delivered(`${home}/mail/example.test/jörg/Maildir`, qmd.output);
    const [user] = await delivered(`${cn}/Maildir`, qmd.output);
    for (
      const [file, deliveredTo] of [
        [jorg, "example.test-jörg@example.test"],
        [user, "cn-用户@例子.测试"],
      ]
    ) {
      const lines = text.decode(Deno.readFileSync(file)).split("\n");
      assertEquals(lines[0], "Return-Path: <zoë@sender.example>");
      assertEquals(lines[1], `Delivered-To: ${deliveredTo}`);
      assertMatch(lines[4], /^ {2}by mx\.example\.test with UTF8SMTP; /);
      assert(lines.includes("Subject: grüße"), lines.join("\n"));
      assert(lines.includes("Hallo Jörg, 你好."), lines.join("\n"));
    }

    // qmail's envelope is bytes: the info file's F and the remote file's T are the UTF-8 bytes.
    const queue = `${home}/queue`;
    const sender = filesHolding(`${queue}/info`, utf8.encode("Fzoë@sender.example\0"));
    assertEquals(sender.length, 1, "info/ holds the sender's UTF-8 bytes");
    const remote = filesHolding(`${queue}/remote`, utf8.encode("Tü@bücher.example\0"));
    assertEquals(remote.length, 1, "remote/ holds the recipient's UTF-8 bytes");
    const qread = await runQmd(["qread", "--home", home]);
    assertEquals(qread.code, 0, qread.stderr);
    assertStringIncludes(qread.stdout, "<zoë@sender.example>");
    assertStringIncludes(qread.stdout, "ü@bücher.example");
  } finally {
    await qmd.stop();
    await Deno.remove(outside, { recursive: true });
  }
});

Deno.test("smtputf8 e2e: the remote role sends SMTPUTF8 to an MX that offers it; one that does not gets a 5.6.7 bounce", async () => {
  const offers = await startFakeMx({ host: "127.0.0.2" });
  const refuses = await startFakeMx({ host: "127.0.0.3", smtpUtf8: false });
  const dns = await startFakeDns({
    "mx.utf8.test": { a: ["127.0.0.2"] },
    "relay.plain.test": { a: ["127.0.0.3"] },
  });
  const home = await makeInitedHome();
  await addUser(home, "joe@example.test", "correct horse");
  Deno.writeTextFileSync(`${home}/control/dnsservers`, `127.0.0.1:${dns.port}\n`);
  // The UTF-8 key matches the UTF-8 domain (DNS by A-labels is remote_delivery_test.ts's).
  Deno.writeTextFileSync(
    `${home}/control/smtproutes`,
    `例子.测试:mx.utf8.test:${offers.port}\nplain.test:relay.plain.test:${refuses.port}\n`,
  );
  const qmd = await startQmd(home);
  try {
    const sent = await runQmd(
      ["inject", "--home", home, "-f", "joe@example.test", "用户@例子.测试"],
      { stdin: "Subject: to China\n\nhello\n" },
    );
    assertEquals(sent.code, 0, sent.stderr);
    await waitFor(() => offers.messages.length > 0 ? true : undefined, 20_000, () => qmd.output());
    const message = offers.messages[0];
    assertEquals(message.recipients, ["用户@例子.测试"]);
    assertEquals(message.smtpUtf8, true);

    const bounce = await injectAndAwaitBounce(
      qmd,
      "joe@example.test",
      "用户@plain.test",
      "Subject: to a plain MX\n\nhello\n",
    );
    const report = text.decode(Deno.readFileSync(bounce));
    assertStringIncludes(report, "<用户@plain.test>:\n");
    assertStringIncludes(report, "Connected to 127.0.0.3 but it does not offer SMTPUTF8");
    assertStringIncludes(report, "553 5.6.7 ");
    assertEquals(refuses.mailFrom, [], "no MAIL reached the MX without SMTPUTF8");
    assertEquals(refuses.connections(), 1);
  } finally {
    await qmd.stop();
    await offers.close();
    await refuses.close();
    await dns.close();
  }
});
