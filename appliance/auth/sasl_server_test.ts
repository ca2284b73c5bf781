import { assertEquals, assertMatch, assertThrows } from "../../tests/assert.ts";
import { decodeBase64, encodeBase64 } from "./base64.ts";
import { computeDigestMd5 } from "./digest_md5.ts";
import type { MechanismName } from "./mechanisms.ts";
import { MAX_SASL_LINE, parsePlainResponse, SaslServer, type SaslStep } from "./sasl_server.ts";

const OPTIONS = {
  challenge: "<1896.697170952@postoffice.reston.mci.net>",
  hostname: "mail.example.com",
  nonce: "Bfx3Tk2pQm9Lw0Aa",
  service: "smtp",
};

function server(mechanism: MechanismName, options = OPTIONS): SaslServer {
  return new SaslServer(mechanism, options);
}

const b64 = encodeBase64;
const challenge = (data: string): SaslStep => ({ kind: "challenge", data });
const failure = (reason: string): SaslStep => ({ kind: "failure", reason } as SaslStep);

Deno.test("sasl: strict base64 only", () => {
  assertEquals(decodeBase64(""), new Uint8Array());
  assertEquals(decodeBase64("dGlt"), new TextEncoder().encode("tim"));
  assertEquals(decodeBase64("dGk="), new TextEncoder().encode("ti"));
  for (const bad of ["dGk", "dG=k", "d Glt", "dGlt\n", "dGlt=", "dG!t", "===="]) {
    assertEquals(decodeBase64(bad), undefined, bad);
  }
});

Deno.test("sasl LOGIN: Username:/Password: prompts, initial response is the user", () => {
  const login = server("LOGIN");
  assertEquals(login.start(), challenge("VXNlcm5hbWU6"));
  assertEquals(login.receive(b64("joe@example.com")), challenge("UGFzc3dvcmQ6"));
  assertEquals(login.receive(b64("s3cret")), {
    kind: "verify",
    credentials: {
      kind: "password",
      mechanism: "LOGIN",
      user: "joe@example.com",
      password: "s3cret",
    },
  });
  assertEquals(login.verified({ ok: true, user: "joe@example.com" }), {
    kind: "success",
    user: "joe@example.com",
  });
  assertEquals(login.done, true);
  assertThrows(() => login.receive(b64("again")));

  const initial = server("LOGIN");
  assertEquals(initial.start(b64("joe")), challenge("UGFzc3dvcmQ6"));
  assertEquals(initial.receive(b64("pw")).kind, "verify");
  assertEquals(initial.verified({ ok: false, temporary: false }), failure("rejected"));

  // "=" names nobody: ask for the user as without an initial response.
  assertEquals(server("LOGIN").start("="), challenge("VXNlcm5hbWU6"));
  const empty = server("LOGIN");
  empty.start();
  assertEquals(empty.receive(""), failure("malformed"));
  const emptyPassword = server("LOGIN");
  emptyPassword.start(b64("joe"));
  assertEquals(emptyPassword.receive(""), failure("malformed"));
  const temporary = server("LOGIN");
  temporary.start(b64("joe"));
  temporary.receive(b64("pw"));
  assertEquals(temporary.verified({ ok: false, temporary: true }), failure("temporary"));
});

Deno.test("sasl PLAIN: RFC 4616 messages; authzid empty or the user itself", () => {
  const plain = server("PLAIN");
  assertEquals(plain.start(b64("\0joe@example.com\0s3cret")), {
    kind: "verify",
    credentials: {
      kind: "password",
      mechanism: "PLAIN",
      user: "joe@example.com",
      password: "s3cret",
    },
  });
  assertEquals(plain.verified({ ok: true, user: "joe@example.com" }).kind, "success");

  const asked = server("PLAIN");
  assertEquals(asked.start(), challenge(""));
  assertEquals(asked.receive(b64("joe\0joe\0pw")).kind, "verify");

  const other = server("PLAIN");
  assertEquals(other.start(b64("root\0joe\0pw")), failure("rejected"));

  for (
    const bad of [
      "=",
      b64("joe\0pw"),
      b64("\0joe\0pw\0"),
      b64("\0\0pw"),
      b64("\0joe\0"),
      "not base64!",
      encodeBase64(new Uint8Array([0, 0x6a, 0, 0xff])),
    ]
  ) {
    assertEquals(server("PLAIN").start(bad), failure("malformed"), bad);
  }
  assertEquals(parsePlainResponse(new TextEncoder().encode("z\0ü\0pä")), {
    authzid: "z",
    user: "ü",
    password: "pä",
  });
});

Deno.test("sasl CRAM-MD5: RFC 2195 §2 exchange", () => {
  const cram = server("CRAM-MD5");
  // The challenge and response as RFC 2195 §2 prints them.
  assertEquals(cram.start(), challenge("PDE4OTYuNjk3MTcwOTUyQHBvc3RvZmZpY2UucmVzdG9uLm1jaS5uZXQ+"));
  assertEquals(cram.receive("dGltIGI5MTNhNjAyYzdlZGE3YTQ5NWI0ZTZlNzMzNGQzODkw"), {
    kind: "verify",
    credentials: {
      kind: "cram",
      mechanism: "CRAM-MD5",
      user: "tim",
      challenge: "<1896.697170952@postoffice.reston.mci.net>",
      response: "b913a602c7eda7a495b4e6e7334d3890",
    },
  });
  assertEquals(cram.verified({ ok: true, user: "tim" }), { kind: "success", user: "tim" });

  // Server-first: an initial response is a protocol error.
  assertEquals(server("CRAM-MD5").start("dGlt"), failure("malformed"));
  assertEquals(server("CRAM-SHA1").start("="), failure("malformed"));
  const short = server("CRAM-SHA1");
  short.start();
  // An MD5-length digest is not a SHA-1 digest.
  assertEquals(short.receive(b64("tim b913a602c7eda7a495b4e6e7334d3890")), failure("malformed"));
  const ripemd = server("CRAM-RIPEMD");
  ripemd.start();
  const step = ripemd.receive(b64(`tim ${"A".repeat(40)}`));
  assertEquals(step.kind === "verify" && step.credentials, {
    kind: "cram",
    mechanism: "CRAM-RIPEMD",
    user: "tim",
    challenge: OPTIONS.challenge,
    response: "a".repeat(40),
  });
});

const RFC_2831 = { challenge: "", hostname: "elwood.innosoft.com", nonce: "OA6MG9tEQGm2hh" };

Deno.test("sasl DIGEST-MD5: RFC 2831 §4 exchange byte for byte (service imap)", () => {
  const digest = server("DIGEST-MD5", { ...RFC_2831, service: "imap" });
  // The base64 lines as RFC 2831 §4 prints them.
  assertEquals(
    digest.start(),
    challenge(
      "cmVhbG09ImVsd29vZC5pbm5vc29mdC5jb20iLG5vbmNlPSJPQTZNRzl0RVFHbTJoaCIscW9wPSJhdXRoIixh" +
        "bGdvcml0aG09bWQ1LXNlc3MsY2hhcnNldD11dGYtOA==",
    ),
  );
  const step = digest.receive(
    "Y2hhcnNldD11dGYtOCx1c2VybmFtZT0iY2hyaXMiLHJlYWxtPSJlbHdvb2QuaW5ub3NvZnQuY29tIixub25jZT0iT0" +
      "E2TUc5dEVRR20yaGgiLG5jPTAwMDAwMDAxLGNub25jZT0iT0E2TUhYaDZWcVRyUmsiLGRpZ2VzdC11cmk9ImltYXAv" +
      "ZWx3b29kLmlubm9zb2Z0LmNvbSIscmVzcG9uc2U9ZDM4OGRhZDkwZDRiYmQ3NjBhMTUyMzIxZjIxNDNhZjcscW9wPW" +
      "F1dGg=",
  );
  if (step.kind !== "verify" || step.credentials.kind !== "digest-md5") {
    throw new Error(`expected a verify step, got ${JSON.stringify(step)}`);
  }
  const { response } = step.credentials;
  assertEquals([step.credentials.user, step.credentials.realm], ["chris", "elwood.innosoft.com"]);
  // What a verifier holding the password computes:
  const expected = computeDigestMd5({ ...response, password: "secret" });
  assertEquals(expected.response, response.response);
  assertEquals(
    digest.verified({ ok: true, user: "chris", rspauth: expected.rspauth }),
    challenge("cnNwYXV0aD1lYTQwZjYwMzM1YzQyN2I1NTI3Yjg0ZGJhYmNkZmZmZA=="),
  );
  assertEquals(digest.receive(""), { kind: "success", user: "chris" });
});

function digestLine(fields: Record<string, string>): string {
  const base: Record<string, string> = {
    charset: "utf-8",
    username: '"joe@example.com"',
    realm: '"mail.example.com"',
    nonce: `"${OPTIONS.nonce}"`,
    nc: "00000001",
    cnonce: '"abc"',
    "digest-uri": '"smtp/mail.example.com"',
    response: "0123456789abcdef0123456789abcdef",
    qop: "auth",
  };
  const merged = { ...base, ...fields };
  return b64(
    Object.entries(merged).filter(([, value]) => value !== "").map(([k, v]) => `${k}=${v}`)
      .join(","),
  );
}

Deno.test("sasl DIGEST-MD5: the server's own checks", () => {
  const verdict = (fields: Record<string, string>) => {
    const digest = server("DIGEST-MD5");
    digest.start();
    const step = digest.receive(digestLine(fields));
    return step.kind === "failure" ? step.reason : step.kind;
  };
  assertEquals(verdict({}), "verify");
  assertEquals(verdict({ realm: "" }), "verify", "no realm: the empty realm");
  assertEquals(verdict({ "digest-uri": '"SMTP/Mail.Example.com"' }), "verify");
  assertEquals(verdict({ nonce: '"replayed"' }), "rejected");
  assertEquals(verdict({ nc: "00000002" }), "rejected");
  assertEquals(verdict({ realm: '"other.example"' }), "rejected");
  assertEquals(verdict({ "digest-uri": '"pop/mail.example.com"' }), "rejected");
  assertEquals(verdict({ "digest-uri": '"smtp/other.example"' }), "rejected");
  assertEquals(verdict({ "digest-uri": '"smtp/mail.example.com/x"' }), "rejected");
  assertEquals(verdict({ authzid: '"root"' }), "rejected");
  assertEquals(verdict({ authzid: '"joe@example.com"' }), "verify");
  assertEquals(verdict({ qop: "auth-int" }), "malformed");
  assertEquals(verdict({ response: "xyz" }), "malformed");
  assertEquals(verdict({ username: "" }), "malformed");

  assertEquals(server("DIGEST-MD5").start("Zm9v"), failure("malformed"));
  const pop = server("DIGEST-MD5", { ...OPTIONS, service: "pop" });
  pop.start();
  assertEquals(pop.receive(digestLine({ "digest-uri": '"pop/mail.example.com"' })).kind, "verify");
  // The client must answer rspauth with an empty response.
  assertEquals(
    pop.verified({ ok: true, user: "joe@example.com", rspauth: "0".repeat(32) }).kind,
    "challenge",
  );
  assertEquals(pop.receive(b64("more")), failure("malformed"));
  // A verifier that forgets rspauth cannot make the server claim success.
  const forgetful = server("DIGEST-MD5");
  forgetful.start();
  forgetful.receive(digestLine({}));
  assertEquals(forgetful.verified({ ok: true, user: "joe@example.com" }), failure("temporary"));
});

Deno.test("sasl: '*' cancels at every step; a cancelled exchange leaves no state behind", () => {
  for (
    const mechanism of ["LOGIN", "PLAIN", "CRAM-MD5", "CRAM-SHA1", "CRAM-RIPEMD", "DIGEST-MD5"]
  ) {
    const exchange = server(mechanism as MechanismName);
    exchange.start();
    assertEquals(exchange.receive("*"), failure("cancelled"), mechanism);
    assertEquals(exchange.done, true);
  }
  const later = server("LOGIN");
  later.start();
  later.receive(b64("joe"));
  assertEquals(later.receive("*"), failure("cancelled"));
  assertEquals(server("PLAIN").start("*"), failure("cancelled"));
  const rspauth = server("DIGEST-MD5");
  rspauth.start();
  rspauth.receive(digestLine({}));
  rspauth.verified({ ok: true, user: "joe@example.com", rspauth: "0".repeat(32) });
  assertEquals(rspauth.receive("*"), failure("cancelled"));
  // docs/reliability.md A5: CRAM cancelled, then a fresh exchange works.
  const again = server("PLAIN");
  assertEquals(again.start(b64("\0joe\0pw")).kind, "verify");
});

Deno.test("sasl: lines over 12 KiB and misuse of the API", () => {
  const plain = server("PLAIN");
  plain.start();
  assertEquals(plain.receive("A".repeat(MAX_SASL_LINE + 4)), failure("malformed"));
  const big = server("PLAIN");
  big.start();
  // Just under the limit still parses (and is then malformed for another reason).
  assertEquals(big.receive("A".repeat(MAX_SASL_LINE)), failure("malformed"));

  const fresh = server("LOGIN");
  assertThrows(() => fresh.receive("x"));
  assertThrows(() => fresh.verified({ ok: true, user: "x" }));
  fresh.start();
  assertThrows(() => fresh.start());
  assertThrows(() => fresh.verified({ ok: true, user: "x" }));
  fresh.receive(b64("joe"));
  fresh.receive(b64("pw"));
  assertMatch(assertThrows(() => fresh.receive(b64("extra"))).message, /verifying/);
});
