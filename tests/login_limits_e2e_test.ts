/**
 * Failed logins and AUTH mechanisms end to end (issue 11, "Authentication
 * failures"): `qmd start` with two smtpd and two pop3d isolates sharing the
 * failed-login table; 20 SMTP and 20 POP3 wrong answers sent at the same
 * moment against a limit of 10; `qmd status` and `qmd unblock` on the
 * running appliance; CRAM and DIGEST-MD5 advertised only once a mailbox can
 * answer them, and the log saying why a CRAM login failed.
 */
import net from "node:net";
import { assert, assertEquals, assertMatch, assertStringIncludes } from "./assert.ts";
import type { IsolateUsage } from "../appliance/isolate_usage.ts";
import { addUser, makeInitedHome, runQmd, SmtpClient, startQmd, waitFor } from "./harness.ts";

const PASSWORD = "correct horse";

async function newHome(controls: Record<string, string>): Promise<string> {
  const home = await makeInitedHome(controls);
  await addUser(home, "joe@example.test", PASSWORD);
  return home;
}

/** A raw line conversation on a socket. */
function conversation(port: number) {
  const socket = net.connect({ host: "127.0.0.1", port });
  let text = "";
  let closed = false;
  socket.on("data", (chunk: Uint8Array) => text += new TextDecoder().decode(chunk));
  socket.on("close", () => (closed = true));
  socket.on("error", () => {});
  return {
    text: () => text,
    closed: () => closed,
    until: (pattern: RegExp) =>
      waitFor(() => pattern.test(text) ? true : undefined, 30_000, () => JSON.stringify(text)),
    send: (line: string) => socket.write(line + "\r\n"),
    end: () => socket.destroy(),
  };
}

function plain(user: string, password: string): string {
  return btoa(`\0${user}\0${password}`);
}

function count(text: string, pattern: RegExp): number {
  return [...text.matchAll(new RegExp(pattern.source, "g"))].length;
}

Deno.test("logins: 20 SMTP and 20 POP3 wrong answers at once verify 10; status, unblock", async () => {
  const home = await newHome({
    // Loopback is never blocked by default: count it here, as a remote client would be.
    authfaillocktrusted: "1",
    // LOGIN and PLAIN before TLS, for this test's plain connections.
    "auth/smtp": "63",
  });
  const qmd = await startQmd(home, { workers: 2 });
  const sessions: ReturnType<typeof conversation>[] = [];
  try {
    const smtp = Array.from({ length: 20 }, () => conversation(qmd.port));
    const pop3 = Array.from({ length: 20 }, () => conversation(qmd.pop3Port));
    sessions.push(...smtp, ...pop3);
    for (const session of smtp) session.send("EHLO client.example.test");
    pop3.forEach((session, i) => session.send(`USER pop${i}@example.test`));
    await Promise.all(smtp.map((session) => session.until(/^250 /m)));
    await Promise.all(pop3.map((session) => session.until(/\+OK \r\n/)));
    // Every wrong answer at the same moment, each for its own name (no per-name limit applies).
    smtp.forEach((session, i) =>
      session.send(`AUTH PLAIN ${plain(`smtp${i}@example.test`, "wrong")}`)
    );
    pop3.forEach((session) => session.send("PASS wrong"));
    await Promise.all(smtp.map((session) => session.until(/^(535|421) /m)));
    await Promise.all(pop3.map((session) => session.until(/^-ERR /m)));
    const refused = smtp.filter((session) => /^421 4\.7\.0 /m.test(session.text())).length +
      pop3.filter((session) => /-ERR \[SYS\/TEMP\] too many failed logins/.test(session.text()))
        .length;
    assertEquals(refused, 30);
    const log = await waitFor(
      () => {
        const text = qmd.output();
        const outcomes = count(text, /(auth|login) (failed|blocked) for /);
        return outcomes >= 40 ? text : undefined;
      },
      30_000,
      () => qmd.output(),
    );
    assertEquals(count(log, /(auth|login) failed for /), 10, "verified and failed");
    assertEquals(count(log, /(auth|login) blocked for /), 30, "refused unverified");
    assertEquals(count(log, / auth_block 127\.0\.0\.1 after 10 failed logins, until /), 1);

    const status = await runQmd(["status", "--home", home]);
    assertEquals(status.code, 0, status.stderr);
    assertStringIncludes(status.stdout, "  blocked  127.0.0.1: 10 failures, until ");
    // Each isolate answers with its own thread's CPU time: auth verified ten passwords.
    const json = await runQmd(["status", "--home", home, "--json"]);
    const isolates = JSON.parse(json.stdout).isolates as IsolateUsage[];
    const names = isolates.map((each) => each.isolate);
    for (const name of ["supervisor", "smtpd 1", "pop3d 1", "auth 1", "send 1", "local 1"]) {
      assert(names.includes(name), `${name} in ${names}`);
    }
    const auth = isolates.find((each) => each.isolate === "auth 1")?.usage;
    assert(auth !== undefined && auth.cpuUserMs + auth.cpuSystemMs > 0, JSON.stringify(auth));
    assert(auth.heapUsedBytes > 0 && auth.heapUsedBytes <= auth.heapTotalBytes);
    assertMatch(status.stdout, /^ {2}auth 1 {7}cpu \d+\.\d\d s \(user /m);

    const unblock = await runQmd(["unblock", "--home", home, "127.0.0.1"]);
    assertEquals(unblock.code, 0, unblock.stderr);
    assertStringIncludes(
      unblock.stdout,
      "qmd unblock: 127.0.0.1: unblocked 127.0.0.1 (10 failures); cleared 10 other records",
    );
    await waitFor(
      () =>
        qmd.output().includes("status: auth_unblock 127.0.0.1: unblocked 127.0.0.1 (10 failures)"),
      10_000,
      () => qmd.output(),
    );
    const after = await runQmd(["status", "--home", home]);
    assertStringIncludes(after.stdout, "no blocks, no recent failures");

    // The IP logs in again at once.
    const good = conversation(qmd.pop3Port);
    sessions.push(good);
    await good.until(/^\+OK /);
    good.send("USER joe@example.test");
    good.send(`PASS ${PASSWORD}`);
    // qmail-pop3d answers PASS with a bare "+OK " once the Maildir is open.
    await good.until(/\r\n\+OK \r\n\+OK \r\n$/);
  } finally {
    for (const session of sessions) session.end();
    await qmd.stop();
  }
});

Deno.test("logins: unblock and status need a running qmd", async () => {
  const home = await newHome({});
  const unblock = await runQmd(["unblock", "--home", home, "192.0.2.1"]);
  assertEquals(unblock.code, 111);
  assertStringIncludes(unblock.stderr, "is qmd start running?");
  const bad = await runQmd(["unblock", "--home", home, "two words"]);
  assertEquals(bad.code, 64);
});

Deno.test("AUTH: CRAM and DIGEST-MD5 are offered only once a mailbox can answer them", async () => {
  const home = await newHome({ "auth/smtp": "63", "auth/pop3": "63" });
  const qmd = await startQmd(home, { workers: 1 });
  try {
    const ehlo = async () => {
      const client = await SmtpClient.connect(qmd.port);
      try {
        await client.reply();
        return (await client.command("EHLO client.example.test")).split("\r\n")
          .find((line) => line.startsWith("250-AUTH "));
      } finally {
        client.close();
      }
    };
    // joe has no challenge secret: only LOGIN and PLAIN can succeed.
    await waitFor(async () => (await ehlo()) === "250-AUTH LOGIN PLAIN" || undefined, 10_000);
    const pop3 = conversation(qmd.pop3Port);
    await pop3.until(/^\+OK /);
    pop3.send("CAPA");
    await pop3.until(/\r\n\.\r\n/);
    assertStringIncludes(pop3.text(), "SASL LOGIN PLAIN\r\n");
    pop3.end();

    // A mailbox with --challenge-auth: qmd user sends SIGHUP and the mechanisms appear.
    await addUser(home, "ann@example.test", PASSWORD, ["--challenge-auth"]);
    const all = "250-AUTH LOGIN PLAIN CRAM-MD5 CRAM-SHA1 CRAM-RIPEMD DIGEST-MD5";
    await waitFor(async () => (await ehlo()) === all || undefined, 10_000);

    // joe still cannot answer a challenge, and the log says what to do about it.
    const client = await SmtpClient.connect(qmd.port);
    try {
      await client.reply();
      await client.command("EHLO client.example.test");
      const challenge = await client.command("AUTH CRAM-MD5");
      assert(challenge.startsWith("334 "), challenge);
      const answer = await client.command(btoa(`joe@example.test ${"0".repeat(32)}`));
      assertStringIncludes(answer, "535 5.7.8");
    } finally {
      client.close();
    }
    await waitFor(
      () =>
        qmd.output().includes(
          'auth failed for "joe@example.test" from 127.0.0.1: mailbox has no challenge secret: ' +
            "use `qmd user passwd --challenge-auth`",
        ) || undefined,
      10_000,
      () => qmd.output(),
    );
  } finally {
    await qmd.stop();
  }
});
