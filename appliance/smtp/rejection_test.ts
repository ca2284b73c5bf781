import { assertEquals } from "../../tests/assert.ts";
import { bytesToString } from "../bytes.ts";
import { formatLogRecord } from "../log.ts";
import { formatRejection, isRefusal } from "./rejection.ts";

Deno.test("isRefusal: 4xx, 5xx and qmail-md's 221 for DATA without recipients", () => {
  assertEquals(isRefusal("553 5.7.1 sorry"), true);
  assertEquals(isRefusal("452 4.5.3 sorry, too many recipients"), true);
  assertEquals(isRefusal("221 2.0.0 error: I can break rules, too. goodbye."), true);
  assertEquals(isRefusal("221 2.0.0 mx.example.net"), false);
  assertEquals(isRefusal("250 2.1.5 ok"), false);
  assertEquals(isRefusal("354 go ahead"), false);
  assertEquals(isRefusal("334 VXNlcm5hbWU6"), false);
});

Deno.test("formatRejection: one safe line, and the client's text as UTF-8 in the JSON fields", () => {
  // Session strings hold one char per byte: "é" arrives as its two UTF-8 bytes.
  const utf8 = (text: string) => bytesToString(new TextEncoder().encode(text));
  const effect = formatRejection({
    command: "RCPT",
    remoteIp: "192.0.2.7",
    helo: "evil\r\nhost name",
    sender: utf8("josé@example.org"),
    recipients: ["x@victim.example"],
    reply: "553 5.7.1 sorry, that domain isn't in my list of allowed rcpthosts",
  });
  assertEquals(
    effect.text,
    "reject: RCPT from 192.0.2.7 helo=<evil_/host_name>: 553 5.7.1 sorry, that domain isn't in " +
      "my list of allowed rcpthosts; from=<jos__@example.org> to=<x@victim.example>",
  );
  assertEquals(effect.event, "reject");
  const json = JSON.parse(formatLogRecord({
    time: 0,
    role: "smtpd",
    event: "smtp_reject",
    text: `smtpd 1.2: ${effect.text}`,
    fields: { session: "1.2", ...effect.fields },
  }, "json"));
  assertEquals(json.event, "smtp_reject");
  assertEquals(json.session, "1.2");
  assertEquals(json.command, "RCPT");
  assertEquals(json.remote, "192.0.2.7");
  assertEquals(json.helo, "evil\r\nhost name");
  assertEquals(json.sender, "josé@example.org");
  assertEquals(json.recipient, "x@victim.example");
  assertEquals(json.reply, "553 5.7.1 sorry, that domain isn't in my list of allowed rcpthosts");
  assertEquals(json.mechanism, null);
});

Deno.test("formatRejection: AUTH names the mechanism; no envelope, no HELO", () => {
  const effect = formatRejection({
    command: "AUTH",
    mechanism: "PLAIN",
    remoteIp: "192.0.2.7",
    helo: undefined,
    sender: undefined,
    recipients: [],
    reply: "535 5.7.8 authentication failed",
  });
  assertEquals(
    effect.text,
    "reject: AUTH PLAIN from 192.0.2.7 helo=<>: 535 5.7.8 authentication failed",
  );
  assertEquals(effect.fields, {
    command: "AUTH",
    mechanism: "PLAIN",
    remote: "192.0.2.7",
    helo: null,
    sender: null,
    recipient: null,
    reply: "535 5.7.8 authentication failed",
  });
});

Deno.test("formatRejection: after the final dot every recipient is named", () => {
  const effect = formatRejection({
    command: "END-OF-MESSAGE",
    remoteIp: "192.0.2.7",
    helo: "client.example",
    sender: "",
    recipients: ["a@example.net", "b@example.net"],
    reply: "552 5.3.4 sorry, that message size exceeds my databytes limit",
  });
  assertEquals(
    effect.text,
    "reject: END-OF-MESSAGE from 192.0.2.7 helo=<client.example>: 552 5.3.4 sorry, that message " +
      "size exceeds my databytes limit; from=<> to=<a@example.net>,<b@example.net>",
  );
  assertEquals(effect.fields?.recipient, "a@example.net,b@example.net");
  assertEquals(effect.fields?.sender, "");
});
