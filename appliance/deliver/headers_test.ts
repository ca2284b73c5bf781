import { assertEquals } from "../../tests/assert.ts";
import {
  formatCtime,
  formatDeliveredTo,
  formatFromLine,
  formatReturnPath,
  quoteAddress,
} from "./headers.ts";

Deno.test("quoteAddress: §4.10 bare dot-atoms, quoted otherwise, domain never", () => {
  const cases: [string, string][] = [
    ["", ""],
    ["joe@example.com", "joe@example.com"],
    ["a.b+c@x", "a.b+c@x"],
    ["joe smith@x", '"joe smith"@x'],
    [".joe@x", '".joe"@x'],
    ["joe.@x", '"joe."@x'],
    ["jo..e@x", '"jo..e"@x'],
    ['a"b\\c@x', '"a\\"b\\\\c"@x'],
    ["a\nb@x", '"a\\\nb"@x'],
    ["\xe9t\xe9@x", '"\xe9t\xe9"@x'],
    ["@x", '""@x'],
    ["nodomain", "nodomain"],
    ["a@b@c", '"a@b"@c'],
    ["#@[]", "#@[]"],
  ];
  for (const [input, expected] of cases) assertEquals(quoteAddress(input), expected, input);
});

Deno.test("DTLINE: Delivered-To without quoting, LF → _", () => {
  assertEquals(
    formatDeliveredTo("example.com-joe", "example.com"),
    "Delivered-To: example.com-joe@example.com\n",
  );
  assertEquals(formatDeliveredTo("a b\nc", "x"), "Delivered-To: a b_c@x\n");
});

Deno.test("RPLINE: Return-Path quoted, empty sender <>", () => {
  assertEquals(formatReturnPath(""), "Return-Path: <>\n");
  assertEquals(formatReturnPath("bob@example.org"), "Return-Path: <bob@example.org>\n");
  assertEquals(formatReturnPath("b ob@x"), 'Return-Path: <"b ob"@x>\n');
  assertEquals(formatReturnPath("a\nb@x"), 'Return-Path: <"a\\_b"@x>\n');
});

Deno.test("UFLINE: From sender date in UTC, day zero-padded", () => {
  const date = new Date(Date.UTC(2024, 2, 5, 7, 8, 9));
  assertEquals(formatCtime(date), "Tue Mar 05 07:08:09 2024");
  assertEquals(
    formatFromLine("bob@example.org", date),
    "From bob@example.org Tue Mar 05 07:08:09 2024\n",
  );
  assertEquals(formatFromLine("", date), "From MAILER-DAEMON Tue Mar 05 07:08:09 2024\n");
  assertEquals(formatFromLine("a b\tc\nd@x", date), "From a-b-c-d@x Tue Mar 05 07:08:09 2024\n");
});
