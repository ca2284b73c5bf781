import { assertEquals, assertStringIncludes } from "../../tests/assert.ts";
import { utf8ByteString } from "../bytes.ts";
import { formatRemoteReport } from "../send/remote_report.ts";
import { SmtpClientSession } from "./client.ts";
import { parseEhloCapabilities } from "./ehlo_capabilities.ts";
import { IP, options, play } from "./test_client.ts";

const SENDER = utf8ByteString("jörg@me.example");
const RECIPIENT = utf8ByteString("用户@例子.测试");
const UTF8_MESSAGE = { sender: SENDER, recipients: [RECIPIENT], smtpUtf8: true };

Deno.test("client: SMTPUTF8 in EHLO, in any case", () => {
  assertEquals(parseEhloCapabilities(["250-mx", "250 smtputf8"]).smtpUtf8, true);
  assertEquals(parseEhloCapabilities(["250-mx", "250 8BITMIME"]).smtpUtf8, undefined);
});

Deno.test("client: a message with a UTF-8 address goes out with SMTPUTF8 when offered (RFC 6531 §3.4)", () => {
  const session = new SmtpClientSession(options({ message: UTF8_MESSAGE }));
  const { commands, result } = play(session, [
    "220 mx.there.example ESMTP",
    "250-mx.there.example\n250-8BITMIME\n250 SMTPUTF8",
    "250 ok",
    "250 ok",
    "354 go ahead",
    "250 queued",
  ]);
  assertEquals(commands.slice(0, 3), [
    "EHLO me.example",
    `MAIL FROM:<${SENDER}> SMTPUTF8`,
    `RCPT TO:<${RECIPIENT}>`,
  ]);
  assertEquals(result!.outcome, "delivered");
});

Deno.test("client: a server without SMTPUTF8 gets no MAIL; the message bounces with 5.6.7", () => {
  const session = new SmtpClientSession(options({ message: UTF8_MESSAGE }));
  const { commands, result } = play(session, [
    "220 mx.there.example ESMTP",
    "250-mx.there.example\n250-PIPELINING\n250 8BITMIME",
  ]);
  assertEquals(commands, ["EHLO me.example"]);
  assertEquals(result!.outcome, "failed");
  // Nothing was sent for the message: the connection may carry the next one.
  assertEquals(result!.reusable, true);
  const report = formatRemoteReport(result!.records);
  assertEquals(report.status, "D");
  assertStringIncludes(report.text, `Connected to ${IP} but it does not offer SMTPUTF8`);
  assertStringIncludes(report.text, "553 5.6.7 ");
  assertStringIncludes(report.text, "(#5.6.7)");
  assertEquals(session.quit(), ["QUIT"]);
});

Deno.test("client: a HELO-only server cannot take a UTF-8 address either", () => {
  const session = new SmtpClientSession(options({ message: UTF8_MESSAGE }));
  const { commands, result } = play(session, ["220 old", "502 no", "250 old"]);
  assertEquals(commands, ["EHLO me.example", "HELO me.example"]);
  assertEquals(formatRemoteReport(result!.records).status, "D");
});

Deno.test("client: an ASCII message sends no SMTPUTF8, offered or not", () => {
  const session = new SmtpClientSession(options());
  const { commands } = play(session, [
    "220 hi",
    "250-mx\n250 SMTPUTF8",
    "250 ok",
    "250 ok",
    "354 go",
    "250 ok",
  ]);
  assertEquals(commands[1], "MAIL FROM:<a@me.example>");
});
