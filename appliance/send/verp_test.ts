import { assertEquals } from "../../tests/assert.ts";
import {
  expandVerp,
  needsQuoting,
  quoteAddress,
  quoteLocalPart,
  stripVerpMarker,
  utf8ByteString,
} from "./verp.ts";

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

Deno.test("expandVerp rewrites P@H-@[] per recipient (§4.6)", () => {
  assertEquals(
    expandVerp("list-owner-@example.org-@[]", "joe@x.com"),
    "list-owner-joe=x.com@example.org",
  );
  assertEquals(expandVerp("list-owner-@example.org-@[]", "joe"), "list-owner-@example.org-@[]");
  assertEquals(expandVerp("noat-@[]", "joe@x.com"), "noat-@[]");
  assertEquals(expandVerp("plain@example.org", "joe@x.com"), "plain@example.org");
  assertEquals(expandVerp("", "joe@x.com"), "");
  assertEquals(expandVerp("a@b-@[]", "u@v@w"), "au@v=w@b");
});

Deno.test("stripVerpMarker removes a trailing -@[] (§4.8 step 2)", () => {
  assertEquals(stripVerpMarker("owner-@host-@[]"), "owner-@host");
  assertEquals(stripVerpMarker("owner@host"), "owner@host");
  assertEquals(stripVerpMarker("-@[]"), "");
  assertEquals(stripVerpMarker("#@[]"), "#@[]");
});

Deno.test("utf8ByteString gives one char per UTF-8 byte", () => {
  assertEquals(utf8ByteString("é"), "\xc3\xa9");
  assertEquals(utf8ByteString("abc"), "abc");
});
