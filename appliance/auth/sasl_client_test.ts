import { assert, assertEquals, assertThrows } from "../../tests/assert.ts";
import { decodeBase64, encodeBase64 } from "./base64.ts";
import { cramDigest } from "./cram.ts";
import { computeDigestMd5 } from "./digest_md5.ts";
import type { MechanismName } from "./mechanisms.ts";
import {
  checkDigestMd5Rspauth,
  cramResponse,
  digestMd5ClientResponse,
  loginResponse,
  plainInitialResponse,
  SaslClient,
  SaslClientError,
} from "./sasl_client.ts";
import { type Credentials, SaslServer, type VerifyResult } from "./sasl_server.ts";

const text = (base64: string) => new TextDecoder().decode(decodeBase64(base64));

Deno.test("sasl client: PLAIN and LOGIN answers", () => {
  assertEquals(text(plainInitialResponse("joe", "pw")), "\0joe\0pw");
  assertEquals(text(plainInitialResponse("joe", "pw", "joe")), "joe\0joe\0pw");
  assertEquals(loginResponse("joe@example.com"), encodeBase64("joe@example.com"));
});

Deno.test("sasl client: RFC 2195 §2 CRAM-MD5 response", () => {
  assertEquals(
    cramResponse(
      "CRAM-MD5",
      "tim",
      "tanstaaftanstaaf",
      "PDE4OTYuNjk3MTcwOTUyQHBvc3RvZmZpY2UucmVzdG9uLm1jaS5uZXQ+",
    ),
    "dGltIGI5MTNhNjAyYzdlZGE3YTQ5NWI0ZTZlNzMzNGQzODkw",
  );
  assertThrows(() => cramResponse("CRAM-MD5", "tim", "x", "not base64"), SaslClientError);
});

Deno.test("sasl client: RFC 2831 §4 DIGEST-MD5 response and rspauth", () => {
  const answer = digestMd5ClientResponse({
    user: "chris",
    password: "secret",
    challengeBase64:
      "cmVhbG09ImVsd29vZC5pbm5vc29mdC5jb20iLG5vbmNlPSJPQTZNRzl0RVFHbTJoaCIscW9wPSJh" +
      "dXRoIixhbGdvcml0aG09bWQ1LXNlc3MsY2hhcnNldD11dGYtOA==",
    service: "imap",
    host: "elwood.innosoft.com",
    cnonce: "OA6MHXh6VqTrRk",
  });
  assertEquals(
    answer.response,
    "Y2hhcnNldD11dGYtOCx1c2VybmFtZT0iY2hyaXMiLHJlYWxtPSJlbHdvb2QuaW5ub3NvZnQuY29tIixub25jZT0iT0" +
      "E2TUc5dEVRR20yaGgiLG5jPTAwMDAwMDAxLGNub25jZT0iT0E2TUhYaDZWcVRyUmsiLGRpZ2VzdC11cmk9ImltYXAv" +
      "ZWx3b29kLmlubm9zb2Z0LmNvbSIscmVzcG9uc2U9ZDM4OGRhZDkwZDRiYmQ3NjBhMTUyMzIxZjIxNDNhZjcscW9wPW" +
      "F1dGg=",
  );
  assertEquals(answer.expectedRspauth, "ea40f60335c427b5527b84dbabcdfffd");
  assert(
    checkDigestMd5Rspauth(
      "cnNwYXV0aD1lYTQwZjYwMzM1YzQyN2I1NTI3Yjg0ZGJhYmNkZmZmZA==",
      answer.expectedRspauth,
    ),
  );
  assert(!checkDigestMd5Rspauth(encodeBase64(`rspauth=${"0".repeat(32)}`), answer.expectedRspauth));
  assert(!checkDigestMd5Rspauth("!!", answer.expectedRspauth));

  const options = { user: "u", password: "p", service: "smtp", host: "h", cnonce: "c" };
  assertThrows(
    () =>
      digestMd5ClientResponse({
        ...options,
        challengeBase64: encodeBase64('nonce="n",algorithm=md5,qop="auth"'),
      }),
    SaslClientError,
  );
  assertThrows(
    () =>
      digestMd5ClientResponse({
        ...options,
        challengeBase64: encodeBase64('nonce="n",algorithm=md5-sess,qop="auth-conf"'),
      }),
    SaslClientError,
  );
});

const PASSWORD = "pässwörd 1";
const OPTIONS = {
  challenge: "<4711.1700000000@mail.example.com>",
  hostname: "mail.example.com",
  nonce: "r4nd0mN0nce",
  service: "smtp",
};

/** A verifier that knows one user's password, as the accounts verifier does. */
function verify(credentials: Credentials, password = PASSWORD): VerifyResult {
  if (credentials.user !== "joe@example.com") return { ok: false, temporary: false };
  switch (credentials.kind) {
    case "password":
      return credentials.password === password
        ? { ok: true, user: credentials.user }
        : { ok: false, temporary: false };
    case "cram":
      return cramDigest(credentials.mechanism, password, credentials.challenge) ===
          credentials.response
        ? { ok: true, user: credentials.user }
        : { ok: false, temporary: false };
    case "digest-md5": {
      const expected = computeDigestMd5({ ...credentials.response, password });
      return expected.response === credentials.response.response
        ? { ok: true, user: credentials.user, rspauth: expected.rspauth }
        : { ok: false, temporary: false };
    }
    case "apop":
      return { ok: false, temporary: false };
  }
}

/** Runs one exchange of client against server; the server's last step. */
function exchange(mechanism: MechanismName, password: string, verifierPassword = PASSWORD) {
  const client = new SaslClient(mechanism, {
    user: "joe@example.com",
    password,
    service: "smtp",
    host: "mail.example.com",
    cnonce: "cl1ent",
  });
  const server = new SaslServer(mechanism, OPTIONS);
  let step = server.start(client.initialResponse());
  for (let round = 0; round < 5; round++) {
    if (step.kind === "challenge") step = server.receive(client.respond(step.data));
    else if (step.kind === "verify") {
      step = server.verified(verify(step.credentials, verifierPassword));
    } else return step;
  }
  throw new Error("exchange did not end");
}

Deno.test("sasl client against server: all six mechanisms, right and wrong password", () => {
  for (
    const mechanism of [
      "LOGIN",
      "PLAIN",
      "CRAM-MD5",
      "CRAM-SHA1",
      "CRAM-RIPEMD",
      "DIGEST-MD5",
    ] as MechanismName[]
  ) {
    assertEquals(
      exchange(mechanism, PASSWORD),
      { kind: "success", user: "joe@example.com" },
      mechanism,
    );
    assertEquals(exchange(mechanism, "wrong"), { kind: "failure", reason: "rejected" }, mechanism);
  }
});

Deno.test("sasl client: a DIGEST-MD5 server that does not know the password is caught", () => {
  const client = new SaslClient("DIGEST-MD5", {
    user: "joe@example.com",
    password: PASSWORD,
    service: "smtp",
    host: "mail.example.com",
    cnonce: "cl1ent",
  });
  const server = new SaslServer("DIGEST-MD5", OPTIONS);
  const first = server.start();
  assert(first.kind === "challenge");
  const step = server.receive(client.respond(first.data));
  assert(step.kind === "verify");
  // An impostor accepts anything but cannot compute rspauth.
  const forged = server.verified({ ok: true, user: "joe@example.com", rspauth: "f".repeat(32) });
  assert(forged.kind === "challenge");
  assertThrows(() => client.respond(forged.data), SaslClientError);
});
