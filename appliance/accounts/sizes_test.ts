import { assertEquals, assertStringIncludes, assertThrows } from "../../tests/assert.ts";
import { AccountError } from "./account_names.ts";
import { formatSize, parseSize } from "./sizes.ts";

Deno.test("parseSize: bytes, K/M/G/T in powers of 1024, 0 and none for no limit", () => {
  assertEquals(parseSize("1500"), 1500);
  assertEquals(parseSize("100M"), 100 * 1024 * 1024);
  assertEquals(parseSize("2g"), 2 * 1024 ** 3);
  assertEquals(parseSize("512KB"), 512 * 1024);
  assertEquals(parseSize("0"), 0);
  assertEquals(parseSize("none"), 0);
  for (const bad of ["", "-1", "1.5M", "10X", "M", "99999999999999999999"]) {
    assertStringIncludes(assertThrows(() => parseSize(bad), AccountError).message, "Invalid size");
  }
});

Deno.test("formatSize: the largest unit at least 1, one decimal at most", () => {
  assertEquals(formatSize(0), "0");
  assertEquals(formatSize(900), "900");
  assertEquals(formatSize(1536), "1.5K");
  assertEquals(formatSize(100 * 1024 * 1024), "100M");
  assertEquals(formatSize(2 * 1024 ** 3 + 1), "2G");
});
