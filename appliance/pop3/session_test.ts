import { assert, assertEquals, assertThrows } from "../../tests/assert.ts";
import { stringToBytes } from "../bytes.ts";
import { checkDigestMd5Rspauth, digestMd5ClientResponse } from "../auth/sasl_client.ts";
import { verifyTranscriptCredentials } from "../../tests/transcript.ts";
import { Pop3Session } from "./session.ts";
import type { Pop3SessionOptions } from "./session_options.ts";
import type { Pop3Message, Pop3Step } from "./session_step.ts";

const TIMESTAMP = "<4242.1700000000@mx.example.net>";

const MESSAGES: Pop3Message[] = [
  { name: "new/1.a.mx", size: 10, uidl: "1.a.mx" },
  { name: "cur/2.b.mx:2,S", size: 20, uidl: "2.b.mx" },
];

function session(overrides: Partial<Pop3SessionOptions> = {}): Pop3Session {
  const pop = new Pop3Session({
    hostname: "mx.example.net",
    timestamp: TIMESTAMP,
    tls: { offered: false, active: false },
    plaintextAllowed: true,
    mechanisms: ["CRAM-MD5"],
    mechanismsTls: ["PLAIN", "CRAM-MD5", "DIGEST-MD5"],
    newChallenge: () => ({ challenge: "<1.2@mx.example.net>", nonce: "abcdef" }),
    ...overrides,
  });
  assertEquals(pop.greet().replies, [`+OK ${TIMESTAMP}`]);
  return pop;
}

function send(pop: Pop3Session, line: string): Pop3Step {
  return pop.receiveLine(stringToBytes(line));
}

/** Logs in with USER/PASS and opens MESSAGES. */
function loggedIn(overrides: Partial<Pop3SessionOptions> = {}): Pop3Session {
  const pop = session(overrides);
  send(pop, "USER tim");
  const pass = send(pop, "PASS secret");
  assertEquals(pass.effects, [{
    kind: "auth",
    credentials: { kind: "password", mechanism: "USER", user: "tim", password: "secret" },
  }]);
  assertEquals(pop.phase, "verifying");
  const verified = pop.authVerified({ ok: true, user: "tim" });
  assertEquals(verified, { replies: [], effects: [{ kind: "open" }], close: false, delay: 0 });
  assertEquals(pop.phase, "opening");
  assertEquals(pop.mailboxOpened(MESSAGES).replies, ["+OK "]);
  assertEquals(pop.phase, "transaction");
  assertEquals(pop.authUser, "tim");
  return pop;
}

Deno.test("pop3 session: a trailing CR is removed and verbs are case-insensitive", () => {
  const pop = session();
  assertEquals(send(pop, "nOoP\r").replies, ["+OK "]);
  assertEquals(send(pop, "USER tim\r").replies, ["+OK "]);
  const pass = send(pop, "pass  two words\r");
  assertEquals(pass.effects[0], {
    kind: "auth",
    credentials: { kind: "password", mechanism: "USER", user: "tim", password: "two words" },
  });
});

Deno.test("pop3 session: USER/PASS credentials are UTF-8 when the bytes are", () => {
  const pop = session();
  pop.receiveLine(new TextEncoder().encode("USER jürgen"));
  const pass = pop.receiveLine(new TextEncoder().encode("PASS pässword"));
  assertEquals(pass.effects[0], {
    kind: "auth",
    credentials: { kind: "password", mechanism: "USER", user: "jürgen", password: "pässword" },
  });
});

Deno.test("pop3 session: APOP carries the banner timestamp", () => {
  const pop = session({ plaintextAllowed: false });
  const step = send(pop, "APOP mrose c4c9334bac560ecc979e58001b3e22fb");
  assertEquals(step.effects, [{
    kind: "auth",
    credentials: {
      kind: "apop",
      user: "mrose",
      timestamp: TIMESTAMP,
      digest: "c4c9334bac560ecc979e58001b3e22fb",
    },
  }]);
});

Deno.test("pop3 session: a temporary verify failure closes with [SYS/TEMP]", () => {
  const pop = session();
  send(pop, "USER tim");
  send(pop, "PASS secret");
  const step = pop.authVerified({ ok: false, temporary: true });
  assertEquals(step.replies, ["-ERR [SYS/TEMP] temporary authentication failure, try later"]);
  assert(step.close);
  assertEquals(pop.phase, "closed");
  assertEquals(send(pop, "NOOP"), { replies: [], effects: [], close: true, delay: 0 });
});

Deno.test("pop3 session: the failure delay grows through failureDelay", () => {
  const pop = session({
    failDelaySeconds: 2,
    failureDelay: (failures, base) => base * failures,
  });
  send(pop, "USER tim");
  send(pop, "PASS wrong");
  const step = pop.authVerified({ ok: false, temporary: false }, 3);
  assertEquals(step, {
    replies: ["-ERR [AUTH] authorization failed"],
    effects: [],
    close: true,
    delay: 6,
  });
});

Deno.test("pop3 session: DIGEST-MD5 after STLS with service pop and rspauth", () => {
  const pop = session({ tls: { offered: true, active: false } });
  const stls = send(pop, "STLS");
  assertEquals(stls.replies, ["+OK Begin TLS negotiation"]);
  assertEquals(stls.effects, [{ kind: "starttls" }]);
  assertEquals(pop.phase, "starttls");
  assertThrows(() => send(pop, "NOOP"));
  assertEquals(pop.tlsStarted().replies, []);
  assert(pop.tlsActive);
  const challenge = send(pop, "AUTH DIGEST-MD5");
  assert(challenge.replies[0].startsWith("+ "));
  assert(pop.expectsSecret);
  const client = digestMd5ClientResponse({
    user: "tim",
    password: "tanstaaf",
    challengeBase64: challenge.replies[0].slice(2),
    service: "pop",
    host: "mx.example.net",
    cnonce: "OA6MHXh6VqTrRk",
  });
  const verify = send(pop, client.response);
  const effect = verify.effects[0];
  assert(effect.kind === "auth");
  const verdict = verifyTranscriptCredentials({ tim: "tanstaaf" }, effect.credentials);
  assert(verdict.ok);
  const rspauth = pop.authVerified(verdict, 0);
  assert(checkDigestMd5Rspauth(rspauth.replies[0].slice(2), client.expectedRspauth));
  assertEquals(send(pop, "").effects, [{ kind: "open" }]);
  assertEquals(pop.mailboxOpened([]).replies, ["+OK "]);
});

Deno.test("pop3 session: a SASL rejection with no verification still fails the login", () => {
  const pop = session({ tls: { offered: false, active: true } });
  // PLAIN naming another authorization identity (RFC 4616 §2) is refused outright.
  const step = send(pop, `AUTH PLAIN ${btoa("bob\0tim\0secret")}`);
  assertEquals(step.replies, ["-ERR [AUTH] authorization failed"]);
  assert(step.close);
});

Deno.test("pop3 session: RETR and TOP effects, TOP 0 and a garbled count", () => {
  const pop = loggedIn();
  assertEquals(send(pop, "RETR 2"), {
    replies: ["+OK 20 octets"],
    effects: [{ kind: "retrieve", message: MESSAGES[1] }],
    close: false,
    delay: 0,
  });
  assertEquals(send(pop, "TOP 1 0").effects, [{
    kind: "retrieve",
    message: MESSAGES[0],
    lines: 0,
  }]);
  assertEquals(send(pop, "TOP 1 x").effects, [{ kind: "retrieve", message: MESSAGES[0] }]);
  assertEquals(send(pop, "TOP   1    7").effects, [{
    kind: "retrieve",
    message: MESSAGES[0],
    lines: 7,
  }]);
});

Deno.test("pop3 session: retrieveFailed only after a retrieve, LAST restored", () => {
  const pop = loggedIn();
  assertThrows(() => pop.retrieveFailed());
  send(pop, "RETR 1");
  assertEquals(send(pop, "LAST").replies, ["+OK 1"]);
  send(pop, "RETR 2");
  assertEquals(pop.retrieveFailed().replies, ["-ERR unable to open that message"]);
  assertEquals(send(pop, "LAST").replies, ["+OK 1"]);
  assertThrows(() => pop.retrieveFailed());
});

Deno.test("pop3 session: QUIT commits only the deleted; a failed commit says why", () => {
  const pop = loggedIn();
  send(pop, "DELE 2");
  const quit = send(pop, "QUIT");
  assertEquals(quit.replies, []);
  assertEquals(quit.effects, [{ kind: "commit", deleted: [MESSAGES[1]] }]);
  assertEquals(pop.phase, "committing");
  assertThrows(() => send(pop, "NOOP"));
  assertEquals(pop.committed({ ok: false, text: "-ERR disk trouble" }), {
    replies: ["-ERR disk trouble"],
    effects: [],
    close: true,
    delay: 0,
  });
  const other = loggedIn();
  send(other, "QUIT");
  assertEquals(other.committed({ ok: false, text: "" }).replies, [
    "-ERR unable to unlink all deleted messages",
  ]);
});

Deno.test("pop3 session: QUIT in the authorization state closes without a commit", () => {
  const pop = session();
  assertEquals(send(pop, "QUIT"), { replies: ["+OK "], effects: [], close: true, delay: 0 });
});

Deno.test("pop3 session: timeout closes without committing", () => {
  const pop = loggedIn();
  send(pop, "DELE 1");
  const step = pop.timeout();
  assertEquals(step.effects, []);
  assert(step.close);
  assertEquals(pop.timeout(), { replies: [], effects: [], close: true, delay: 0 });
});

Deno.test("pop3 session: callbacks out of order throw", () => {
  const pop = session();
  assertThrows(() => pop.authVerified({ ok: true, user: "tim" }));
  assertThrows(() => pop.mailboxOpened([]));
  assertThrows(() => pop.mailboxFailed("in-use"));
  assertThrows(() => pop.committed({ ok: true }));
  assertThrows(() => pop.tlsStarted());
  assertThrows(() => pop.greet());
  send(pop, "USER tim");
  send(pop, "PASS x");
  assertThrows(() => send(pop, "NOOP"));
  assertThrows(() => pop.lineTooLong());
});

Deno.test("pop3 session: a line arriving while AUTH is verified throws", () => {
  const pop = session();
  send(pop, "AUTH CRAM-MD5");
  send(pop, btoa("tim 0123456789abcdef0123456789abcdef"));
  assertThrows(() => send(pop, "x"));
});

Deno.test("pop3 session: CAPA without mechanisms has no SASL line", () => {
  const pop = session({ mechanisms: [], plaintextAllowed: false });
  assertEquals(send(pop, "CAPA").replies, [
    "+OK Capability list follows",
    "AUTH-RESP-CODE",
    "TOP",
    "UIDL",
    "PIPELINING",
    "RESP-CODES",
    "IMPLEMENTATION qmd",
    ".",
  ]);
  const named = session({ implementation: "qmd 7" });
  assert(send(named, "CAPA").replies.includes("IMPLEMENTATION qmd 7"));
});

Deno.test("pop3 session: loginNeedsTls (pop3clientcert) takes no login before TLS, every one after", () => {
  const pop = session({ tls: { offered: true, active: false }, loginNeedsTls: true });
  const refused = "-ERR [AUTH] logins need TLS with a client certificate here";
  const capa = send(pop, "CAPA").replies;
  assert(!capa.includes("USER") && !capa.some((line) => line.startsWith("SASL")), capa.join());
  assert(capa.includes("STLS"));
  for (const line of ["USER tim", "PASS secret", `APOP tim ${"0".repeat(32)}`, "AUTH CRAM-MD5"]) {
    const step = send(pop, line);
    assertEquals([step.replies, step.effects], [[refused], []], line);
  }
  assertEquals(send(pop, "AUTH").replies, ["+OK ", "."]);
  assertEquals(send(pop, "STLS").effects, [{ kind: "starttls" }]);
  pop.tlsStarted();
  assertEquals(send(pop, "USER tim").replies, ["+OK "]);
  assertEquals(send(pop, "PASS secret").effects.length, 1);
});
