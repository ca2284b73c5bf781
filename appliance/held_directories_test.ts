import { assert, assertEquals, assertRejects, assertThrows } from "../tests/assert.ts";
import { HeldDirectories } from "./held_directories.ts";

/**
 * Descriptors this process has open on `root` or below it (Linux). Only
 * those: test modules run in parallel in this process, and their own
 * descriptors come and go meanwhile.
 */
function openDescriptors(root: string): number {
  let count = 0;
  for (const entry of Deno.readDirSync("/proc/self/fd")) {
    try {
      const target = Deno.readLinkSync(`/proc/self/fd/${entry.name}`);
      if (target === root || target.startsWith(`${root}/`)) count++;
    } catch {
      // closed since the listing
    }
  }
  return count;
}

Deno.test("HeldDirectories: one handle per directory, kept across fsyncs, bounded", async () => {
  const root = await Deno.makeTempDir({ prefix: "qmd-held-" });
  try {
    for (const name of ["a", "b", "c"]) Deno.mkdirSync(`${root}/${name}`);
    const held = new HeldDirectories(2);
    const before = openDescriptors(root);
    await held.sync(`${root}/a`);
    held.syncSync(`${root}/a`);
    await Promise.all([held.sync(`${root}/a`), held.sync(`${root}/a`)]);
    assertEquals(held.size, 1);
    assertEquals(openDescriptors(root), before + 1, "one descriptor for four fsyncs");

    await held.sync(`${root}/b`);
    await held.sync(`${root}/c`); // over the bound: a, used longest ago, is closed
    assertEquals(held.size, 2);
    assertEquals(openDescriptors(root), before + 2);
    await held.sync(`${root}/a`); // opened again, b goes
    assertEquals(openDescriptors(root), before + 2);

    held.close();
    assertEquals(held.size, 0);
    assertEquals(openDescriptors(root), before);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("HeldDirectories: a directory that cannot be opened throws and holds nothing", async () => {
  const root = await Deno.makeTempDir({ prefix: "qmd-held-" });
  try {
    const held = new HeldDirectories();
    await assertRejects(() => held.sync(`${root}/missing`), Deno.errors.NotFound);
    assertThrows(() => held.syncSync(`${root}/missing`), Deno.errors.NotFound);
    assertEquals(held.size, 0);
    Deno.mkdirSync(`${root}/missing`);
    await held.sync(`${root}/missing`);
    assert(held.size === 1, "held once it exists");
    held.close();
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});
