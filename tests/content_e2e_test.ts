/**
 * The content checks and the queue writer's additions end to end (issue 13):
 * `qmd start` with control/clamd pointing at a fake clamd, control/signatures,
 * bigbrother, extraqueue and originipfield, and tcp.smtp giving clients on
 * several loopback addresses NOCLAMD, EXECUTABLEOK, RELAYCLIENT or
 * CLAMDFAILREJECT. What is refused is refused at the final dot with nothing
 * queued (a clean message sent after it is the only one delivered); what is
 * accepted is delivered with the copies and the header the controls ask for.
 */
import net from "node:net";
import { assert, assertEquals, assertStringIncludes } from "./assert.ts";
import { addUser, maildirNew, makeInitedHome, startQmd, waitFor } from "./harness.ts";
import { FAKE_VIRUS_MARKER, FAKE_VIRUS_NAME, FakeClamd } from "./fakes/fake_clamd.ts";

const PASSWORD = "correct horse";
const EXE_BASE64 = "TVqQAAMAAAAEAAAA//8AALgAAAAAAAAAQAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";

/** A line-based SMTP client on node:net, so the source address can be chosen. */
class Client {
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

  static connect(port: number, localAddress: string): Promise<Client> {
    return new Promise((resolve, reject) => {
      const socket = net.connect({ host: "127.0.0.1", port, localAddress });
      socket.once("connect", () => resolve(new Client(socket)));
      socket.once("error", reject);
    });
  }

  async reply(): Promise<string> {
    const deadline = Date.now() + 30_000;
    while (Date.now() < deadline) {
      const lines = this.#buffer.split("\r\n");
      for (let i = 0; i < lines.length - 1; i++) {
        if (/^\d{3}( |$)/.test(lines[i])) {
          this.#buffer = lines.slice(i + 1).join("\r\n");
          return lines.slice(0, i + 1).join("\r\n");
        }
      }
      if (this.#closed) throw new Error(`closed: ${JSON.stringify(this.#buffer)}`);
      await new Promise<void>((resolve) => {
        this.#wake = resolve;
        setTimeout(resolve, 200);
      });
    }
    throw new Error(`no reply within 30 s: ${JSON.stringify(this.#buffer)}`);
  }

  async command(line: string): Promise<string> {
    this.#socket.write(line + "\r\n");
    return await this.reply();
  }

  write(text: string): void {
    this.#socket.write(text);
  }

  close(): void {
    this.#socket.destroy();
  }
}

/** One message from `from` (a loopback address); the reply to the final dot. */
async function send(
  port: number,
  localAddress: string,
  envelope: { from: string; to: string[] },
  body: string,
): Promise<string> {
  const client = await Client.connect(port, localAddress);
  try {
    await client.reply();
    await client.command("HELO client.example");
    assertStringIncludes(await client.command(`MAIL FROM:<${envelope.from}>`), "250");
    for (const to of envelope.to) {
      assertStringIncludes(await client.command(`RCPT TO:<${to}>`), "250");
    }
    assertStringIncludes(await client.command("DATA"), "354");
    client.write(body.replace(/\r?\n/g, "\r\n") + ".\r\n");
    const result = await client.reply();
    await client.command("QUIT").catch(() => "");
    return result;
  } finally {
    client.close();
  }
}

function message(subject: string, text: string): string {
  return `From: a@client.example\nSubject: ${subject}\n\n${text}\n`;
}

function executable(subject: string): string {
  return [
    "From: a@client.example",
    `Subject: ${subject}`,
    "MIME-Version: 1.0",
    'Content-Type: multipart/mixed; boundary="b1"',
    "",
    "--b1",
    "Content-Type: text/plain",
    "",
    "see attachment",
    "--b1",
    'Content-Type: application/octet-stream; name="setup.exe"',
    "Content-Transfer-Encoding: base64",
    "",
    EXE_BASE64,
    "--b1--",
    "",
  ].join("\n");
}

/** The subjects of the messages in a Maildir's new/. */
function subjects(maildir: string): string[] {
  return maildirNew(maildir).map((file) =>
    /^Subject: (.*)$/m.exec(Deno.readTextFileSync(file))?.[1] ?? "?"
  ).sort();
}

Deno.test("content e2e: bigbrother, extraqueue and originipfield on what smtpd queues", async () => {
  const home = await makeInitedHome({
    bigbrother: "watched@example.test:bb@example.test",
    extraqueue: "archive@example.test",
    originipfield: "1",
  });
  for (const user of ["joe", "bb", "archive", "watched"]) {
    await addUser(home, `${user}@example.test`, PASSWORD);
  }
  Deno.writeTextFileSync(`${home}/tcp.smtp`, '127.0.0.4:allow,RELAYCLIENT=""\n:allow\n');
  const maildir = (user: string) => `${home}/mail/example.test/${user}/Maildir`;
  const qmd = await startQmd(home);
  try {
    const port = qmd.port;
    const joe = { from: "a@client.example", to: ["joe@example.test"] };
    assertStringIncludes(await send(port, "127.0.0.1", joe, message("plain", "hello")), "250 ");
    assertStringIncludes(
      await send(
        port,
        "127.0.0.4",
        { from: "Watched@Example.TEST", to: ["joe@example.test"] },
        message("watched", "tap me"),
      ),
      "250 ",
    );
    const expected = ["plain", "watched"];
    await waitFor(() => subjects(maildir("joe")).length >= 2, 30_000);
    assertEquals(subjects(maildir("joe")), expected);
    await waitFor(() => subjects(maildir("archive")).length >= 2, 30_000);
    assertEquals(subjects(maildir("archive")), expected);
    await waitFor(() => subjects(maildir("bb")).length >= 1, 30_000);
    assertEquals(subjects(maildir("bb")), ["watched"]);
    // X-Originating-IP only on the relayed message, right after the queue's Received line.
    for (const file of maildirNew(maildir("joe"))) {
      const text = Deno.readTextFileSync(file);
      const relayed = text.includes("Subject: watched");
      assertEquals(
        /^Received: \(qmail \d+ invoked from network\); .*\nX-Originating-IP: 127\.0\.0\.4\nReceived: from /m
          .test(text),
        relayed,
        text.slice(0, 600),
      );
    }
  } finally {
    await qmd.stop();
  }
});

Deno.test({
  name:
    "content e2e: clamd, signatures, NOCLAMD, EXECUTABLEOK, clamd down, with bigbrother, extraqueue, originipfield",
  async fn() {
    const fake = FakeClamd.start();
    const home = await makeInitedHome({
      clamd: `127.0.0.1:${fake.port}`,
      timeoutclamd: "5",
      signatures: "# Windows executables\nTVqQAAMAA\nTVpQAAIAA",
      bigbrother: "watched@example.test:bb@example.test",
      extraqueue: "archive@example.test",
      originipfield: "1",
    });
    for (const user of ["joe", "bb", "archive", "watched"]) {
      await addUser(home, `${user}@example.test`, PASSWORD);
    }
    Deno.writeTextFileSync(
      `${home}/tcp.smtp`,
      [
        '127.0.0.2:allow,NOCLAMD=""',
        '127.0.0.3:allow,EXECUTABLEOK=""',
        '127.0.0.4:allow,RELAYCLIENT=""',
        '127.0.0.5:allow,CLAMDFAILREJECT="1"',
        ":allow",
        "",
      ].join("\n"),
    );
    const maildir = (user: string) => `${home}/mail/example.test/${user}/Maildir`;
    const qmd = await startQmd(home);
    let fakeOpen = true;
    try {
      const port = qmd.port;
      const joe = { from: "a@client.example", to: ["joe@example.test"] };

      // A virus: refused at the final dot with the seed's reply.
      assertEquals(
        await send(port, "127.0.0.1", joe, message("virus", `x ${FAKE_VIRUS_MARKER} y`)),
        `554 5.7.7 your email contains the virus "${FAKE_VIRUS_NAME}"!`,
      );
      // An executable attachment: refused.
      assertEquals(
        await send(port, "127.0.0.1", joe, executable("exe")),
        "552 we don't accept email with executable content (#5.3.4)",
      );
      // NOCLAMD: the same virus goes through; EXECUTABLEOK: the attachment does.
      assertStringIncludes(
        await send(port, "127.0.0.2", joe, message("noclamd", `x ${FAKE_VIRUS_MARKER} y`)),
        "250 ",
      );
      assertStringIncludes(await send(port, "127.0.0.3", joe, executable("exeok")), "250 ");
      // A clean message through clamd: accepted, and clamd saw it.
      const streamsBefore = fake.streams.length;
      assertStringIncludes(await send(port, "127.0.0.1", joe, message("clean", "hello")), "250 ");
      assert(fake.streams.length > streamsBefore, "clamd scanned the clean message");

      // bigbrother, extraqueue and originipfield on a relayed message from the watched sender.
      assertStringIncludes(
        await send(
          port,
          "127.0.0.4",
          { from: "watched@example.test", to: ["joe@example.test"] },
          message("watched", "tap me"),
        ),
        "250 ",
      );

      // clamd down: fail open by default, 451 with CLAMDFAILREJECT.
      await fake.close();
      fakeOpen = false;
      assertStringIncludes(await send(port, "127.0.0.1", joe, message("clamd down", "hi")), "250 ");
      assertEquals(
        await send(port, "127.0.0.5", joe, message("clamd down, reject", "hi")),
        "451 4.3.0 virus scanner failed, try again later",
      );

      const expected = ["clamd down", "clean", "exeok", "noclamd", "watched"];
      await waitFor(
        () => subjects(maildir("joe")).length >= expected.length,
        30_000,
        () => `joe's mail: ${subjects(maildir("joe"))}`,
      );
      // Only what was accepted was queued and delivered: no virus, no exe, no 451.
      assertEquals(subjects(maildir("joe")), expected);
      // extraqueue got every accepted message; bigbrother only the watched sender's.
      await waitFor(() => subjects(maildir("archive")).length >= expected.length, 30_000);
      assertEquals(subjects(maildir("archive")), expected);
      await waitFor(() => subjects(maildir("bb")).length >= 1, 30_000);
      assertEquals(subjects(maildir("bb")), ["watched"]);
      // X-Originating-IP only on the relayed message.
      for (const file of maildirNew(maildir("joe"))) {
        const text = Deno.readTextFileSync(file);
        const relayed = text.includes("Subject: watched");
        assertEquals(text.includes("X-Originating-IP: 127.0.0.4\n"), relayed, text.slice(0, 400));
      }
      // One CLAMD: line per event, with the session id: the virus, the two scans clamd missed.
      // A log line reaches the supervisor's stdout after the reply reached the client: wait.
      const failed = /smtpd \d+\.\d+: CLAMD: scan failed: cannot connect to clamd/g;
      await waitFor(() => (qmd.output().match(failed)?.length ?? 0) >= 2, 30_000);
      const log = qmd.output();
      const count = (pattern: RegExp) => log.match(pattern)?.length ?? 0;
      assertEquals(count(/smtpd \d+\.\d+: CLAMD: virus "Qmd\.Test\.Marker" was found!/g), 1, log);
      assertEquals(count(/smtpd \d+\.\d+: CLAMD: scan failed: cannot connect to clamd/g), 2, log);
    } finally {
      await qmd.stop();
      if (fakeOpen) await fake.close();
    }
  },
});
