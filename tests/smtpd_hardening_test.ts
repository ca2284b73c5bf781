/**
 * The smtpd defects of issue 11 over real sockets and real processes: a
 * successful AUTH does not survive STARTTLS (RFC 3207 §4.2), every refusal
 * is logged by default in text and JSON, and `qmd smtpd` exits as
 * qmail-smtpd does (0 after QUIT, 1 on every other end).
 */
import net from "node:net";
import tls from "node:tls";
import { assert, assertEquals, assertStringIncludes } from "./assert.ts";
import { addUser, makeInitedHome, runQmd, startQmd, waitFor } from "./harness.ts";

const PASSWORD = "correct horse";

async function homeWithMailbox(): Promise<string> {
  // AUTH PLAIN before TLS, so that there is an AUTH for STARTTLS to forget.
  const home = await makeInitedHome({ "auth/smtp": "3" });
  await addUser(home, "joe@example.test", PASSWORD);
  return home;
}

/** Collects what a socket receives; `until` waits for a pattern and takes the text. */
function collector(socket: net.Socket | tls.TLSSocket) {
  let text = "";
  socket.on("data", (chunk: Uint8Array) => text += new TextDecoder().decode(chunk));
  socket.on("error", () => {});
  return {
    async until(pattern: RegExp): Promise<string> {
      await waitFor(
        () => pattern.test(text) ? true : undefined,
        20_000,
        () => JSON.stringify(text),
      );
      const seen = text;
      text = "";
      return seen;
    },
  };
}

Deno.test("smtpd: an AUTH from before STARTTLS does not relay after it (RFC 3207 §4.2)", async () => {
  const home = await homeWithMailbox();
  const qmd = await startQmd(home);
  try {
    const plain = net.connect({ host: "127.0.0.1", port: qmd.port });
    const before = collector(plain);
    await before.until(/^220 .*\r\n/);
    plain.write("EHLO client.example\r\n");
    assertStringIncludes(await before.until(/250 SMTPUTF8\r\n/), "250-STARTTLS\r\n");
    plain.write(`AUTH PLAIN ${btoa(`\0joe@example.test\0${PASSWORD}`)}\r\n`);
    assertEquals(await before.until(/\r\n/), "235 2.7.0 ok, go ahead\r\n");
    plain.write("STARTTLS\r\n");
    await before.until(/^220 2\.0\.0 ready to start TLS\r\n$/);
    plain.removeAllListeners("data");
    const ca = Deno.readTextFileSync(`${home}/control/servercert.pem`);
    const secure = tls.connect({ socket: plain, ca, servername: "mx.example.test" });
    const after = collector(secure);
    await new Promise<void>((resolve, reject) => {
      secure.once("secureConnect", () => resolve());
      secure.once("error", reject);
    });
    secure.write("EHLO client.example\r\n");
    await after.until(/250 SMTPUTF8\r\n/);
    secure.write("MAIL FROM:<joe@example.test>\r\n");
    assertEquals(await after.until(/\r\n/), "250 2.1.0 ok\r\n");
    secure.write("RCPT TO:<friend@elsewhere.example>\r\n");
    assertEquals(
      await after.until(/\r\n/),
      "553 5.7.1 sorry, that domain isn't in my list of allowed rcpthosts\r\n",
    );
    secure.write("QUIT\r\n");
    await after.until(/221 /);
    secure.destroy();
  } finally {
    await qmd.stop();
  }
});

/** One `qmd smtpd` session on a pipe, as under tcpserver. */
function smtpdSession(home: string, lines: string[], raw = "") {
  return runQmd(["smtpd", "--home", home], {
    stdin: lines.map((line) => line + "\r\n").join("") + raw,
    env: { TCPREMOTEIP: "192.0.2.7", TCPLOCALHOST: "mx.example.test" },
  });
}

Deno.test("qmd smtpd logs every refusal by default and exits 0 only after QUIT, as qmail-smtpd", async () => {
  const home = await homeWithMailbox();
  const envelope = ["HELO client.example", "MAIL FROM:<a@sender.example>"];

  const refused = await smtpdSession(home, [...envelope, "RCPT TO:<c@elsewhere.example>", "QUIT"]);
  assertEquals(refused.code, 0, refused.stderr);
  assertStringIncludes(
    refused.stderr,
    " reject: RCPT from 192.0.2.7 helo=<client.example>: 553 5.7.1 sorry, that domain isn't in " +
      "my list of allowed rcpthosts; from=<a@sender.example> to=<c@elsewhere.example>\n",
  );

  // qmail-smtpd's straynewline(): 451 and _exit(1).
  const bareLf = await smtpdSession(
    home,
    [...envelope, "RCPT TO:<joe@example.test>", "DATA"],
    "Subject: x\r\n\r\nbare\nlf\r\n.\r\n",
  );
  assertEquals(bareLf.code, 1, bareLf.stderr);
  assertStringIncludes(bareLf.stdout, "451 4.5.0 See http://pobox.com/~djb/docs/smtplf.html.\r\n");
  assertStringIncludes(
    bareLf.stderr,
    " reject: END-OF-MESSAGE from 192.0.2.7 helo=<client.example>: 451 4.5.0 See " +
      "http://pobox.com/~djb/docs/smtplf.html.; from=<a@sender.example> to=<joe@example.test>\n",
  );

  // End of input inside DATA: qmail-smtpd's die_read(), _exit(1).
  const eof = await smtpdSession(
    home,
    [...envelope, "RCPT TO:<joe@example.test>", "DATA"],
    "Subject: cut off\r\n",
  );
  assertEquals(eof.code, 1, eof.stderr);
  assertStringIncludes(eof.stdout, "354 go ahead\r\n");

  // End of input between commands is die_read() too.
  const dropped = await smtpdSession(home, ["HELO client.example"]);
  assertEquals(dropped.code, 1, dropped.stderr);
});

Deno.test("smtpd: --log-format json gives each refusal as an smtp_reject object", async () => {
  const home = await homeWithMailbox();
  const qmd = await startQmd(home, { extraArgs: ["--log-format", "json"] });
  try {
    const client = net.connect({ host: "127.0.0.1", port: qmd.port });
    const seen = collector(client);
    await seen.until(/^220 .*\r\n/);
    client.write("HELO client.example\r\nMAIL FROM:<a@sender.example>\r\n");
    await seen.until(/250 2\.1\.0 ok\r\n/);
    client.write("RCPT TO:<c@elsewhere.example>\r\n");
    await seen.until(/^553 /);
    client.write("QUIT\r\n");
    await seen.until(/221 /);
    client.destroy();
    const line = await waitFor(
      () => qmd.output().split("\n").find((line) => line.includes('"event":"smtp_reject"')),
      10_000,
      () => qmd.output(),
    );
    const record = JSON.parse(line);
    assertEquals(record.role, "smtpd");
    assertEquals(record.command, "RCPT");
    assertEquals(record.remote, "127.0.0.1");
    assertEquals(record.helo, "client.example");
    assertEquals(record.sender, "a@sender.example");
    assertEquals(record.recipient, "c@elsewhere.example");
    assertEquals(
      record.reply,
      "553 5.7.1 sorry, that domain isn't in my list of allowed rcpthosts",
    );
    assert(typeof record.session === "string" && record.session !== "", "a session id");
    assertStringIncludes(record.text, `smtpd ${record.session}: reject: RCPT from 127.0.0.1 `);
  } finally {
    await qmd.stop();
  }
});
