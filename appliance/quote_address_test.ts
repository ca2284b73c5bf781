import { assertEquals } from "../tests/assert.ts";
import { needsQuoting, quoteAddress, quoteLocalPart } from "./quote_address.ts";

Deno.test("quoteLocalPart leaves atoms bare (§4.10)", () => {
  assertEquals(quoteLocalPart("MAILER-DAEMON"), "MAILER-DAEMON");
  assertEquals(quoteLocalPart("a.b+c=d/e!#$%&'*?^_`{|}~"), "a.b+c=d/e!#$%&'*?^_`{|}~");
});

Deno.test("quoteLocalPart quotes specials, dots at the ends, double dots and 8-bit bytes", () => {
  assertEquals(quoteLocalPart("john doe"), '"john doe"');
  assertEquals(quoteLocalPart(".x"), '".x"');
  assertEquals(quoteLocalPart("x."), '"x."');
  assertEquals(quoteLocalPart("a..b"), '"a..b"');
  assertEquals(quoteLocalPart("a(b)"), '"a(b)"');
  assertEquals(quoteLocalPart("caf\xe9"), '"caf\xe9"');
  // Departure: well-formed UTF-8 is atext (RFC 6531 §3.3), bare; with a special it is quoted.
  assertEquals(quoteLocalPart("j\xc3\xb6rg"), "j\xc3\xb6rg");
  assertEquals(quoteLocalPart("j\xc3\xb6 rg"), '"j\xc3\xb6 rg"');
  assertEquals(quoteLocalPart("j\xc3rg"), '"j\xc3rg"');
  assertEquals(quoteLocalPart(""), '""');
  assertEquals(quoteLocalPart('a"b\\c\r\nd'), '"a\\"b\\\\c\\\r\\\nd"');
  assertEquals(needsQuoting("a@b"), true);
});

Deno.test("quoteAddress quotes only the part before the last @", () => {
  assertEquals(quoteAddress(""), "");
  assertEquals(quoteAddress("joe@example.com"), "joe@example.com");
  assertEquals(quoteAddress("john doe@example.com"), '"john doe"@example.com');
  assertEquals(quoteAddress("a@b@example.com"), '"a@b"@example.com');
  assertEquals(quoteAddress("@example.com"), '""@example.com');
  assertEquals(quoteAddress("no at sign"), '"no at sign"');
  assertEquals(quoteAddress("#@[]"), "#@[]");
});
