import { assertEquals } from "../tests/assert.ts";
import { addListEntry, removeListEntries, writeControlFile } from "./control_files.ts";

Deno.test("list entry editing is exact and case-insensitive", () => {
  const same = (v: string) => v.toLowerCase() === "example.com";
  assertEquals(addListEntry(undefined, "example.com", same), "example.com\n");
  assertEquals(addListEntry("EXAMPLE.com \n", "example.com", same), undefined);
  assertEquals(addListEntry("#example.com\n", "example.com", same), "#example.com\nexample.com\n");
  assertEquals(
    removeListEntries("a\n#example.com\nExample.com\t\n\nb\n", same),
    "a\n#example.com\n\nb\n",
  );
  assertEquals(removeListEntries("a\n", same), undefined);
  assertEquals(removeListEntries(undefined, same), undefined);
});

Deno.test("writeControlFile replaces a file whole and keeps its mode", async () => {
  const home = await Deno.makeTempDir();
  try {
    Deno.mkdirSync(`${home}/control`);
    writeControlFile(home, "rcpthosts", "a\n");
    const path = `${home}/control/rcpthosts`;
    assertEquals((Deno.statSync(path).mode ?? 0) & 0o777, 0o644);
    Deno.chmodSync(path, 0o640);
    writeControlFile(home, "rcpthosts", "a\nb\n");
    assertEquals(Deno.readTextFileSync(path), "a\nb\n");
    assertEquals((Deno.statSync(path).mode ?? 0) & 0o777, 0o640);
    assertEquals([...Deno.readDirSync(`${home}/control`)].map((entry) => entry.name), [
      "rcpthosts",
    ]);
  } finally {
    await Deno.remove(home, { recursive: true });
  }
});
