import { assert, assertEquals } from "../../tests/assert.ts";
import { AbsentNames, RACY_MS } from "./absent_names.ts";

async function withDir(fn: (dir: string, info: Deno.FileInfo) => void): Promise<void> {
  const dir = await Deno.makeTempDir();
  try {
    fn(dir, Deno.statSync(dir));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

function aged(info: Deno.FileInfo, mtime: number, ctime = mtime): Deno.FileInfo {
  return { ...info, mtime: new Date(mtime), ctime: new Date(ctime) };
}

Deno.test("AbsentNames: kept while the directory's times stay, dropped when they change", async () => {
  await withDir((dir, info) => {
    const cache = new AbsentNames();
    const now = 1_000_000_000;
    const old = aged(info, now - RACY_MS - 1);
    const names = cache.namesFor(dir, old, now)!;
    cache.note(names, dir, ".qmail");
    assert(names.has(".qmail"));
    assert(cache.namesFor(dir, old, now + 5000)!.has(".qmail"));
    assertEquals(cache.namesFor(dir, aged(info, now - RACY_MS - 1, now - RACY_MS), now)!.size, 0);
    cache.namesFor(dir, old, now)!.add(".qmail");
    assertEquals(cache.namesFor(dir, aged(info, now - RACY_MS), now)!.size, 0);
    cache.namesFor(dir, old, now)!.add(".qmail");
    assertEquals(cache.namesFor(dir, { ...old, ino: (old.ino ?? 0) + 1 }, now)!.size, 0);
  });
});

Deno.test("AbsentNames: a directory changed within RACY_MS is not trusted", async () => {
  await withDir((dir, info) => {
    const cache = new AbsentNames();
    const now = 1_000_000_000;
    assertEquals(cache.namesFor(dir, aged(info, now - 10), now), undefined);
    assertEquals(cache.namesFor(dir, aged(info, now - RACY_MS - 1, now - 10), now), undefined);
    assertEquals(cache.namesFor(dir, aged(info, now + 60_000), now), undefined);
  });
});

Deno.test("AbsentNames: only names with no entry at all, and none holding a slash", async () => {
  await withDir((dir) => {
    const names = new Set<string>();
    const cache = new AbsentNames();
    Deno.writeTextFileSync(`${dir}/.qmail-file`, "x\n");
    Deno.symlinkSync(`${dir}/nowhere`, `${dir}/.qmail-dangling`);
    for (const name of [".qmail-none", ".qmail-file", ".qmail-dangling", ".qmail-a/b"]) {
      cache.note(names, dir, name);
    }
    assertEquals([...names], [".qmail-none"]);
    cache.note(undefined, dir, ".qmail-other"); // no set: nothing to do
  });
});
