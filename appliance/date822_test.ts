import { assertEquals } from "../tests/assert.ts";
import { formatDate822 } from "./date822.ts";

Deno.test("formatDate822 is qmail's date822fmt: UTC, unpadded day", () => {
  assertEquals(formatDate822(new Date(Date.UTC(2024, 2, 5, 7, 8, 9))), "5 Mar 2024 07:08:09 -0000");
  assertEquals(
    formatDate822(new Date(Date.UTC(1999, 11, 31, 23, 59, 59, 999))),
    "31 Dec 1999 23:59:59 -0000",
  );
  assertEquals(formatDate822(new Date(0)), "1 Jan 1970 00:00:00 -0000");
});
