/**
 * End to end over loopback: a real `qmd start` on a temporary home, an
 * independent SMTP client (nodemailer) on the other end, and the Maildir
 * checked byte for byte where qmail fixes the bytes.
 */
import nodemailer from "nodemailer";
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

async function homeWithMailbox(): Promise<string> {
  const home = await makeInitedHome();
  await addUser(home, "joe@example.test", "correct horse");
  return home;
}

Deno.test("e2e: nodemailer sends through the appliance and the message lands in the Maildir", async () => {
  const home = await homeWithMailbox();
  const qmd = await startQmd(home);
  try {
    const transport = nodemailer.createTransport({
      host: "127.0.0.1",
      port: qmd.port,
      secure: false,
      ignoreTLS: true,
      name: "client.example",
    });
    const info = await transport.sendMail({
      from: "alice@sender.example",
      to: "joe@example.test",
      subject: "spine test",
      text: "Hello Joe.\n.leading dot line\n",
    });
    assertMatch(String(info.response), /^250 2\.6\.0 ok \d+ qp \d+$/);
    transport.close();
    const maildir = `${home}/mail/example.test/joe/Maildir`;
    const [file] = await waitFor(
      () => {
        const files = maildirNew(maildir);
        return files.length > 0 ? files : undefined;
      },
      20_000,
      () => `delivery to ${maildir}\n${qmd.output()}`,
    );
    const text = await Deno.readTextFile(file);
    const lines = text.split("\n");
    assertEquals(lines[0], "Return-Path: <alice@sender.example>");
    assertEquals(lines[1], "Delivered-To: example.test-joe@example.test");
    assertMatch(
      lines[2],
      /^Received: \(qmail \d+ invoked from network\); \d{1,2} [A-Z][a-z]{2} \d{4} \d\d:\d\d:\d\d -0000$/,
    );
    assertEquals(lines[3], "Received: from unknown (HELO client.example) (127.0.0.1)");
    assertMatch(
      lines[4],
      /^ {2}by mx\.example\.test with SMTP; \d{1,2} [A-Z][a-z]{2} \d{4} \d\d:\d\d:\d\d -0000$/,
    );
    assertStringIncludes(text, "Subject: spine test\n");
    assertStringIncludes(text, "\n.leading dot line\n");
    assert(!text.includes("\r"), "the Maildir copy has LF line ends");
    await waitFor(
      () => qmd.output().includes("end msg") ? true : undefined,
      10_000,
      () => qmd.output(),
    );
    assertMatch(qmd.output(), /\d+\.\d{6} new msg \d+\n/);
    assertMatch(
      qmd.output(),
      /info msg \d+: bytes \d+ from <alice@sender\.example> qp \d+ uid \d+/,
    );
    assertMatch(
      qmd.output(),
      /starting delivery 1: msg \d+ to local example\.test-joe@example\.test/,
    );
    assertMatch(
      qmd.output(),
      /delivery 1: success: did_0\+0\+0\/|delivery 1: success: did_1\+0\+0\//,
    );
  } finally {
    assertEquals(await qmd.stop(), 0);
  }
  assertStringIncludes(qmd.output(), "status: exiting");
});

Deno.test("e2e: a second start on the same home refuses (sendmutex)", async () => {
  const home = await homeWithMailbox();
  const qmd = await startQmd(home);
  try {
    const second = await runQmd(["start", "--home", home, "--smtp", "127.0.0.1:0"]);
    assertEquals(second.code, 111);
    assertMatch(second.stderr, /already running/);
  } finally {
    await qmd.stop();
  }
});

Deno.test("e2e: SIGHUP re-reads control files without dropping a connection", async () => {
  const home = await homeWithMailbox();
  const qmd = await startQmd(home, { workers: 1 });
  const client = await SmtpClient.connect(qmd.port);
  try {
    assertMatch(await client.reply(), /^220 mx\.example\.test ESMTP$/);
    assertEquals(await client.command("HELO a.example"), "250 mx.example.test");
    await Deno.writeTextFile(`${home}/control/smtpgreeting`, "greeting.example.test\n");
    qmd.process.kill("SIGHUP");
    await waitFor(() => qmd.output().includes("reloading") ? true : undefined, 5000);
    assertEquals(await client.command("MAIL FROM:<a@b.example>"), "250 2.1.0 ok");
    assertEquals(await client.command("RCPT TO:<joe@example.test>"), "250 2.1.5 ok");
    assertEquals(await client.command("DATA"), "354 go ahead");
    await client.send("Subject: kept\r\n\r\nstill here\r\n.\r\n");
    assertMatch(await client.reply(), /^250 2\.6\.0 ok/);
    client.close();
    const fresh = await SmtpClient.connect(qmd.port);
    await waitFor(async () => {
      const reply = await fresh.reply();
      return reply;
    }, 5000).then((reply) => assertEquals(reply, "220 greeting.example.test ESMTP"));
    fresh.close();
    // Nothing the files grant changed: the isolates stay (appliance/listener_takeover.ts).
    assertEquals(qmd.output().includes("permissions changed"), false, qmd.output());
  } finally {
    client.close();
    await qmd.stop();
  }
});

Deno.test("e2e: bad input leaves nothing half-queued", async () => {
  const home = await homeWithMailbox();
  const qmd = await startQmd(home, { workers: 1 });
  try {
    // A dropped connection mid-DATA.
    const dropped = await SmtpClient.connect(qmd.port);
    await dropped.reply();
    await dropped.command("HELO a.example");
    await dropped.command("MAIL FROM:<a@b.example>");
    await dropped.command("RCPT TO:<joe@example.test>");
    await dropped.command("DATA");
    await dropped.send("Subject: cut\r\n\r\n" + "x".repeat(100_000));
    dropped.close();
    // A 1 MB line without LF, then a valid command on a fresh connection.
    const long = await SmtpClient.connect(qmd.port);
    await long.reply();
    await long.send("NOOP " + "A".repeat(1_000_000) + "\r\n");
    assertMatch(await long.reply(), /^5\d\d /);
    assertEquals(await long.command("NOOP"), "250 2.0.0 ok");
    // NUL inside a command.
    assertMatch(await long.command("MAIL FROM:<a\0b@example.test>"), /^5\d\d /);
    // A bare LF in DATA: 451 and nothing queued.
    await long.command("MAIL FROM:<a@b.example>");
    await long.command("RCPT TO:<joe@example.test>");
    await long.command("DATA");
    await long.send("Subject: smuggle\r\n\r\nline\n.\nMAIL FROM:<x@y>\r\n.\r\n");
    assertEquals(await long.reply(), "451 4.5.0 See http://pobox.com/~djb/docs/smtplf.html.");
    long.close();
    // Once the server has noticed the dropped connection and aborted, the queue is empty.
    const empty = "messages in queue: 0\nmessages in queue but not yet preprocessed: 0\n";
    let stat = "";
    await waitFor(
      async () => {
        stat = (await runQmd(["qstat", "--home", home])).stdout;
        return stat === empty ? true : undefined;
      },
      15_000,
      () => `an empty queue; qstat says ${JSON.stringify(stat)}`,
    );
    // Nothing half-queued was preprocessed or delivered meanwhile.
    assertEquals(qmd.output().includes("new msg"), false);
    assertEquals(maildirNew(`${home}/mail/example.test/joe/Maildir`), []);
  } finally {
    await qmd.stop();
  }
});

Deno.test("e2e: a message from the raw client is delivered once", async () => {
  const home = await homeWithMailbox();
  const qmd = await startQmd(home);
  try {
    const reply = await sendMessage(
      qmd.port,
      "",
      ["joe@example.test"],
      "Subject: bounce-ish\n\nbody\n",
    );
    assertMatch(reply, /^250 2\.6\.0 ok \d+ qp \d+$/);
    const files = await waitFor(
      () => {
        const found = maildirNew(`${home}/mail/example.test/joe/Maildir`);
        return found.length > 0 ? found : undefined;
      },
      20_000,
      () => qmd.output(),
    );
    assertEquals(files.length, 1);
    assertStringIncludes(await Deno.readTextFile(files[0]), "Return-Path: <>\n");
  } finally {
    await qmd.stop();
  }
});

Deno.test("e2e: inject queues locally and remotely; qread shows the waiting remote recipient; json logs", async () => {
  const home = await homeWithMailbox();
  const qmd = await startQmd(home, { extraArgs: ["--log-format", "json"] });
  try {
    const injected = await runQmd([
      "inject",
      "--home",
      home,
      "-f",
      "alice@example.test",
      "joe@example.test",
      "far@remote.example",
    ], {
      stdin: "Subject: two ways\n\nhello\n",
      env: { QMAILUSER: "alice", QMAILHOST: "example.test" },
    });
    assertEquals(injected.code, 0, injected.stderr);
    const [file] = await waitFor(
      () => {
        const files = maildirNew(`${home}/mail/example.test/joe/Maildir`);
        return files.length > 0 ? files : undefined;
      },
      20_000,
      () => qmd.output(),
    );
    const text = await Deno.readTextFile(file);
    assertStringIncludes(text, "Return-Path: <alice@example.test>\n");
    assertMatch(text, /\nReceived: \(qmail \d+ invoked by uid \d+\); /);
    assertMatch(text, /\nMessage-ID: <[^>]+>\n/i);
    assertMatch(text, /\nDate: /);
    const qread = await waitFor(
      async () => {
        const result = await runQmd(["qread", "--home", home]);
        return result.stdout.includes("remote\tfar@remote.example") ? result.stdout : undefined;
      },
      10_000,
      () => "qread to show the remote recipient",
    );
    assertMatch(
      qread,
      /^\d{1,2} [A-Z][a-z]{2} \d{4} \d\d:\d\d:\d\d GMT {2}#\d+ {2}\d+ {2}<alice@example\.test> \n/,
    );
    assertStringIncludes(qread, "\tremote\tfar@remote.example\n");
    const events = qmd.output().split("\n").filter((line) => line.startsWith("{")).map((line) =>
      JSON.parse(line)
    );
    const newMessage = events.find((event) => event.event === "new_msg");
    assertEquals(typeof newMessage?.msg, "number");
    assert(events.some((event) => event.event === "delivery_success" && event.role === "send"));
  } finally {
    await qmd.stop();
  }
});

Deno.test("e2e: multi-call: invoked as qmail-qstat, qmd behaves as qmail-qstat", async () => {
  const home = await homeWithMailbox();
  const result = await runQmd([], {
    env: { QMD_ARGV0: "/var/qmail/bin/qmail-qstat", QMD_HOME: home },
  });
  assertEquals(result.code, 0, result.stderr);
  assertEquals(
    result.stdout,
    "messages in queue: 0\nmessages in queue but not yet preprocessed: 0\n",
  );
  const unknown = await runQmd(["frobnicate"]);
  assertEquals(unknown.code, 64);
  assertEquals(unknown.stderr.trim().split("\n").length, 1);
  const badFlag = await runQmd(["qstat", "--bogus"]);
  assertEquals(badFlag.code, 64);
  assertEquals(badFlag.stderr.trim().split("\n").length, 1);
});

Deno.test("e2e: a broken control file stops the start with a message naming the file and line", async () => {
  const home = await homeWithMailbox();
  await Deno.writeTextFile(`${home}/control/databytes`, "ten megabytes\n");
  const smtpd = await runQmd(["start", "--home", home, "--smtp", "127.0.0.1:0"]);
  assertEquals(smtpd.code, 111);
  assertStringIncludes(smtpd.stderr, `${home}/control/databytes line 1: expected a whole number`);
  await Deno.remove(`${home}/control/databytes`);
  await Deno.writeTextFile(`${home}/control/concurrencylocal`, "lots\n");
  const send = await runQmd(["start", "--home", home, "--smtp", "127.0.0.1:0"]);
  assertEquals(send.code, 111);
  assertStringIncludes(send.stderr, `${home}/control/concurrencylocal line 1`);
});

Deno.test("e2e: recipients past maxrecipients (100) in one message get 452", async () => {
  const home = await homeWithMailbox();
  // joe-N must exist for realrcptto: joe's .qmail-default takes every extension.
  Deno.writeTextFileSync(`${home}/mail/example.test/joe/.qmail-default`, "./Maildir/\n");
  const qmd = await startQmd(home, { workers: 1 });
  const client = await SmtpClient.connect(qmd.port);
  try {
    await client.reply();
    await client.command("HELO a.example");
    await client.command("MAIL FROM:<a@b.example>");
    const batch = Array.from({ length: 101 }, (_, i) => `RCPT TO:<joe-${i}@example.test>\r\n`)
      .join("");
    await client.send(batch);
    const replies: string[] = [];
    for (let i = 0; i < 101; i++) replies.push(await client.reply());
    assertEquals(replies.filter((reply) => reply === "250 2.1.5 ok").length, 100);
    assertEquals(replies[100], "452 4.5.3 sorry, too many recipients");
  } finally {
    client.close();
    await qmd.stop();
  }
});

Deno.test("e2e: qmd smtpd serves one session on stdin/stdout as under tcpserver", async () => {
  const home = await homeWithMailbox();
  const session = [
    "HELO client.example",
    "MAIL FROM:<alice@sender.example>",
    "RCPT TO:<joe@example.test>",
    "RCPT TO:<victim@elsewhere.example>",
    "DATA",
    "Subject: via tcpserver",
    "",
    "body",
    ".",
    "QUIT",
  ].map((line) => line + "\r\n").join("");
  const result = await runQmd(["smtpd", "--home", home], {
    stdin: session,
    env: {
      TCPREMOTEIP: "192.0.2.7",
      TCPREMOTEHOST: "client.example",
      TCPLOCALHOST: "mx.example.test",
    },
  });
  assertEquals(result.code, 0, result.stderr);
  const replies = result.stdout.split("\r\n");
  assertEquals(replies.slice(0, 6), [
    "220 mx.example.test ESMTP",
    "250 mx.example.test",
    "250 2.1.0 ok",
    "250 2.1.5 ok",
    "553 5.7.1 sorry, that domain isn't in my list of allowed rcpthosts",
    "354 go ahead",
  ]);
  assertMatch(replies[6], /^250 2\.6\.0 ok \d+ qp \d+$/);
  assertEquals(replies[7], "221 2.0.0 mx.example.test");
  const stat = await runQmd(["qstat", "--home", home]);
  assertEquals(
    stat.stdout,
    "messages in queue: 1\nmessages in queue but not yet preprocessed: 1\n",
  );
  const todo = [...Deno.readDirSync(`${home}/queue/mess`)].flatMap((dir) =>
    [...Deno.readDirSync(`${home}/queue/mess/${dir.name}`)].map((file) =>
      `${home}/queue/mess/${dir.name}/${file.name}`
    )
  );
  const text = await Deno.readTextFile(todo[0]);
  assertStringIncludes(
    text,
    "Received: from client.example (192.0.2.7)\n  by mx.example.test with SMTP; ",
  );
});
