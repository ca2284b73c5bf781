import { assert, assertEquals, assertThrows } from "../../tests/assert.ts";
import { formatRemoteReport } from "../send/remote_report.ts";
import { SmtpClientSession } from "./client.ts";
import { IP, options, play } from "./test_client.ts";

const EHLO_PLAIN = "250-mx.there.example\n250-SIZE 10000000\n250 8BITMIME";
const EHLO_PIPE = "250-mx.there.example\n250-PIPELINING\n250 SIZE";

Deno.test("client: plain delivery without pipelining (§5.8 step 7)", () => {
  const session = new SmtpClientSession(options());
  const { commands, result } = play(session, [
    "220 mx.there.example ESMTP",
    EHLO_PLAIN,
    "250 ok",
    "250 ok",
    "354 go ahead",
    "250 ok 1700000000 qp 999",
  ]);
  assertEquals(commands, [
    "EHLO me.example",
    "MAIL FROM:<a@me.example> SIZE=1234",
    "RCPT TO:<b@there.example>",
    "DATA",
    "<body>",
  ]);
  assertEquals(result, {
    outcome: "delivered",
    reusable: true,
    records: [
      { kind: "r", text: "" },
      {
        kind: "K",
        text: `${IP} accepted message.\nRemote host said: 250 ok 1700000000 qp 999\n`,
      },
    ],
  });
  assertEquals(formatRemoteReport(result!.records), {
    status: "K",
    text: `${IP} accepted message.\nRemote host said: 250 ok 1700000000 qp 999\n`,
  });
  assertEquals(session.quit(), ["QUIT"]);
});

Deno.test("client: PIPELINING sends MAIL and every RCPT at once (RFC 2920)", () => {
  const session = new SmtpClientSession(options({
    message: { sender: "a@me.example", recipients: ["b@x.example", "c@x.example", "d@x.example"] },
  }));
  const { commands, result, steps } = play(session, [
    "220 hi",
    EHLO_PIPE,
    "250 sender ok",
    "250 ok",
    "550 5.1.1 no such user",
    "451 4.3.0 try later",
    "354 go",
    "250 queued",
  ]);
  assertEquals(steps[2].send, [
    "MAIL FROM:<a@me.example>",
    "RCPT TO:<b@x.example>",
    "RCPT TO:<c@x.example>",
    "RCPT TO:<d@x.example>",
  ]);
  assertEquals(commands.slice(-2), ["DATA", "<body>"]);
  assertEquals(result!.records, [
    { kind: "r", text: "" },
    {
      kind: "h",
      text: `${IP} does not like recipient.\nRemote host said: 550 5.1.1 no such user\n`,
    },
    { kind: "s", text: `${IP} does not like recipient.\nRemote host said: 451 4.3.0 try later\n` },
    { kind: "K", text: `${IP} accepted message.\nRemote host said: 250 queued\n` },
  ]);
});

Deno.test("client: every recipient rejected gives 'Giving up on IP.' without a second said", () => {
  const session = new SmtpClientSession(options());
  const { commands, result } = play(session, ["220 hi", EHLO_PLAIN, "250 ok", "550 no such user"]);
  assertEquals(commands.at(-1), "RCPT TO:<b@there.example>");
  assertEquals(result!.outcome, "failed");
  assert(result!.reusable);
  assertEquals(result!.records, [
    { kind: "h", text: `${IP} does not like recipient.\nRemote host said: 550 no such user\n` },
    { kind: "D", text: `Giving up on ${IP}.\n` },
  ]);
  // §5.7's second example.
  assertEquals(formatRemoteReport(result!.records), {
    status: "D",
    text:
      `${IP} does not like recipient.\nRemote host said: 550 no such user\nGiving up on ${IP}.\n`,
  });
});

Deno.test("client: sender rejected, DATA rejected, after-data rejected (Z for 4xx, D for 5xx)", () => {
  let run = play(new SmtpClientSession(options()), ["220 hi", EHLO_PLAIN, "553 bad sender"]);
  assertEquals(run.result!.records, [{
    kind: "D",
    text: `Connected to ${IP} but sender was rejected.\nRemote host said: 553 bad sender\n`,
  }]);
  run = play(new SmtpClientSession(options()), ["220 hi", EHLO_PLAIN, "451 later"]);
  assertEquals(run.result!.records[0].kind, "Z");
  run = play(new SmtpClientSession(options()), [
    "220 hi",
    EHLO_PLAIN,
    "250 ok",
    "250 ok",
    "554 no",
  ]);
  assertEquals(run.result!.records.at(-1), {
    kind: "D",
    text: `${IP} failed on DATA command.\nRemote host said: 554 no\n`,
  });
  run = play(new SmtpClientSession(options()), [
    "220 hi",
    EHLO_PLAIN,
    "250 ok",
    "250 ok",
    "354 go",
    "452-4.3.1 out of space\n452 4.3.1 try later",
  ]);
  assertEquals(run.result!.records.at(-1), {
    kind: "Z",
    text: `${IP} failed after I sent the message.\n` +
      "Remote host said: 452-4.3.1 out of space\n452 4.3.1 try later\n",
  });
  assertEquals(formatRemoteReport(run.result!.records).status, "Z");
});

Deno.test("client: greeting 4xx/5xx → next MX (seed 002); other codes fail", () => {
  for (const code of ["421", "554"]) {
    const { commands, result } = play(new SmtpClientSession(options()), [`${code} go away`]);
    assertEquals(commands, ["QUIT"]);
    assertEquals(result, {
      outcome: "next-mx",
      reusable: false,
      records: [{
        kind: "Z",
        text: `Connected to ${IP} but greeting failed.\nRemote host said: ${code} go away\n`,
      }],
    });
  }
  const { result } = play(new SmtpClientSession(options()), ["250 odd"]);
  assertEquals(result!.outcome, "failed");
});

Deno.test("client: EHLO 5xx falls back to HELO; HELO rejected", () => {
  let run = play(new SmtpClientSession(options()), [
    "220 hi",
    "502 command not implemented",
    "250 hello",
    "250 ok",
    "250 ok",
    "354 go",
    "250 ok",
  ]);
  assertEquals(run.commands.slice(0, 3), [
    "EHLO me.example",
    "HELO me.example",
    "MAIL FROM:<a@me.example>",
  ]);
  assertEquals(run.result!.outcome, "delivered");
  run = play(new SmtpClientSession(options()), ["220 hi", "500 no", "501 no"]);
  assertEquals(run.result!.records, [{
    kind: "Z",
    text: `Connected to ${IP} but my name was rejected.\nRemote host said: 501 no\n`,
  }]);
  assertEquals(run.commands.at(-1), "QUIT");
});

Deno.test("client: connection dies, and 'Possible duplicate!' after the final dot", () => {
  let run = play(new SmtpClientSession(options()), ["220 hi", EHLO_PLAIN], { lostAfter: 2 });
  assertEquals(run.result!.records, [{
    kind: "Z",
    text: `Connected to ${IP} but connection died. (#4.4.2)\n`,
  }]);
  run = play(
    new SmtpClientSession(options()),
    ["220 hi", EHLO_PLAIN, "250 ok", "250 ok", "354 go"],
    { lostAfter: 5 },
  );
  assertEquals(run.result!.records, [
    { kind: "r", text: "" },
    { kind: "Z", text: `Connected to ${IP} but connection died. Possible duplicate! (#4.4.2)\n` },
  ]);
  assertEquals(run.commands.includes("QUIT"), false);
});

Deno.test("client: a partial final line is a permanent failure", () => {
  const run = play(
    new SmtpClientSession(options()),
    ["220 hi", EHLO_PLAIN, "250 ok", "250 ok", "354 go"],
    { bodyFails: true },
  );
  assertEquals(run.result!.records.at(-1), {
    kind: "D",
    text: "SMTP cannot transfer messages with partial final lines. (#5.6.2)\n",
  });
});

Deno.test("client: quoting of sender and recipients (§4.10), null sender, BODY=8BITMIME", () => {
  const session = new SmtpClientSession(options({
    message: { sender: "", recipients: ["odd user@x.example"], eightBit: true },
  }));
  const run = play(session, ["220 hi", EHLO_PLAIN, "250 ok"]);
  assertEquals(run.commands.slice(1), [
    "MAIL FROM:<> BODY=8BITMIME",
    'RCPT TO:<"odd user"@x.example>',
  ]);
});

Deno.test("client: STARTTLS with tlsremote, EHLO again after TLS (RFC 3207)", () => {
  const ehlo = "250-mx\n250-STARTTLS\n250 PIPELINING";
  const session = new SmtpClientSession(options({ tls: { mode: "opportunistic" } }));
  const run = play(session, [
    "220 hi",
    ehlo,
    "220 ready",
    "250-mx\n250 PIPELINING",
    "250 ok",
    "250 ok",
    "354 go",
    "250 ok",
  ]);
  assertEquals(run.commands.slice(0, 4), [
    "EHLO me.example",
    "STARTTLS",
    "EHLO me.example",
    "MAIL FROM:<a@me.example>",
  ]);
  assert(session.tlsActive);
  assertEquals(run.result!.outcome, "delivered");
  // Rejected STARTTLS continues in plain text when not pinned.
  const plain = play(new SmtpClientSession(options({ tls: { mode: "opportunistic" } })), [
    "220 hi",
    ehlo,
    "454 TLS not available",
    "250 ok",
  ]);
  assertEquals(plain.commands.slice(1, 3), ["STARTTLS", "MAIL FROM:<a@me.example>"]);
  // Off: no STARTTLS even when offered.
  const off = play(new SmtpClientSession(options()), ["220 hi", ehlo, "250 ok"]);
  assertEquals(off.commands[1], "MAIL FROM:<a@me.example>");
});

Deno.test("client: a pinned host never falls back to plain text", () => {
  const pinned = { mode: "required" as const, pinFile: "control/tlshosts/mx.example.pem" };
  let run = play(new SmtpClientSession(options({ tls: pinned })), ["220 hi", EHLO_PLAIN]);
  assertEquals(run.result!.records, [{
    kind: "Z",
    text: `No TLS achieved while control/tlshosts/mx.example.pem exists; connected to ${IP}.\n`,
  }]);
  const ehlo = "250-mx\n250 STARTTLS";
  run = play(new SmtpClientSession(options({ tls: pinned })), ["220 hi", ehlo, "454 no"]);
  assertEquals(
    run.result!.records[0].text,
    `STARTTLS rejected while control/tlshosts/mx.example.pem exists; connected to ${IP}.\nRemote host said: 454 no\n`,
  );
  run = play(new SmtpClientSession(options({ tls: pinned })), ["220 hi", ehlo, "220 go"], {
    tls: "verify",
  });
  assertEquals(run.result, {
    outcome: "failed",
    reusable: false,
    records: [{
      kind: "Z",
      text:
        `TLS unable to verify server with control/tlshosts/mx.example.pem: certificate expired; connected to ${IP}.\n`,
    }],
  });
  assertEquals(run.commands, ["EHLO me.example", "STARTTLS"]);
  run = play(new SmtpClientSession(options({ tls: { mode: "opportunistic" } })), [
    "220 hi",
    ehlo,
    "220 go",
  ], { tls: "handshake" });
  assertEquals(
    run.result!.records[0].text,
    `TLS connect failed: certificate expired; connected to ${IP}.\n`,
  );
});

Deno.test("client: RSET reuse for the next message; a stale connection", () => {
  const session = new SmtpClientSession(options());
  let run = play(session, ["220 hi", EHLO_PIPE, "250 ok", "250 ok", "354 go", "250 ok one"]);
  assertEquals(run.result!.outcome, "delivered");
  let step = session.nextMessage({
    sender: "x@me.example",
    recipients: ["y@there.example"],
    size: 9,
  });
  assertEquals(step.send, ["RSET"]);
  step = session.reply(["250 flushed"]);
  assertEquals(step.send, ["MAIL FROM:<x@me.example> SIZE=9", "RCPT TO:<y@there.example>"]);
  step = session.reply(["250 ok"]);
  step = session.reply(["250 ok"]);
  assertEquals(step.send, ["DATA"]);
  step = session.reply(["354 go"]);
  assert(step.streamBody);
  session.bodySent();
  step = session.reply(["250 ok two"]);
  assertEquals(step.done!.records, [
    { kind: "r", text: "" },
    { kind: "K", text: `${IP} accepted message.\nRemote host said: 250 ok two\n` },
  ]);
  // The next reuse finds the connection dead before any MAIL reply: stale.
  session.nextMessage({ sender: "x@me.example", recipients: ["z@there.example"] });
  step = session.connectionLost();
  assertEquals(step.done!.outcome, "stale");
  assertThrows(() => session.nextMessage({ sender: "", recipients: ["q@x"] }));
  // RSET rejected.
  const other = new SmtpClientSession(options());
  run = play(other, ["220 hi", EHLO_PLAIN, "250 ok", "250 ok", "354 go", "250 ok"]);
  other.nextMessage({ sender: "", recipients: ["q@x.example"] });
  step = other.reply(["421 closing"]);
  assertEquals(step.done!.outcome, "stale");
  assertEquals(step.send, ["QUIT"]);
});

Deno.test("client: a 421 reply leaves the connection unusable", () => {
  const run = play(new SmtpClientSession(options()), ["220 hi", EHLO_PLAIN, "421 shutting down"]);
  assertEquals(run.result!.reusable, false);
  assertEquals(run.commands.at(-1), "QUIT");
});

Deno.test("client: a message needs a recipient", () => {
  assertThrows(() => new SmtpClientSession(options({ message: { sender: "", recipients: [] } })));
});

Deno.test("client: a reused connection lost before any MAIL reply is stale, after it failed", () => {
  const session = new SmtpClientSession(options());
  play(session, ["220 hi", EHLO_PIPE, "250 ok", "250 ok", "354 go", "250 ok"]);
  session.nextMessage({ sender: "x@me.example", recipients: ["y@there.example"] });
  assertEquals(session.reply(["250 flushed"]).send.length, 2);
  assertEquals(session.connectionLost().done!.outcome, "stale");

  const later = new SmtpClientSession(options());
  play(later, ["220 hi", EHLO_PIPE, "250 ok", "250 ok", "354 go", "250 ok"]);
  later.nextMessage({ sender: "x@me.example", recipients: ["y@there.example"] });
  later.reply(["250 flushed"]);
  assertEquals(later.reply(["250 ok"]).send, []);
  assertEquals(later.connectionLost().done, {
    outcome: "failed",
    reusable: false,
    records: [{ kind: "Z", text: `Connected to ${IP} but connection died. (#4.4.2)\n` }],
  });
});

Deno.test("client: a 421 to the last RCPT ends the message although one was accepted", () => {
  const session = new SmtpClientSession(options({
    message: { sender: "a@me.example", recipients: ["b@x.example", "c@x.example"] },
  }));
  const run = play(session, ["220 hi", EHLO_PIPE, "250 ok", "250 ok", "421 4.3.2 shutting down"]);
  assertEquals(run.result, {
    outcome: "failed",
    reusable: false,
    records: [
      { kind: "r", text: "" },
      {
        kind: "s",
        text: `${IP} does not like recipient.\nRemote host said: 421 4.3.2 shutting down\n`,
      },
      { kind: "Z", text: `Connected to ${IP} but connection died. (#4.4.2)\n` },
    ],
  });
  assertEquals(run.commands.at(-1), "QUIT");
});
