import { assert, assertEquals, assertThrows } from "../../tests/assert.ts";
import { bytesToString, stringToBytes } from "../bytes.ts";
import {
  type SmtpDataEffect,
  type SmtpEffect,
  SmtpSession,
  type SmtpSessionOptions,
} from "./session.ts";

const NOW = new Date("2024-03-05T07:08:09Z");

function session(overrides: Partial<SmtpSessionOptions> = {}): SmtpSession {
  const listed = new Set(["example.net"]);
  const smtp = new SmtpSession({
    greeting: ["mx.example.net"],
    localHost: "mx.example.net",
    remoteIp: "192.0.2.1",
    remoteHost: "unknown",
    rcptHosts: (domain) => listed.has(domain),
    databytes: 0,
    ...overrides,
  });
  smtp.greet();
  return smtp;
}

function send(smtp: SmtpSession, line: string) {
  return smtp.receiveLine(stringToBytes(line), NOW);
}

function replies(smtp: SmtpSession, ...lines: string[]): string[] {
  return lines.flatMap((line) => send(smtp, line).replies);
}

function startData(smtp: SmtpSession, ...recipients: string[]): SmtpDataEffect {
  send(smtp, "MAIL FROM:<a@example.org>");
  for (const recipient of recipients) send(smtp, `RCPT TO:<${recipient}>`);
  const step = send(smtp, "DATA");
  assertEquals(step.replies, ["354 go ahead"]);
  assertEquals(step.effects.length, 1);
  return dataEffect(step.effects[0]);
}

function dataEffect(effect: SmtpEffect | undefined): SmtpDataEffect {
  if (effect?.kind !== "data") throw new Error(`expected a data effect, got ${effect?.kind}`);
  return effect;
}

Deno.test("greet sends the greeting once", () => {
  const smtp = new SmtpSession({
    greeting: ["a b", "c"],
    localHost: "l",
    remoteIp: "192.0.2.1",
    remoteHost: "unknown",
    rcptHosts: null,
    databytes: 0,
  });
  assertEquals(smtp.phase, "connected");
  assertThrows(() => smtp.receiveLine(stringToBytes("NOOP"), NOW));
  assertEquals(smtp.greet(), {
    replies: ["220-a b", "220 c ESMTP"],
    effects: [],
    close: false,
    delay: 0,
  });
  assertThrows(() => smtp.greet());
  assertEquals(send(smtp, "QUIT").replies, ["221 2.0.0 a b"]);
});

Deno.test("an empty greeting is refused", () => {
  assertThrows(() =>
    new SmtpSession({
      greeting: [],
      localHost: "l",
      remoteIp: "i",
      remoteHost: "h",
      rcptHosts: null,
      databytes: 0,
    })
  );
});

Deno.test("one trailing CR is removed, a second one is part of the argument", () => {
  const smtp = session();
  assertEquals(replies(smtp, "NOOP\r"), ["250 2.0.0 ok"]);
  assertEquals(replies(smtp, "MAIL FROM:a@example.org\r\r"), ["250 2.1.0 ok"]);
  assertEquals(replies(smtp, "RCPT TO:<b@example.net>\r"), ["250 2.1.5 ok"]);
  const effect = dataEffect(send(smtp, "DATA\r").effects[0]);
  assertEquals(bytesToString(effect.sender), "a@example.org\r");
  assertEquals(effect.recipients.map(bytesToString), ["b@example.net"]);
});

Deno.test("the data effect carries exact envelope bytes and the Received line", () => {
  const smtp = session({ remoteHost: "client.example.org", remoteInfo: "who" });
  send(smtp, "EHLO helo.example.org");
  // UTF-8 addresses (RFC 6531) as their bytes, one char per byte: "sänder", "用".
  send(smtp, "MAIL FROM:<s\xc3\xa4nder@example.org> SMTPUTF8");
  send(smtp, "RCPT TO:<\xe7\x94\xa8@example.net>");
  send(smtp, "RCPT TO:<b@EXAMPLE.net>");
  const step = send(smtp, "DATA");
  assertEquals(step.close, false);
  const effect = dataEffect(step.effects[0]);
  assertEquals(effect.kind, "data");
  assertEquals([...effect.sender], [...new TextEncoder().encode("sänder@example.org")]);
  assertEquals(effect.recipients.map((r) => [...r]), [
    [...new TextEncoder().encode("用@example.net")],
    [...new TextEncoder().encode("b@EXAMPLE.net")],
  ]);
  assertEquals(
    effect.received,
    "Received: from client.example.org (HELO helo.example.org) (who@192.0.2.1)\n" +
      "  by mx.example.net with UTF8SMTP; 5 Mar 2024 07:08:09 -0000\n",
  );
  assertEquals(smtp.phase, "data");
});

Deno.test("no command is read while the role streams DATA", () => {
  const smtp = session();
  startData(smtp, "b@example.net");
  assertThrows(() => send(smtp, "NOOP"));
  assertThrows(() => smtp.lineTooLong());
  assertEquals(smtp.dataFinished({ kind: "queued", time: 1700000000, qp: "77" }).replies, [
    "250 2.6.0 ok 1700000000 qp 77",
  ]);
  assertThrows(() => smtp.dataFinished({ kind: "hops" }));
  assertEquals(replies(smtp, "NOOP"), ["250 2.0.0 ok"]);
});

Deno.test("dataFinished answers each outcome and resets the transaction", () => {
  const cases: [Parameters<SmtpSession["dataFinished"]>[0], string, boolean][] = [
    [{ kind: "queued", time: 5, qp: "9" }, "250 2.6.0 ok 5 qp 9", false],
    [{ kind: "hops" }, "554 5.4.6 too many hops, this message is looping", false],
    [{ kind: "toobig" }, "552 5.3.4 sorry, that message size exceeds my databytes limit", false],
    [
      { kind: "queue-error", text: "Zqq write error or disk full (#4.3.0)" },
      "451 4.3.0 qq write error or disk full",
      false,
    ],
    [
      { kind: "queue-error", text: "Denvelope address too long for qq (#5.1.3)" },
      "554 5.1.3 envelope address too long for qq",
      false,
    ],
    [{ kind: "barelf" }, "451 4.5.0 See http://pobox.com/~djb/docs/smtplf.html.", true],
  ];
  for (const [outcome, reply, close] of cases) {
    const smtp = session();
    startData(smtp, "b@example.net");
    const step = smtp.dataFinished(outcome);
    const refused = outcome.kind !== "queued";
    assertEquals({ ...step, effects: [] }, { replies: [reply], effects: [], close, delay: 0 });
    // A refusal after the final dot is logged with the envelope (rejection.ts).
    assertEquals(
      step.effects.map((effect) => effect.kind === "log" ? effect.text : effect.kind),
      refused
        ? [
          `reject: END-OF-MESSAGE from 192.0.2.1 helo=<>: ${reply}; from=<a@example.org> to=<b@example.net>`,
        ]
        : [],
    );
    if (close) {
      assertEquals(smtp.phase, "closed");
    } else {
      assertEquals(replies(smtp, "RCPT TO:<b@example.net>", "DATA"), [
        "503 5.5.1 MAIL first",
        "503 5.5.1 MAIL first",
      ]);
    }
  }
});

Deno.test("the HELO name survives DATA for the next Received line", () => {
  const smtp = session();
  send(smtp, "HELO first.example");
  startData(smtp, "b@example.net");
  smtp.dataFinished({ kind: "toobig" });
  const effect = startData(smtp, "b@example.net");
  assert(effect.received.includes("(HELO first.example)"));
});

Deno.test("timeout answers 451 and closes, once", () => {
  const smtp = session();
  assertEquals(smtp.timeout(), {
    replies: ["451 4.4.2 timeout"],
    effects: [],
    close: true,
    delay: 0,
  });
  assertEquals(smtp.timeout(), { replies: [], effects: [], close: true, delay: 0 });
  assertEquals(send(smtp, "NOOP"), { replies: [], effects: [], close: true, delay: 0 });
  const during = session();
  startData(during, "b@example.net");
  assertEquals(during.timeout().replies, ["451 4.4.2 timeout"]);
});

Deno.test("lineTooLong answers 500 and the session goes on", () => {
  const smtp = session();
  send(smtp, "MAIL FROM:<a@example.org>");
  assertEquals(smtp.lineTooLong(), {
    replies: ["500 5.5.2 sorry, that command line is too long"],
    effects: [],
    close: false,
    delay: 0,
  });
  assertEquals(replies(smtp, "RCPT TO:<b@example.net>"), ["250 2.1.5 ok"]);
});

Deno.test("after QUIT every call is a closed step", () => {
  const smtp = session();
  assertEquals(send(smtp, "QUIT"), {
    replies: ["221 2.0.0 mx.example.net"],
    effects: [],
    close: true,
    delay: 0,
  });
  assertEquals(send(smtp, "NOOP"), { replies: [], effects: [], close: true, delay: 0 });
  assertEquals(smtp.lineTooLong(), { replies: [], effects: [], close: true, delay: 0 });
});

Deno.test("RELAYCLIENT bypasses rcpthosts and the routing check, and is appended", () => {
  const smtp = session({ relayClient: "", rcptHosts: null });
  const effect = startData(smtp, "u@victim.org", "a%b@victim.org", "postmaster");
  assertEquals(effect.recipients.map(bytesToString), [
    "u@victim.org",
    "a%b@victim.org",
    "postmaster",
  ]);
  const suffixed = session({ relayClient: "-x" });
  assertEquals(startData(suffixed, "u@victim.org").recipients.map(bytesToString), [
    "u@victim.org-x",
  ]);
});

Deno.test("an address of 900 bytes or more is a syntax error at RCPT", () => {
  const smtp = session({});
  send(smtp, "MAIL FROM:<a@example.org>");
  assertEquals(replies(smtp, `RCPT TO:<${"x".repeat(900)}>`), ["555 5.5.4 syntax error"]);
});

Deno.test("rcpthosts lookups get lower-case domains and suffixes", () => {
  const asked: string[] = [];
  const smtp = session({
    rcptHosts: (domain) => {
      asked.push(domain);
      return domain === ".example.net";
    },
  });
  assertEquals(replies(smtp, "MAIL FROM:<>", "RCPT TO:<u@Mail.EXAMPLE.net>"), [
    "250 2.1.0 ok",
    "250 2.1.5 ok",
  ]);
  assertEquals(asked, ["mail.example.net", ".example.net"]);
});

Deno.test("HTTP verbs get 502 and close; other unknown verbs only 502", () => {
  for (const line of ["GET / HTTP/1.1", "post /x HTTP/1.0", "CONNECT host:25 HTTP/1.1", "HEAD /"]) {
    const smtp = session();
    assertEquals(send(smtp, line), {
      replies: ["502 5.5.1 unimplemented"],
      effects: [],
      close: true,
      delay: 0,
    });
  }
  const smtp = session();
  assertEquals(send(smtp, "GETX /"), {
    replies: ["502 5.5.1 unimplemented"],
    effects: [],
    close: false,
    delay: 0,
  });
});

Deno.test("verbs match ASCII case only", () => {
  const smtp = session();
  assertEquals(replies(smtp, "nOoP", "NOOP\xa0", "N\xd6OP"), [
    "250 2.0.0 ok",
    "502 5.5.1 unimplemented",
    "502 5.5.1 unimplemented",
  ]);
});

Deno.test("a NUL anywhere in a command line is refused", () => {
  const smtp = session();
  const line = stringToBytes("MAIL FROM:<a\0@example.org>");
  assertEquals(smtp.receiveLine(line, NOW).replies, ["501 5.5.4 syntax error"]);
  assertEquals(smtp.receiveLine(new Uint8Array([0x0d]), NOW).replies, [
    "502 5.5.1 unimplemented",
  ]);
  assertEquals(smtp.receiveLine(new Uint8Array([0, 0x0d]), NOW).replies, [
    "501 5.5.4 syntax error",
  ]);
});

Deno.test("maxRecipients counts accepted recipients per message", () => {
  const smtp = session({ maxRecipients: 1 });
  assertEquals(
    replies(
      smtp,
      "MAIL FROM:<>",
      "RCPT TO:<x@victim.org>",
      "RCPT TO:<a@example.net>",
      "RCPT TO:<b@example.net>",
    ),
    [
      "250 2.1.0 ok",
      "553 5.7.1 sorry, that domain isn't in my list of allowed rcpthosts",
      "250 2.1.5 ok",
      "452 4.5.3 sorry, too many recipients",
    ],
  );
});

const AUTH_OPTIONS = {
  plainMechanisms: ["PLAIN" as const],
  tlsMechanisms: ["PLAIN" as const, "LOGIN" as const],
  oldAuth: false,
  requireTls: false,
  failDelaySeconds: 3,
  required: false,
  hostname: "mx.example.net",
  newChallenge: () => ({ challenge: "<1.2@mx.example.net>", nonce: "n" }),
};

Deno.test("AUTH asks the role to verify, then relays; a failure pauses and logs no secret", () => {
  const smtp = session({ auth: AUTH_OPTIONS });
  const plain = btoa("\0tim@example.net\0secret");
  const asked = send(smtp, `AUTH PLAIN ${plain}`);
  assertEquals(asked.replies, []);
  assertEquals(asked.effects, [{
    kind: "auth",
    credentials: {
      kind: "password",
      mechanism: "PLAIN",
      user: "tim@example.net",
      password: "secret",
    },
  }]);
  const failed = smtp.authVerified({ ok: false, temporary: false }, 2);
  assertEquals(failed.replies, ["535 5.7.8 authentication failed"]);
  assert(failed.delay >= 3, "the failure pauses at least authfaildelay");
  assert(!JSON.stringify(failed.effects).includes("secret"));
  send(smtp, `AUTH PLAIN ${plain}`);
  const ok = smtp.authVerified({ ok: true, user: "tim@example.net" });
  assertEquals(ok.replies, ["235 2.7.0 ok, go ahead"]);
  assertEquals(smtp.authUser, "tim@example.net");
  assertEquals(replies(smtp, "MAIL FROM:<tim@example.net>", "RCPT TO:<x@elsewhere.example>"), [
    "250 2.1.0 ok",
    "250 2.1.5 ok",
  ]);
});

Deno.test("AUTH from an IP over the failure limit gets 421 and the session closes", () => {
  const smtp = session({ auth: AUTH_OPTIONS });
  send(smtp, `AUTH PLAIN ${btoa("\0tim@example.net\0guess")}`);
  const blocked = smtp.authVerified({ ok: false, temporary: false }, 10, true);
  assertEquals(blocked.replies, ["421 4.7.0 too many failed authentications, try again later"]);
  assertEquals(blocked.close, true);
  assertEquals(smtp.phase, "closed");
  assertEquals(send(smtp, "NOOP"), { replies: [], effects: [], close: true, delay: 0 });
});

Deno.test("a line over maxcmdlen inside AUTH ends the exchange with 501, logged", () => {
  const smtp = session({ auth: AUTH_OPTIONS });
  send(smtp, "HELO client.example");
  assertEquals(send(smtp, "AUTH PLAIN").replies, ["334 "]);
  assertEquals(smtp.phase, "auth");
  const cut = smtp.lineTooLong();
  assertEquals(cut.replies, ["501 5.5.2 cannot decode the response"]);
  assertEquals(cut.delay, 0);
  assertEquals(cut.effects.map((effect) => effect.kind === "log" && effect.text), [
    "reject: AUTH PLAIN from 192.0.2.1 helo=<client.example>: " +
    "501 5.5.2 cannot decode the response",
  ]);
  assertEquals(smtp.phase, "command");
  assertEquals(replies(smtp, "NOOP"), ["250 2.0.0 ok"]);
});

Deno.test("no client line is read while AUTH is being verified", () => {
  const smtp = session({ auth: AUTH_OPTIONS });
  send(smtp, "AUTH PLAIN");
  assertEquals(send(smtp, btoa("\0tim@example.net\0secret")).effects.map((e) => e.kind), [
    "auth",
  ]);
  assertThrows(() => send(smtp, "NOOP"));
  assertEquals(smtp.authVerified({ ok: true, user: "tim@example.net" }).replies, [
    "235 2.7.0 ok, go ahead",
  ]);
  assertThrows(() => smtp.authVerified({ ok: true, user: "tim@example.net" }));
});

Deno.test("a tlsclients certificate relays; STARTTLS forgets HELO and the transaction", () => {
  const smtp = session({ tls: { offered: true, active: false } });
  send(smtp, "HELO client.example");
  send(smtp, "MAIL FROM:<a@example.org>");
  const start = send(smtp, "STARTTLS");
  assertEquals(start.replies, ["220 2.0.0 ready to start TLS"]);
  assertEquals(start.effects, [{ kind: "starttls" }]);
  assertEquals(smtp.phase, "starttls");
  smtp.tlsStarted(true);
  assertEquals(smtp.tlsActive, true);
  assertEquals(replies(smtp, "RCPT TO:<x@elsewhere.example>"), ["503 5.5.1 MAIL first"]);
  assertEquals(replies(smtp, "MAIL FROM:<a@example.org>", "RCPT TO:<x@elsewhere.example>"), [
    "250 2.1.0 ok",
    "250 2.1.5 ok",
  ]);
  const data = startData(smtp, "y@elsewhere.example");
  assertEquals(data.received.includes("with ESMTPS;"), true);
});
