import { assert, assertEquals } from "../../tests/assert.ts";
import { decodeBase64, decodeUtf8 } from "../auth/base64.ts";
import { cramDigest } from "../auth/cram.ts";
import { chooseMechanism } from "./client_auth.ts";
import { SmtpClientSession } from "./client.ts";
import { IP, options, play } from "./test_client.ts";

function decode(base64: string): string {
  return decodeUtf8(decodeBase64(base64)!)!;
}

Deno.test("client: AUTH picks the best offered mechanism (CRAM-MD5) and hides the answers", () => {
  const session = new SmtpClientSession(options({ auth: { user: "joe", password: "secret" } }));
  const challenge = btoa("<1.2@relay>");
  const run = play(session, [
    "220 relay",
    "250-relay\n250-AUTH LOGIN PLAIN CRAM-MD5\n250 SIZE",
    `334 ${challenge}`,
    "235 ok",
    "250 ok",
    "250 ok",
    "354 go",
    "250 ok",
  ]);
  assertEquals(run.commands[1], "AUTH CRAM-MD5");
  assertEquals(decode(run.commands[2]), `joe ${cramDigest("CRAM-MD5", "secret", "<1.2@relay>")}`);
  assertEquals(run.sensitive, [run.commands[2]]);
  assert(session.authenticated);
  assertEquals(run.result!.outcome, "delivered");
});

Deno.test("client: AUTH PLAIN with initial response, LOGIN named by the route", () => {
  let run = play(new SmtpClientSession(options({ auth: { user: "joe", password: "pw" } })), [
    "220 relay",
    "250-relay\n250 AUTH=PLAIN LOGIN",
    "235 ok",
    "250 ok",
  ]);
  assert(run.commands[1].startsWith("AUTH PLAIN "));
  assertEquals(decode(run.commands[1].slice(11)), "\0joe\0pw");
  assertEquals(run.sensitive, [run.commands[1]]);
  assertEquals(run.commands[2], "MAIL FROM:<a@me.example>");

  run = play(
    new SmtpClientSession(options({ auth: { user: "joe", password: "pw", mechanism: "login" } })),
    [
      "220 relay",
      "250-relay\n250 AUTH PLAIN LOGIN",
      "334 VXNlcm5hbWU6",
      "334 UGFzc3dvcmQ6",
      "235 ok",
      "250 ok",
    ],
  );
  assertEquals(run.commands.slice(1, 3).map((line, i) => (i === 0 ? line : decode(line))), [
    "AUTH LOGIN",
    "joe",
  ]);
  assertEquals(decode(run.commands[3]), "pw");
  assertEquals(run.commands[4], "MAIL FROM:<a@me.example>");
});

Deno.test("client: AUTH failures: rejected (4xx Z, 5xx D), none offered, secauthremote", () => {
  const auth = { user: "joe", password: "pw" };
  let run = play(new SmtpClientSession(options({ auth })), [
    "220 r",
    "250-r\n250 AUTH PLAIN",
    "535 5.7.8 bad credentials",
  ]);
  assertEquals(run.result!.records, [{
    kind: "D",
    text:
      `Connected to ${IP} but authentication was rejected (AUTH PLAIN).\nRemote host said: 535 5.7.8 bad credentials\n`,
  }]);
  assertEquals(run.commands.at(-1), "QUIT");
  run = play(new SmtpClientSession(options({ auth })), [
    "220 r",
    "250-r\n250 AUTH PLAIN",
    "454 4.7.0 later",
  ]);
  assertEquals(run.result!.records[0].kind, "Z");
  run = play(new SmtpClientSession(options({ auth })), ["220 r", "250 r"]);
  assertEquals(
    run.result!.records[0].text,
    `Connected to ${IP} but no AUTH mechanism I support was offered.\n`,
  );
  run = play(new SmtpClientSession(options({ auth, secAuthRemote: true })), [
    "220 r",
    "250-r\n250 AUTH PLAIN",
  ]);
  assertEquals(
    run.result!.records[0].text,
    `Connected to ${IP} but AUTH is not allowed without TLS (secauthremote).\n`,
  );
  // With TLS, secauthremote lets AUTH through.
  run = play(
    new SmtpClientSession(options({ auth, secAuthRemote: true, tls: { mode: "opportunistic" } })),
    ["220 r", "250-r\n250 STARTTLS", "220 go", "250-r\n250 AUTH PLAIN", "235 ok", "250 ok"],
  );
  assertEquals(run.commands.slice(0, 3), ["EHLO me.example", "STARTTLS", "EHLO me.example"]);
  assert(run.commands[3].startsWith("AUTH PLAIN "));
  // A malformed challenge.
  run = play(new SmtpClientSession(options({ auth: { ...auth, mechanism: "CRAM-MD5" } })), [
    "220 r",
    "250-r\n250 AUTH CRAM-MD5",
    "334 !!!",
  ]);
  assertEquals(
    run.result!.records[0].text,
    `Connected to ${IP} but authentication failed (AUTH CRAM-MD5): Malformed CRAM-MD5 challenge.\n`,
  );
});

Deno.test("client: chooseMechanism takes the route's, else the strongest offered", () => {
  assertEquals(
    chooseMechanism(["LOGIN", "PLAIN", "CRAM-SHA1", "CRAM-MD5"], undefined),
    "CRAM-SHA1",
  );
  assertEquals(chooseMechanism(["CRAM-RIPEMD", "LOGIN"], undefined), "CRAM-RIPEMD");
  assertEquals(chooseMechanism(["LOGIN"], undefined), "LOGIN");
  assertEquals(chooseMechanism(["DIGEST-MD5"], undefined), undefined);
  assertEquals(chooseMechanism([], "cram-md5"), "CRAM-MD5");
  assertEquals(chooseMechanism([], "digest-md5"), undefined);
});
