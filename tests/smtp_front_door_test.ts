/**
 * The SMTP front door end to end (issue 5): `qmd start` with its three
 * listeners, nodemailer (an independent client) through STARTTLS and SMTPS
 * with AUTH PLAIN, LOGIN and CRAM-MD5, submission's AUTH-first rule, tcprules
 * from HOME/tcp.smtp (deny, RELAYCLIENT, QMAILQUEUE) with clients on several
 * loopback addresses, per-IP connection limits, and `qmd smtpd` speaking
 * SMTPS over a pipe as it would under tcpserver.
 */
import net from "node:net";
import tls from "node:tls";
import { Duplex } from "node:stream";
import nodemailer from "nodemailer";
import { assert, assertEquals, assertMatch, assertStringIncludes } from "./assert.ts";
import { RUN_FLAGS } from "../mod.ts";
import { addUser, maildirNew, makeInitedHome, runQmd, startQmd, waitFor } from "./harness.ts";

const ROOT = new URL("../", import.meta.url).pathname;
const FIXTURES = new URL("./fixtures/", import.meta.url).pathname;
const PASSWORD = "correct horse";

async function homeWithMailboxes(): Promise<string> {
  const home = await makeInitedHome();
  await addUser(home, "joe@example.test", PASSWORD);
  await addUser(home, "ann@example.test", PASSWORD, ["--challenge-auth"]);
  return home;
}

function joeMaildir(home: string): string {
  return `${home}/mail/example.test/joe/Maildir`;
}

/** A line-based SMTP client on node:net, so the source address can be chosen. */
class LoopbackClient {
  #socket: net.Socket;
  #buffer = "";
  #closed = false;
  #wake: (() => void) | undefined;

  private constructor(socket: net.Socket) {
    this.#socket = socket;
    socket.on("data", (chunk: Uint8Array) => {
      this.#buffer += new TextDecoder().decode(chunk);
      this.#wake?.();
    });
    socket.on("close", () => {
      this.#closed = true;
      this.#wake?.();
    });
    socket.on("error", () => {});
  }

  static connect(port: number, localAddress = "127.0.0.1"): Promise<LoopbackClient> {
    return new Promise((resolve, reject) => {
      const socket = net.connect({ host: "127.0.0.1", port, localAddress });
      socket.once("connect", () => resolve(new LoopbackClient(socket)));
      socket.once("error", reject);
    });
  }

  /** The next complete reply, or undefined once the server closed. */
  async reply(): Promise<string | undefined> {
    const deadline = Date.now() + 20_000;
    while (Date.now() < deadline) {
      const lines = this.#buffer.split("\r\n");
      for (let i = 0; i < lines.length - 1; i++) {
        if (/^\d{3}( |$)/.test(lines[i])) {
          this.#buffer = lines.slice(i + 1).join("\r\n");
          return lines.slice(0, i + 1).join("\r\n");
        }
      }
      if (this.#closed) return undefined;
      await new Promise<void>((resolve) => {
        this.#wake = resolve;
        setTimeout(resolve, 200);
      });
    }
    throw new Error(`no reply within 20 s: ${JSON.stringify(this.#buffer)}`);
  }

  async command(line: string): Promise<string | undefined> {
    this.#socket.write(line + "\r\n");
    return await this.reply();
  }

  close(): void {
    this.#socket.destroy();
  }
}

Deno.test("front door: nodemailer submits over STARTTLS with AUTH PLAIN, LOGIN and CRAM-MD5", async () => {
  const home = await homeWithMailboxes();
  const qmd = await startQmd(home);
  try {
    const ca = Deno.readTextFileSync(`${home}/control/servercert.pem`);
    const methods: Array<[string, string]> = [
      ["PLAIN", "joe@example.test"],
      ["LOGIN", "joe@example.test"],
      ["CRAM-MD5", "ann@example.test"],
    ];
    for (const [method, user] of methods) {
      const transport = nodemailer.createTransport({
        host: "127.0.0.1",
        port: qmd.submissionPort,
        secure: false,
        requireTLS: true,
        name: "laptop.example",
        tls: { ca, servername: "mx.example.test" },
        auth: { user, pass: PASSWORD },
        authMethod: method,
      });
      const info = await transport.sendMail({
        from: user,
        to: "joe@example.test",
        subject: `via ${method}`,
        text: "Sent through submission.\n",
      });
      assertMatch(String(info.response), /^250 2\.6\.0 ok \d+ qp \d+$/);
      transport.close();
    }
    const files = await waitFor(
      () => maildirNew(joeMaildir(home)).length === 3 ? maildirNew(joeMaildir(home)) : undefined,
      20_000,
      () => `three messages in ${joeMaildir(home)}; log:\n${qmd.output()}`,
    );
    const texts = files.map((file) => Deno.readTextFileSync(file));
    for (const text of texts) assertMatch(text, /\n {2}by mx\.example\.test with ESMTPSA; /);
    const log = qmd.output();
    assertStringIncludes(log, 'auth "joe@example.test"');
    assertStringIncludes(log, 'auth "ann@example.test"');
    assert(!log.includes(PASSWORD), "the password reached the log");
  } finally {
    await qmd.stop();
  }
});

Deno.test("front door: SMTPS from the first byte, AUTH relays, a wrong password is refused", async () => {
  const home = await homeWithMailboxes();
  const qmd = await startQmd(home);
  try {
    const ca = Deno.readTextFileSync(`${home}/control/servercert.pem`);
    const wrong = nodemailer.createTransport({
      host: "127.0.0.1",
      port: qmd.smtpsPort,
      secure: true,
      tls: { ca, servername: "mx.example.test" },
      auth: { user: "joe@example.test", pass: "not the password" },
    });
    let refused = "";
    try {
      await wrong.verify();
    } catch (error) {
      refused = String((error as Error).message);
    }
    assertStringIncludes(refused, "535");
    wrong.close();
    const right = nodemailer.createTransport({
      host: "127.0.0.1",
      port: qmd.smtpsPort,
      secure: true,
      tls: { ca, servername: "mx.example.test" },
      auth: { user: "joe@example.test", pass: PASSWORD },
    });
    const info = await right.sendMail({
      from: "joe@example.test",
      to: "friend@elsewhere.example",
      subject: "relayed after AUTH",
      text: "The outside world.\n",
    });
    assertMatch(String(info.response), /^250 2\.6\.0 ok/);
    right.close();
    const log = qmd.output();
    assertStringIncludes(log, 'auth failed for "joe@example.test"');
    assert(!log.includes("not the password"), "a wrong password reached the log");
  } finally {
    await qmd.stop();
  }
});

Deno.test("front door: submission refuses MAIL without AUTH; port 25 refuses relaying", async () => {
  const home = await homeWithMailboxes();
  const qmd = await startQmd(home);
  try {
    const submission = await LoopbackClient.connect(qmd.submissionPort);
    await submission.reply();
    await submission.command("EHLO laptop.example");
    assertEquals(
      await submission.command("MAIL FROM:<joe@example.test>"),
      "530 5.7.0 authentication required",
    );
    submission.close();
    const smtp = await LoopbackClient.connect(qmd.port);
    await smtp.reply();
    await smtp.command("HELO spammer.example");
    await smtp.command("MAIL FROM:<x@spammer.example>");
    assertEquals(
      await smtp.command("RCPT TO:<victim@elsewhere.example>"),
      "553 5.7.1 sorry, that domain isn't in my list of allowed rcpthosts",
    );
    smtp.close();
  } finally {
    await qmd.stop();
  }
});

Deno.test("front door: tcp.smtp denies, relays and picks a QMAILQUEUE per client; HUP reloads it", async () => {
  const home = await homeWithMailboxes();
  Deno.writeTextFileSync(
    `${home}/tcp.smtp`,
    [
      "127.0.0.2:deny",
      '127.0.0.3:allow,RELAYCLIENT=""',
      `127.0.0.4:allow,QMAILQUEUE="${FIXTURES}qmailqueue/custom_permanent.sh"`,
      ":allow",
    ].join("\n") + "\n",
  );
  const qmd = await startQmd(home);
  try {
    const denied = await LoopbackClient.connect(qmd.port, "127.0.0.2");
    assertEquals(await denied.reply(), undefined);
    denied.close();

    const relay = await LoopbackClient.connect(qmd.port, "127.0.0.3");
    assertMatch((await relay.reply())!, /^220 /);
    await relay.command("HELO office.example");
    await relay.command("MAIL FROM:<a@office.example>");
    assertEquals(await relay.command("RCPT TO:<x@elsewhere.example>"), "250 2.1.5 ok");
    relay.close();

    const scanned = await LoopbackClient.connect(qmd.port, "127.0.0.4");
    await scanned.reply();
    await scanned.command("HELO scanned.example");
    await scanned.command("MAIL FROM:<a@scanned.example>");
    await scanned.command("RCPT TO:<joe@example.test>");
    assertEquals(await scanned.command("DATA"), "354 go ahead");
    const reply = await scanned.command("Subject: x\r\n\r\nbody\r\n.");
    assertMatch(reply!, /^554 /);
    scanned.close();

    // Reload: 127.0.0.2 is allowed now.
    Deno.writeTextFileSync(`${home}/tcp.smtp`, ":allow\n");
    qmd.process.kill("SIGHUP");
    await waitFor(() => qmd.output().includes("reloading") ? true : undefined, 10_000);
    const allowed = await waitFor(async () => {
      const client = await LoopbackClient.connect(qmd.port, "127.0.0.2");
      const greeting = await client.reply();
      client.close();
      return greeting;
    }, 10_000);
    assertMatch(allowed, /^220 /);
  } finally {
    await qmd.stop();
  }
});

Deno.test("front door: the per-IP limit turns a flood away with 421 while another IP is served", async () => {
  const home = await homeWithMailboxes();
  Deno.writeTextFileSync(`${home}/control/concurrencyperip`, "3\n");
  const qmd = await startQmd(home);
  const held: LoopbackClient[] = [];
  try {
    for (let i = 0; i < 3; i++) {
      const client = await LoopbackClient.connect(qmd.port, "127.0.0.5");
      assertMatch((await client.reply())!, /^220 /);
      held.push(client);
    }
    const over = await LoopbackClient.connect(qmd.port, "127.0.0.5");
    assertEquals(await over.reply(), "421 4.7.0 too many connections, try again later");
    over.close();
    const other = await LoopbackClient.connect(qmd.port, "127.0.0.6");
    assertMatch((await other.reply())!, /^220 /);
    other.close();
  } finally {
    for (const client of held) client.close();
    await qmd.stop();
  }
});

/** The pipe to a child's stdin/stdout as one Duplex, for a TLS client. */
function childDuplex(child: Deno.ChildProcess): Duplex {
  const writer = child.stdin.getWriter();
  const reader = child.stdout.getReader();
  return new Duplex({
    read() {
      reader.read().then((next) => this.push(next.done ? null : next.value), () => this.push(null));
    },
    write(chunk: Uint8Array, _encoding, callback) {
      writer.write(chunk).then(() => callback(), (error) => callback(error));
    },
    final(callback) {
      writer.close().then(() => callback(), () => callback());
    },
  });
}

Deno.test("front door: qmd smtpd speaks SMTPS over a pipe with SMTPS set, as under tcpserver", async () => {
  const home = await homeWithMailboxes();
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", ...RUN_FLAGS, `${ROOT}main.ts`, "smtpd", "--home", home],
    env: { SMTPS: "1", TCPREMOTEIP: "192.0.2.9", TCPLOCALHOST: "mx.example.test" },
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const ca = Deno.readTextFileSync(`${home}/control/servercert.pem`);
  const socket = tls.connect({ socket: childDuplex(child), ca, servername: "mx.example.test" });
  let text = "";
  socket.on("data", (chunk: Uint8Array) => text += new TextDecoder().decode(chunk));
  socket.on("error", () => {});
  try {
    await waitFor(() => text.includes("220 ") ? true : undefined, 20_000, () => text);
    assert(socket.authorized, "the certificate from qmd init verifies for control/me");
    socket.write("EHLO laptop.example\r\nQUIT\r\n");
    await waitFor(() => text.includes("221 ") ? true : undefined, 20_000, () => text);
    assertStringIncludes(text, "220 mx.example.test ESMTP\r\n");
    assert(!text.includes("STARTTLS"), "STARTTLS is not offered inside SMTPS");
    assertStringIncludes(text, "250-AUTH LOGIN PLAIN CRAM-MD5");
  } finally {
    socket.destroy();
    const status = await child.status;
    await child.stderr.cancel();
    assertEquals(status.code, 0);
  }
});

/** Collects what a socket receives; `until` waits for a pattern. */
function collector(socket: net.Socket | tls.TLSSocket) {
  let text = "";
  socket.on("data", (chunk: Uint8Array) => text += new TextDecoder().decode(chunk));
  socket.on("error", () => {});
  return {
    text: () => text,
    until: (pattern: RegExp) =>
      waitFor(() => pattern.test(text) ? true : undefined, 20_000, () => JSON.stringify(text)),
    reset: () => (text = ""),
  };
}

Deno.test("front door: commands sent with STARTTLS in one packet are dropped (CVE-2011-0411)", async () => {
  const home = await homeWithMailboxes();
  const qmd = await startQmd(home);
  try {
    const plain = net.connect({ host: "127.0.0.1", port: qmd.port });
    const before = collector(plain);
    await before.until(/^220 .*\r\n/);
    plain.write("EHLO client.example\r\n");
    await before.until(/250 SMTPUTF8\r\n/);
    assertStringIncludes(before.text(), "250-STARTTLS\r\n");
    before.reset();
    plain.write("STARTTLS\r\nMAIL FROM:<injected@example.org>\r\n");
    await before.until(/^220 2\.0\.0 ready to start TLS\r\n$/);
    plain.removeAllListeners("data");
    const ca = Deno.readTextFileSync(`${home}/control/servercert.pem`);
    const secure = tls.connect({ socket: plain, ca, servername: "mx.example.test" });
    const after = collector(secure);
    await new Promise<void>((resolve, reject) => {
      secure.once("secureConnect", () => resolve());
      secure.once("error", reject);
    });
    secure.write("RCPT TO:<joe@example.test>\r\n");
    await after.until(/\r\n/);
    // Had the injected MAIL survived the handshake, this RCPT would get 250.
    assertEquals(after.text(), "503 5.5.1 MAIL first\r\n");
    secure.write("QUIT\r\n");
    await after.until(/221 /);
    secure.destroy();
  } finally {
    await qmd.stop();
  }
});

Deno.test("front door: databeforegreet hangs up on a client that talks during greetdelay", async () => {
  const home = await homeWithMailboxes();
  Deno.writeTextFileSync(`${home}/control/greetdelay`, "2\n");
  Deno.writeTextFileSync(`${home}/control/databeforegreet`, "1\n");
  const qmd = await startQmd(home);
  try {
    const early = net.connect({ host: "127.0.0.1", port: qmd.port });
    const seen = collector(early);
    early.write("EHLO too.early.example\r\n");
    await seen.until(/^554 /);
    assert(!seen.text().includes("220"), "no greeting for an early talker");
    early.destroy();
    const patient = net.connect({ host: "127.0.0.1", port: qmd.port });
    const greeted = collector(patient);
    await greeted.until(/^220 mx\.example\.test ESMTP\r\n/);
    patient.destroy();
  } finally {
    await qmd.stop();
  }
});

Deno.test("front door: log/smtp_in and log/smtp_out log the dialogue with AUTH data hidden", async () => {
  const home = await homeWithMailboxes();
  Deno.mkdirSync(`${home}/control/log`, { recursive: true });
  Deno.writeTextFileSync(`${home}/control/log/smtp_in`, "1\n");
  Deno.writeTextFileSync(`${home}/control/log/smtp_out`, "1\n");
  Deno.mkdirSync(`${home}/control/auth`, { recursive: true });
  Deno.writeTextFileSync(`${home}/control/auth/smtp`, "3\n");
  const qmd = await startQmd(home);
  try {
    const client = await LoopbackClient.connect(qmd.port);
    await client.reply();
    await client.command("EHLO client.example");
    const plain = btoa(`\0joe@example.test\0${PASSWORD}`);
    assertEquals(await client.command(`AUTH PLAIN ${plain}`), "235 2.7.0 ok, go ahead");
    client.close();
    await waitFor(() => qmd.output().includes("S: 235") ? true : undefined, 10_000);
    const log = qmd.output();
    assertStringIncludes(log, "C: EHLO client.example");
    assertStringIncludes(log, "C: AUTH PLAIN <hidden>");
    assertStringIncludes(log, "S: 235 2.7.0 ok, go ahead");
    assert(!log.includes(plain), "the AUTH line reached the log");
  } finally {
    await qmd.stop();
  }
});

Deno.test("front door: qmd smtpd takes checkpassword arguments as qmail-smtpd HOST checkpassword true", async () => {
  const home = await homeWithMailboxes();
  const checkpassword = `${FIXTURES}checkpassword/checkpassword.sh`;
  Deno.mkdirSync(`${home}/control/auth`, { recursive: true });
  Deno.writeTextFileSync(`${home}/control/auth/smtp`, "1\n");
  const login = (user: string, password: string) =>
    runQmd(["smtpd", "--home", home, "mx.example.test", checkpassword, "/bin/true"], {
      stdin: [
        "EHLO client.example",
        `AUTH LOGIN ${btoa(user)}`,
        btoa(password),
        "QUIT",
      ].map((line) => line + "\r\n").join(""),
      env: { TCPREMOTEIP: "192.0.2.9" },
    });
  // The fixture accepts joe / s3cret (a system user, not in accounts.sqlite).
  const good = await login("joe", "s3cret");
  assertEquals(good.code, 0, good.stderr);
  assertStringIncludes(good.stdout, "235 2.7.0 ok, go ahead\r\n");
  const bad = await login("joe", "guess");
  assertStringIncludes(bad.stdout, "535 5.7.8 authentication failed\r\n");
});
