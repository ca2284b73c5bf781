import { assertEquals } from "../../tests/assert.ts";
import { utf8ByteString } from "../bytes.ts";
import { dnsName } from "./idna.ts";

Deno.test("dnsName: a UTF-8 domain (bytes or text) is asked by its A-labels; ASCII as it is", () => {
  assertEquals(dnsName(utf8ByteString("例子.测试")), "xn--fsqu00a.xn--0zwm56d");
  assertEquals(dnsName("例子.测试"), "xn--fsqu00a.xn--0zwm56d");
  assertEquals(dnsName(utf8ByteString("Bücher.example")), "xn--bcher-kva.example");
  assertEquals(dnsName("Bücher.example"), "xn--bcher-kva.example");
  assertEquals(dnsName("Example.COM"), "Example.COM");
  assertEquals(dnsName("[192.0.2.1]"), "[192.0.2.1]");
  // 8-bit chars that are not UTF-8 bytes are read as text (Latin-1 here).
  assertEquals(dnsName("a\u00ff.example"), "xn--a-kha.example");
  // What makes no valid name stays as it is (the lookup then fails as for any bad name).
  assertEquals(dnsName("xn--\u00fc.example"), "xn--\u00fc.example");
});
