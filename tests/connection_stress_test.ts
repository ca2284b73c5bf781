/**
 * Stress mode against a running appliance (issue 11, 7c): clients that hold
 * sessions without using them cannot take every slot. The acceptance run's
 * scenario, scaled down: concurrencyincoming 20 and concurrencyperip 4 (the
 * defaults' ratio, 200 and 20), five loopback IPs (127.0.0.2-6) each open
 * their four silent sessions, and a sixth IP must still be greeted; the
 * silent sessions are cut after timeoutstress. Then, under stress held by
 * clients that talk promptly: a client trickling a command line or a DATA
 * section is cut, an IP at concurrencyperipstress gets no more sessions,
 * and a prompt client still hands over a whole message.
 * Loopback only (client sockets bind 127.0.0.2 and up); every wait bounded.
 */
import net from "node:net";
import { assert, assertEquals, assertMatch, assertStringIncludes } from "./assert.ts";
import { makeInitedHome, startQmd, waitFor } from "./harness.ts";

/** A raw client bound to one loopback source address. */
class Client {
  readonly socket: net.Socket;
  received = "";
  closed = false;
  #wake: (() => void) | undefined;

  private constructor(socket: net.Socket) {
    this.socket = socket;
    socket.on("data", (chunk: Uint8Array) => {
      this.received += new TextDecoder("latin1").decode(chunk);
      this.#wake?.();
    });
    socket.on("close", () => {
      this.closed = true;
      this.#wake?.();
    });
    socket.on("error", () => {});
  }

  static connect(port: number, from: string): Promise<Client> {
    return new Promise((resolve, reject) => {
      const socket = net.connect({ host: "127.0.0.1", port, localAddress: from });
      socket.once("connect", () => resolve(new Client(socket)));
      socket.once("error", reject);
    });
  }

  /** Waits at most `ms` for the server's text to match (or for it to hang up). */
  async until(pattern: RegExp, ms = 10_000): Promise<boolean> {
    const giveUp = Date.now() + ms;
    while (!pattern.test(this.received) && !this.closed && Date.now() < giveUp) {
      await new Promise<void>((resolve) => {
        this.#wake = resolve;
        setTimeout(resolve, 50);
      });
    }
    return pattern.test(this.received);
  }

  /** Waits at most `ms` for the server to hang up. */
  async hungUp(ms = 10_000): Promise<boolean> {
    const giveUp = Date.now() + ms;
    while (!this.closed && Date.now() < giveUp) {
      await new Promise<void>((resolve) => {
        this.#wake = resolve;
        setTimeout(resolve, 50);
      });
    }
    return this.closed;
  }

  write(text: string): Promise<void> {
    return new Promise((resolve) => this.socket.write(text, "latin1", () => resolve()));
  }

  close(): void {
    this.socket.destroy();
  }
}

/** Opens `count` sessions from `from` at once; each is greeted or refused. */
async function openSessions(
  port: number,
  from: string,
  count: number,
  greeting: RegExp,
): Promise<Client[]> {
  const clients = await Promise.all(
    Array.from({ length: count }, () => Client.connect(port, from)),
  );
  await Promise.all(clients.map((client) => client.until(/\r\n/)));
  for (const client of clients) assert(client.received.length > 0 || client.closed);
  return clients.filter((client) => greeting.test(client.received));
}

const PER_IP = 4;
const SILENT_IPS = ["127.0.0.2", "127.0.0.3", "127.0.0.4", "127.0.0.5", "127.0.0.6"];

Deno.test("stress: five IPs holding every silent session they may still leave a sixth IP room, and are cut", async () => {
  // The defaults' proportions: 20 sessions (200), 4 per IP so that five IPs fill them (20),
  // 1 per IP under stress (5, a quarter of the per-IP limit).
  const home = await makeInitedHome({
    concurrencyincoming: "20",
    concurrencyperip: String(PER_IP),
    concurrencyperipstress: "1",
    timeoutstress: "1",
  });
  const qmd = await startQmd(home);
  const everyone: Client[] = [];
  try {
    for (
      const [port, greeting, role] of [
        [qmd.port, /^220 /, "smtpd"],
        [qmd.pop3Port, /^\+OK /, "pop3d"],
      ] as const
    ) {
      const held: Client[] = [];
      for (const ip of SILENT_IPS) held.push(...await openSessions(port, ip, PER_IP, greeting));
      everyone.push(...held);
      // Stress began at the 16th session; from then on only an IP holding none got one.
      assert(held.length <= 17, `${held.length} silent sessions on port ${port}`);
      const sixth = await Client.connect(port, "127.0.0.7");
      everyone.push(sixth);
      assert(await sixth.until(/\r\n/), "an answer for 127.0.0.7");
      assertMatch(sixth.received, greeting, `127.0.0.7 on port ${port}`);
      // Silent sessions are cut while the stress lasts, until fewer than 60 % (12) are left:
      // SMTP with qmail's timeout reply, POP3 with qmail-popup's.
      const open = () => [...held, sixth].filter((client) => !client.closed).length;
      await waitFor(
        () => open() < 12 || undefined,
        15_000,
        () => `fewer than 12 sessions open on port ${port} (${open()} are)`,
      );
      await waitFor(
        () => new RegExp(`${role} connection stress over: `).test(qmd.output()) || undefined,
        10_000,
        () => `the end of ${role}'s stress in the log:\n${qmd.output()}`,
      );
      const cut = [...held, sixth].filter((client) => client.closed);
      for (const client of cut) {
        assertMatch(client.received, /\r\n(451 4\.4\.2 timeout|-ERR autologout[^\r]*)\r\n$/);
      }
    }
    const log = qmd.output();
    assertMatch(log, /warning: smtpd under connection stress: 1[67] of 20 sessions in use; /);
    assertMatch(log, /warning: pop3d under connection stress: 1[67] of 20 sessions in use; /);
    assertMatch(log, /smtpd \S+: timeout: no input for 1 s under connection stress/);
    assertMatch(log, /pop3d \S+: timeout: no input for 1 s under connection stress/);
    assertMatch(log, /smtpd \S+: per-ip-stress limit reached for 127\.0\.0\.\d/);
  } finally {
    for (const client of everyone) client.close();
    await qmd.stop();
  }
});

/** Sends `text` one byte every `pauseMs` until the server hangs up; returns the bytes sent. */
async function trickle(client: Client, text: string, pauseMs: number): Promise<number> {
  let sent = 0;
  for (const ch of text) {
    if (client.closed) break;
    await client.write(ch);
    sent++;
    await new Promise((resolve) => setTimeout(resolve, pauseMs));
  }
  return sent;
}

/** A client that sends NOOP 100 ms after each reply until stopped; counts the replies. */
function keepTalking(client: Client): { stop(): Promise<number> } {
  let running = true;
  let replies = 0;
  const loop = (async () => {
    while (running && !client.closed) {
      const before = (client.received.match(/\r\n/g) ?? []).length;
      await client.write("NOOP\r\n");
      const answered = await client.until(new RegExp(`(?:[^\\n]*\\r\\n){${before + 1}}`), 5000);
      if (!answered) break;
      replies++;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  })();
  return {
    async stop() {
      running = false;
      await loop;
      return replies;
    },
  };
}

Deno.test("stress: tricklers are cut, an IP at its stress limit is refused, a prompt client sends a message", async () => {
  const home = await makeInitedHome({
    concurrencyincoming: "20",
    concurrencyperip: String(PER_IP),
    concurrencyperipstress: "2",
    timeoutstress: "3",
  });
  const qmd = await startQmd(home);
  const talkers: { client: Client; talk: { stop(): Promise<number> } }[] = [];
  const others: Client[] = [];
  try {
    // 15 sessions that talk promptly; stress begins at the 16th (80 % of 20).
    for (
      const [ip, count] of [["127.0.0.2", 4], ["127.0.0.3", 4], ["127.0.0.4", 4], [
        "127.0.0.5",
        3,
      ]] as const
    ) {
      for (const client of await openSessions(qmd.port, ip, count, /^220 /)) {
        talkers.push({ client, talk: keepTalking(client) });
      }
    }
    assertEquals(talkers.length, 15);

    // 127.0.0.6: a command-line trickler (the 16th session: stress begins) and a
    // silent client; its third session is refused (concurrencyperipstress 2).
    const lineTrickler = await Client.connect(qmd.port, "127.0.0.6");
    others.push(lineTrickler);
    assert(await lineTrickler.until(/^220 /));
    // 60 bytes at one per 200 ms: 12 s of trickle against timeoutstress 3.
    const lineTrickle = trickle(lineTrickler, `NOOP ${"x".repeat(53)}\r\n`, 200);
    const silent = await Client.connect(qmd.port, "127.0.0.6");
    others.push(silent);
    assert(await silent.until(/^220 /));
    const third = await Client.connect(qmd.port, "127.0.0.6");
    others.push(third);
    assert(await third.until(/\r\n/));
    assertStringIncludes(third.received, "421 4.7.0 too many connections");

    // 127.0.0.7: a DATA trickler; 127.0.0.8: a prompt client with a whole message.
    const dataTrickler = await Client.connect(qmd.port, "127.0.0.7");
    others.push(dataTrickler);
    assert(await dataTrickler.until(/^220 /));
    await dataTrickler.write(
      "HELO slow.example\r\nMAIL FROM:<a@example.org>\r\nRCPT TO:<postmaster@mx.example.test>\r\nDATA\r\n",
    );
    assert(await dataTrickler.until(/354 /), dataTrickler.received);
    const dataTrickle = trickle(
      dataTrickler,
      `Subject: slow\r\n\r\n${"y".repeat(40)}\r\n.\r\n`,
      200,
    );

    const prompt = await Client.connect(qmd.port, "127.0.0.8");
    others.push(prompt);
    assert(await prompt.until(/^220 /));
    for (
      const [command, reply] of [
        ["HELO prompt.example", /\r\n250 [^\r]*\r\n$/],
        ["MAIL FROM:<b@example.org>", /\r\n250 [^\r]*\r\n$/],
        ["RCPT TO:<postmaster@mx.example.test>", /\r\n250 [^\r]*\r\n$/],
        ["DATA", /\r\n354 [^\r]*\r\n$/],
        [`Subject: prompt\r\n\r\n${"z".repeat(5000)}\r\n.`, /\r\n250 2\.\d\.\d ok [^\r]*\r\n$/],
        ["QUIT", /\r\n221 [^\r]*\r\n$/],
      ] as const
    ) {
      await prompt.write(`${command}\r\n`);
      assert(await prompt.until(reply), `${command}: ${prompt.received}`);
    }

    const [lineSent, bodySent] = await Promise.all([lineTrickle, dataTrickle]);
    assert(lineSent < 60, `the whole line went through (${lineSent} bytes)`);
    assert(bodySent < 60, `the whole message went through (${bodySent} bytes)`);
    assert(lineTrickler.received.endsWith("451 4.4.2 timeout\r\n"), lineTrickler.received);
    assert(dataTrickler.received.endsWith("451 4.4.2 timeout\r\n"), dataTrickler.received);
    assert(await silent.hungUp(), "the silent client still connected");

    // Nobody who talked promptly was cut.
    for (const { client } of talkers) assert(!client.closed, client.received.slice(-200));
    for (const { talk } of talkers) assert(await talk.stop() > 0);
    for (const { client } of talkers) client.close();
    await waitFor(
      () => /smtpd connection stress over: /.test(qmd.output()) || undefined,
      10_000,
      () => `the end of stress in the log:\n${qmd.output()}`,
    );
    const log = qmd.output();
    assertMatch(log, /warning: smtpd under connection stress: 1[67] of 20 sessions in use; /);
    assertMatch(
      log,
      /smtpd \S+: timeout: command line not finished within 3 s under connection stress/,
    );
    assertMatch(log, /smtpd \S+: timeout: DATA slower than 1000 bytes\/s under connection stress/);
    assertMatch(log, /smtpd \S+: timeout: no input for 3 s under connection stress/);
    assertMatch(log, /smtpd \S+: per-ip-stress limit reached for 127\.0\.0\.6/);
    assertEquals((log.match(/smtpd \S+: queued msg /g) ?? []).length, 1, "only the prompt message");
  } finally {
    for (const { talk } of talkers) await talk.stop();
    for (const client of [...others, ...talkers.map((talker) => talker.client)]) client.close();
    await qmd.stop();
  }
});
