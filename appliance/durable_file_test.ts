import { assert, assertEquals, assertRejects, assertThrows } from "../tests/assert.ts";
import {
  dirname,
  fileExists,
  probeFile,
  removeIfPresent,
  removeIfPresentSync,
  replaceFile,
  SharedDirectorySync,
  syncDirectory,
  syncDirectorySync,
} from "./durable_file.ts";

async function withDirectory(run: (dir: string) => Promise<void> | void): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "qmd-durable-" });
  try {
    await run(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** Lets every queued promise callback and timer of this turn run. */
const settle = () => new Promise<void>((resolve) => setTimeout(resolve, 0));

Deno.test("dirname: the part before the last slash; . for a bare name, / for a root entry", () => {
  assertEquals(dirname("/queue/mess/3/123"), "/queue/mess/3");
  assertEquals(dirname("users/cdb"), "users");
  assertEquals(dirname("rules.cdb"), ".");
  assertEquals(dirname("/rules.cdb"), "/");
});

Deno.test("syncDirectory: strict throws for a directory it cannot open; lenient leaves it alone", () =>
  withDirectory(async (dir) => {
    syncDirectorySync(dir);
    await syncDirectory(dir);
    await syncDirectory(dir, { lenient: true });
    assertThrows(() => syncDirectorySync(`${dir}/missing`), Deno.errors.NotFound);
    await assertRejects(() => syncDirectory(`${dir}/missing`), Deno.errors.NotFound);
    await syncDirectory(`${dir}/missing`, { lenient: true });
  }));

Deno.test("SharedDirectorySync: concurrent callers share fsyncs and all resolve", () =>
  withDirectory(async (dir) => {
    const fsyncs: string[] = [];
    const shared = new SharedDirectorySync((path) => {
      fsyncs.push(path);
      return syncDirectory(path);
    });
    // The first call starts an fsync; the seven made while it runs share the one after it.
    await Promise.all(Array.from({ length: 8 }, () => shared.sync(dir)));
    assertEquals(fsyncs, [dir, dir]);
    await shared.sync(dir);
    assertEquals(fsyncs, [dir, dir, dir]);
  }));

Deno.test("SharedDirectorySync: a caller never settles on an fsync that began before its call", async () => {
  const started: { path: string; end: (error?: Error) => void }[] = [];
  const shared = new SharedDirectorySync((path) =>
    new Promise<void>((resolve, reject) => {
      started.push({ path, end: (error) => (error ? reject(error) : resolve()) });
    })
  );
  const settled = new Set<string>();
  const track = (name: string, promise: Promise<void>) =>
    promise.then(() => settled.add(name), () => settled.add(`${name} failed`));

  const first = track("first", shared.sync("d"));
  const waiting = ["a", "b", "c"].map((name) => track(name, shared.sync("d")));
  const other = track("other", shared.sync("e"));
  // One fsync of d under way (the waiting three do not start their own) and one of e.
  assertEquals(started.map((sync) => sync.path), ["d", "e"]);

  started[0].end();
  await first;
  await settle();
  assertEquals([...settled], ["first"]);
  // The fsync the three share begins only now, after the one that was running.
  assertEquals(started.map((sync) => sync.path), ["d", "e", "d"]);

  const late = track("late", shared.sync("d"));
  assertEquals(started.length, 3, "a call during an fsync does not start another at once");
  started[2].end(new Error("EIO"));
  await Promise.all(waiting);
  await settle();
  assertEquals([...settled], ["first", "a failed", "b failed", "c failed"]);
  // The late caller waits for a fsync of its own, after the failed one.
  assertEquals(started.map((sync) => sync.path), ["d", "e", "d", "d"]);
  started[3].end();
  started[1].end();
  await Promise.all([late, other]);
  assertEquals([...settled].sort(), ["a failed", "b failed", "c failed", "first", "late", "other"]);
});

Deno.test("replaceFile: the new bytes via PATH.tmp and a rename, nothing left beside", () =>
  withDirectory(async (dir) => {
    const path = `${dir}/test.cdb`;
    await replaceFile(path, new TextEncoder().encode("one"));
    assertEquals(await Deno.readTextFile(path), "one");
    assertEquals((await Deno.stat(path)).mode! & 0o777, 0o644);
    await replaceFile(path, new TextEncoder().encode("two"));
    assertEquals(await Deno.readTextFile(path), "two");
    assertEquals([...Deno.readDirSync(dir)].map((entry) => entry.name), ["test.cdb"]);
    // A temporary that cannot be made leaves the old file and throws.
    await assertRejects(() => replaceFile(`${dir}/missing/test.cdb`, new Uint8Array(1)));
    assertEquals(await Deno.readTextFile(path), "two");
  }));

Deno.test("removeIfPresent: absence is success; other errors throw", () =>
  withDirectory(async (dir) => {
    for (const remove of [removeIfPresentSync, removeIfPresent]) {
      Deno.writeTextFileSync(`${dir}/file`, "x");
      await remove(`${dir}/file`);
      assertEquals(probeFile(`${dir}/file`), false);
      await remove(`${dir}/file`);
      // A non-empty directory cannot be unlinked: that is an error, not absence.
      Deno.mkdirSync(`${dir}/full`);
      Deno.writeTextFileSync(`${dir}/full/entry`, "x");
      await assertRejects(async () => await remove(`${dir}/full`));
      Deno.removeSync(`${dir}/full`, { recursive: true });
    }
  }));

Deno.test("fileExists: only ENOENT is absence; lstat when links are not followed", () =>
  withDirectory((dir) => {
    Deno.writeTextFileSync(`${dir}/file`, "x");
    Deno.symlinkSync(`${dir}/nowhere`, `${dir}/dangling`);
    assert(fileExists(`${dir}/file`));
    assertEquals(fileExists(`${dir}/missing`), false);
    assertEquals(fileExists(`${dir}/dangling`), false);
    assert(fileExists(`${dir}/dangling`, { followLinks: false }));
    // ENOTDIR is an error the caller must see, not a missing file.
    assertThrows(() => fileExists(`${dir}/file/entry`), Deno.errors.NotADirectory);
    assert(probeFile(`${dir}/file`));
    assertEquals(probeFile(`${dir}/file/entry`), false);
  }));
