import { assertEquals } from "../../tests/assert.ts";
import { redactPop3Line } from "./command_line.ts";

Deno.test("redactPop3Line masks passwords, digests and SASL responses", () => {
  assertEquals(redactPop3Line("PASS secret words", false), "PASS <hidden>");
  assertEquals(redactPop3Line("pass", false), "pass");
  assertEquals(redactPop3Line("APOP mrose c4c9", false), "APOP mrose <hidden>");
  assertEquals(redactPop3Line("AUTH PLAIN AHRpbQB4", false), "AUTH PLAIN <hidden>");
  assertEquals(redactPop3Line("AUTH CRAM-MD5", false), "AUTH CRAM-MD5");
  assertEquals(redactPop3Line("USER tim", false), "USER tim");
  assertEquals(redactPop3Line("dGlt", true), "<hidden>");
});
