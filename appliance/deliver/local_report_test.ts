import { assertEquals } from "../../tests/assert.ts";
import { formatLocalReport } from "./local_report.ts";

Deno.test("formatLocalReport: status by exit code, text cut at NUL and at 3000 bytes", () => {
  assertEquals(formatLocalReport(1, 0, "ok\n"), { delivery: 1, status: "K", text: "ok\n" });
  assertEquals(formatLocalReport(1, 100, "no\n").status, "D");
  assertEquals(formatLocalReport(1, 111, "later\n").status, "Z");
  assertEquals(formatLocalReport(1, 0, "a\0b").text, "a");
  const long = formatLocalReport(1, 100, "x".repeat(5000));
  assertEquals(long.text, "x".repeat(3000) + "\nError report too long, sorry.\n");
});
