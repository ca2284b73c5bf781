import { assertEquals } from "../../tests/assert.ts";
import { utf8ByteString } from "../bytes.ts";
import { dnsDomain } from "./remote_delivery.ts";

Deno.test("remote: a UTF-8 domain is looked up in DNS by its A-labels; ASCII as it is", () => {
  assertEquals(dnsDomain(utf8ByteString("例子.测试")), "xn--fsqu00a.xn--0zwm56d");
  assertEquals(dnsDomain(utf8ByteString("Bücher.example")), "xn--bcher-kva.example");
  assertEquals(dnsDomain("Example.COM"), "Example.COM");
  assertEquals(dnsDomain("[192.0.2.1]"), "[192.0.2.1]");
  // Bytes that are no valid name stay as they are (the lookup then fails as for any bad name).
  assertEquals(dnsDomain("a\xff\xfe.example"), "a\xff\xfe.example");
});
