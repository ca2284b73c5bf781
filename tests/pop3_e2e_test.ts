/**
 * POP3 end to end (issue 7): `qmd start` with its POP3 and POP3S listeners,
 * node-pop3 (an independent client) reading a mailbox delivered by the
 * appliance, STLS with our own TLS client (node-pop3 has no STLS), the
 * one-session-per-mailbox rule, and `qmd pop3d` under tcpserver's variables.
 */
import net from "node:net";
import tls from "node:tls";
import Pop3Command from "node-pop3";
import { assert, assertEquals, assertMatch, assertStringIncludes } from "./assert.ts";
import { addUser, maildirNew, makeInitedHome, runQmd, startQmd, waitFor } from "./harness.ts";

const PASSWORD = "correct horse";

async function homeWithMail(count: number): Promise<string> {
  const home = await makeInitedHome();
  await addUser(home, "joe@example.test", PASSWORD, ["--challenge-auth"]);
  for (let i = 1; i <= count; i++) {
    const sent = await runQmd(["inject", "--home", home, "joe@example.test"], {
      stdin: `Subject: message ${i}\n\n.line ${i}\nend\n`,
    });
    assertEquals(sent.code, 0, sent.stderr);
  }
  return home;
}

function maildir(home: string): string {
  return `${home}/mail/example.test/joe/Maildir`;
}

/** A raw POP3 conversation on a socket (plain or TLS). */
function conversation(socket: net.Socket | tls.TLSSocket) {
  let text = "";
  socket.on("data", (chunk: Uint8Array) => text += new TextDecoder().decode(chunk));
  socket.on("error", () => {});
  return {
    text: () => text,
    reset: () => (text = ""),
    until: (pattern: RegExp) =>
      waitFor(() => pattern.test(text) ? true : undefined, 20_000, () => JSON.stringify(text)),
    send: (line: string) => socket.write(line + "\r\n"),
  };
}

Deno.test("pop3: node-pop3 lists, reads and deletes mail delivered by the appliance", async () => {
  const home = await homeWithMail(3);
  const qmd = await startQmd(home);
  try {
    await waitFor(() => maildirNew(maildir(home)).length === 3 || undefined, 20_000);
    // qmail-pop3d lists only messages older than the scan's second.
    await new Promise((resolve) => setTimeout(resolve, 1100));
    const pop3 = new Pop3Command({
      host: "127.0.0.1",
      port: qmd.pop3Port,
      user: "joe@example.test",
      password: PASSWORD,
    });
    assertMatch(String(await pop3.STAT()), /^3 \d+/);
    const uidl = await pop3.UIDL();
    assertEquals(uidl.length, 3);
    const message = await pop3.RETR(1);
    // Deliveries run in parallel, so message 1 is whichever landed first.
    const number = /Subject: message (\d)/.exec(message)?.[1];
    assert(number !== undefined, message);
    // node-pop3 hands back the bytes as sent: the leading dot is doubled on the wire.
    assertStringIncludes(message, `\r\n..line ${number}\r\nend\r\n`);
    await pop3.command("DELE", 1);
    await pop3.QUIT();
    const remaining = [...Deno.readDirSync(`${maildir(home)}/cur`)];
    assertEquals(remaining.length, 2, "QUIT moved the undeleted messages to cur/");
    assertEquals(maildirNew(maildir(home)).length, 0);
    // Log lines travel from the isolate through the supervisor: wait for them.
    const log = await waitFor(
      () => qmd.output().includes('login "joe@example.test"') ? qmd.output() : undefined,
      10_000,
      () => qmd.output(),
    );
    assert(!log.includes(PASSWORD), "the password reached the log");
  } finally {
    await qmd.stop();
  }
});

Deno.test("pop3: POP3S with node-pop3; STLS drops pipelined commands; one session per mailbox", async () => {
  const home = await homeWithMail(1);
  const qmd = await startQmd(home);
  try {
    await waitFor(() => maildirNew(maildir(home)).length === 1 || undefined, 20_000);
    await new Promise((resolve) => setTimeout(resolve, 1100));
    const ca = Deno.readTextFileSync(`${home}/control/servercert.pem`);
    const secure = new Pop3Command({
      host: "127.0.0.1",
      port: qmd.pop3sPort,
      tls: true,
      servername: "mx.example.test",
      tlsOptions: { ca },
      user: "joe@example.test",
      password: PASSWORD,
    });
    assertMatch(String(await secure.STAT()), /^1 \d+/);

    // While that session holds the mailbox, a second login gets [IN-USE].
    const plain = net.connect({ host: "127.0.0.1", port: qmd.pop3Port });
    const talk = conversation(plain);
    await talk.until(/^\+OK .*\r\n/);
    talk.send("CAPA");
    await talk.until(/\r\n\.\r\n/);
    assertStringIncludes(talk.text(), "STLS\r\n");
    talk.reset();
    talk.send("STLS\r\nUSER injected@example.test");
    await talk.until(/^\+OK.*\r\n$/);
    plain.removeAllListeners("data");
    const upgraded = tls.connect({ socket: plain, ca, servername: "mx.example.test" });
    const inside = conversation(upgraded);
    await new Promise<void>((resolve, reject) => {
      upgraded.once("secureConnect", () => resolve());
      upgraded.once("error", reject);
    });
    inside.send(`PASS ${PASSWORD}`);
    await inside.until(/\r\n/);
    assertMatch(inside.text(), /^-ERR/, "the USER sent before the handshake was dropped");
    upgraded.destroy();

    const again = net.connect({ host: "127.0.0.1", port: qmd.pop3Port });
    const second = conversation(again);
    await second.until(/^\+OK .*\r\n/);
    second.send("USER joe@example.test");
    await second.until(/\+OK.*\r\n.*\+OK|\r\n.*\r\n/s);
    second.send(`PASS ${PASSWORD}`);
    await second.until(/\[IN-USE\]/);
    again.destroy();
    await secure.QUIT();
  } finally {
    await qmd.stop();
  }
});

Deno.test("pop3: qmd pop3d serves one session on stdin/stdout with qmail-popup's arguments", async () => {
  const home = await homeWithMail(0);
  Deno.mkdirSync(`${maildir(home)}/new`, { recursive: true });
  Deno.writeTextFileSync(`${maildir(home)}/new/1000000000.1.host`, "Subject: old\n\nhello\n");
  Deno.utimeSync(`${maildir(home)}/new/1000000000.1.host`, 1000000000, 1000000000);
  const result = await runQmd(
    ["pop3d", "--home", home, "mx.example.test"],
    {
      stdin: ["USER joe@example.test", `PASS ${PASSWORD}`, "STAT", "RETR 1", "QUIT"]
        .map((line) => line + "\r\n").join(""),
      env: { TCPREMOTEIP: "127.0.0.1" },
    },
  );
  assertEquals(result.code, 0, result.stderr);
  assertMatch(result.stdout, /^\+OK <\d+\.\d+@mx\.example\.test>\r\n/);
  assertStringIncludes(result.stdout, "Subject: old\r\n\r\nhello\r\n");
  assertStringIncludes(result.stdout, "\r\n.\r\n");
});

/** The path of a program on PATH, or undefined. */
function which(program: string): string | undefined {
  for (const dir of (Deno.env.get("PATH") ?? "").split(":")) {
    try {
      if (Deno.statSync(`${dir}/${program}`).isFile) return `${dir}/${program}`;
    } catch {
      // not here
    }
  }
  return undefined;
}

const FETCHMAIL = which("fetchmail");
if (FETCHMAIL === undefined) console.log("pop3 fetchmail test skipped: fetchmail is not installed");

Deno.test({
  name: "pop3: fetchmail fetches and deletes the messages (when fetchmail is installed)",
  ignore: FETCHMAIL === undefined,
  async fn() {
    const home = await homeWithMail(2);
    const qmd = await startQmd(home);
    try {
      await waitFor(() => maildirNew(maildir(home)).length === 2 || undefined, 20_000);
      await new Promise((resolve) => setTimeout(resolve, 1100));
      const work = await Deno.makeTempDir();
      const rc = `${work}/fetchmailrc`;
      Deno.writeTextFileSync(
        rc,
        `poll 127.0.0.1 service ${qmd.pop3Port} protocol pop3 auth password\n` +
          `  user "joe@example.test" password "${PASSWORD}" no sslcertck\n` +
          `  mda "/bin/sh -c 'cat >> ${work}/fetched'"\n`,
      );
      Deno.chmodSync(rc, 0o600);
      const run = await new Deno.Command(FETCHMAIL!, {
        args: ["-f", rc, "--nokeep", "--nosslcertck", "--pidfile", `${work}/pid`],
        env: { HOME: work, FETCHMAILHOME: work },
        stdout: "piped",
        stderr: "piped",
      }).output();
      const errors = new TextDecoder().decode(run.stderr);
      assertEquals(run.code, 0, errors);
      const fetched = Deno.readTextFileSync(`${work}/fetched`);
      assertStringIncludes(fetched, "Subject: message 1");
      assertStringIncludes(fetched, "Subject: message 2");
      assertEquals([...Deno.readDirSync(`${maildir(home)}/cur`)].length, 0);
      await Deno.remove(work, { recursive: true });
    } finally {
      await qmd.stop();
    }
  },
});

Deno.test("pop3: log/pop3_in and pop3_out log the dialogue with the password hidden", async () => {
  const home = await homeWithMail(0);
  Deno.mkdirSync(`${home}/control/log`, { recursive: true });
  Deno.writeTextFileSync(`${home}/control/log/pop3_in`, "1\n");
  Deno.writeTextFileSync(`${home}/control/log/pop3_out`, "1\n");
  const qmd = await startQmd(home);
  try {
    const socket = net.connect({ host: "127.0.0.1", port: qmd.pop3Port });
    const talk = conversation(socket);
    await talk.until(/^\+OK .*\r\n/);
    talk.send("USER joe@example.test");
    await talk.until(/\r\n.*\r\n/s);
    talk.send(`PASS ${PASSWORD}`);
    await talk.until(/\r\n.*\r\n.*\r\n/s);
    talk.send("QUIT");
    await talk.until(/\r\n.*\r\n.*\r\n.*\r\n/s);
    socket.destroy();
    const log = await waitFor(
      () => qmd.output().includes("C: QUIT") ? qmd.output() : undefined,
      10_000,
      () => qmd.output(),
    );
    assertStringIncludes(log, "C: USER joe@example.test");
    assertStringIncludes(log, "C: PASS <hidden>");
    assertMatch(log, /S: \+OK <\d+\.\d+@mx\.example\.test>/);
    assert(!log.includes(PASSWORD), "the password reached the log");
  } finally {
    await qmd.stop();
  }
});
