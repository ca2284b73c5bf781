import { assertEquals } from "../tests/assert.ts";
import { escapeLogText, safeLogText } from "./log_text.ts";

Deno.test("log text: control characters in a record's text become visible escapes; spaces stay", () => {
  assertEquals(escapeLogText("C: MAIL FROM:<a@b>"), "C: MAIL FROM:<a@b>");
  assertEquals(
    escapeLogText("a\x1b[31mb\rc\nd\te\x00f\x7fg\x9bh"),
    "a\\x1b[31mb\\rc\\nd\\te\\x00f\\x7fg\\x9bh",
  );
  assertEquals(escapeLogText("caf\xe9 ok"), "caf\xe9 ok");
});

Deno.test("log text: qmail-send's safe filter: LF becomes /, other unsafe bytes and % become _", () => {
  assertEquals(safeLogText("a@b.example"), "a@b.example");
  assertEquals(safeLogText("x y\nz%\x7f\xe9\x1b!"), "x_y/z____!");
});
