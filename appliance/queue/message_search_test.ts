import { assertEquals } from "../../tests/assert.ts";
import { fileContains } from "./message_search.ts";

Deno.test("qmail-remove's search finds a pattern across read chunks and honours -n", async () => {
  const dir = await Deno.makeTempDir({ prefix: "qmd-search-" });
  try {
    const path = `${dir}/mess`;
    // The pattern straddles the 65536-byte chunk boundary.
    const text = "a".repeat(65530) + "needle" + "b".repeat(100);
    Deno.writeTextFileSync(path, text);
    const needle = new TextEncoder().encode("needle");
    assertEquals(fileContains(path, needle, Infinity), true);
    assertEquals(fileContains(path, needle, 65536), true);
    assertEquals(fileContains(path, needle, 65535), false);
    assertEquals(fileContains(path, new TextEncoder().encode("Needle"), Infinity), false);
    assertEquals(fileContains(`${dir}/missing`, needle, Infinity), false);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
