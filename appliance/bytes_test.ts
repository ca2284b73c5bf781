import { assertEquals } from "../tests/assert.ts";
import { utf8ByteString } from "./bytes.ts";

Deno.test("utf8ByteString gives one char per UTF-8 byte", () => {
  assertEquals(utf8ByteString("é"), "\xc3\xa9");
  assertEquals(utf8ByteString("abc"), "abc");
});
