import { assertEquals } from "../../tests/assert.ts";
import { utf8ByteString } from "../bytes.ts";
import {
  hasEightBit,
  isUtf8,
  needsSmtpUtf8,
  parseSmtpUtf8Parameter,
  REPLY_MAIL_NOT_UTF8,
  REPLY_RCPT_NOT_UTF8,
  REPLY_UTF8_NOT_DECLARED,
  utf8AddressRefusal,
} from "./smtputf8.ts";

Deno.test("smtputf8: the MAIL FROM keyword in any case, without a value", () => {
  assertEquals(parseSmtpUtf8Parameter([]), "absent");
  assertEquals(parseSmtpUtf8Parameter(["SIZE=10", "BODY=8BITMIME"]), "absent");
  assertEquals(parseSmtpUtf8Parameter(["SMTPUTF8"]), "declared");
  assertEquals(parseSmtpUtf8Parameter(["size=1", "SmtpUtf8"]), "declared");
  assertEquals(parseSmtpUtf8Parameter(["SMTPUTF8=yes"]), "invalid");
  assertEquals(parseSmtpUtf8Parameter(["SMTPUTF8="]), "invalid");
  assertEquals(parseSmtpUtf8Parameter(["SMTPUTF8X"]), "absent");
});

Deno.test("smtputf8: ASCII always passes; UTF-8 only when declared; other 8-bit bytes never", () => {
  const jorg = utf8ByteString("jörg@例子.测试");
  assertEquals(utf8AddressRefusal("joe@example.org", false, "MAIL"), undefined);
  assertEquals(utf8AddressRefusal("", false, "MAIL"), undefined);
  assertEquals(utf8AddressRefusal(jorg, true, "RCPT"), undefined);
  assertEquals(utf8AddressRefusal(jorg, false, "MAIL"), REPLY_UTF8_NOT_DECLARED);
  assertEquals(utf8AddressRefusal(jorg, false, "RCPT"), REPLY_UTF8_NOT_DECLARED);
  // A Latin-1 ö, an overlong "/", a UTF-16 surrogate encoded as UTF-8, a cut sequence.
  for (const bad of ["j\xf6rg@x", "\xc0\xaf@x", "\xed\xa0\x80@x", "a\xe7\x94@x"]) {
    assertEquals(isUtf8(bad), false, JSON.stringify(bad));
    assertEquals(utf8AddressRefusal(bad, true, "MAIL"), REPLY_MAIL_NOT_UTF8);
    assertEquals(utf8AddressRefusal(bad, false, "RCPT"), REPLY_RCPT_NOT_UTF8);
  }
  assertEquals(REPLY_UTF8_NOT_DECLARED.slice(0, 10), "553 5.6.7 ");
});

Deno.test("smtputf8: a delivery needs SMTPUTF8 when its sender or a recipient has 8-bit bytes", () => {
  const utf8 = new TextEncoder().encode("用户@例子.测试");
  assertEquals(needsSmtpUtf8("joe@example.org", ["b@example.net"]), false);
  assertEquals(needsSmtpUtf8("", ["b@example.net"]), false);
  assertEquals(needsSmtpUtf8(utf8ByteString("jörg@example.org"), ["b@example.net"]), true);
  assertEquals(needsSmtpUtf8(new Uint8Array(0), [utf8]), true);
  assertEquals(hasEightBit("plain"), false);
  assertEquals(hasEightBit("\x80"), true);
  assertEquals(hasEightBit(new Uint8Array([0x7f])), false);
});
