import { assertEquals, assertStringIncludes } from "../tests/assert.ts";
import { queueLayoutFor } from "./queue/layout.ts";
import { injectMessage } from "./queue/qmail_queue.ts";
import { captureConsole, streamOf } from "./cli/test_io.ts";
import { main as aliasMain } from "./cli/alias.ts";
import { main as backupMain } from "./cli/backup.ts";
import { main as initMain } from "./cli/init.ts";
import { main as restoreMain } from "./cli/restore.ts";
import { main as newuMain } from "./cli/newu.ts";
import { main as userMain } from "./cli/user.ts";
import { giveToHomeOwner } from "./home_owner.ts";

/** A uid and gid that are not root's: nobody's on Debian. */
const OTHER = { uid: 65534, gid: 65534 };

/** Every path under `dir` (itself included) owned by `uid`, relative to `dir`. */
function ownedBy(dir: string, uid: number): string[] {
  const found: string[] = [];
  const walk = (path: string, relative: string) => {
    const info = Deno.lstatSync(path);
    if (info.uid === uid) found.push(relative || ".");
    if (!info.isDirectory) return;
    for (const entry of Deno.readDirSync(path)) {
      walk(`${path}/${entry.name}`, relative ? `${relative}/${entry.name}` : entry.name);
    }
  };
  walk(dir, "");
  return found.sort();
}

Deno.test("home owner: a home root owns, a missing path and a home it may not stat change nothing", async () => {
  const home = Deno.makeTempDirSync();
  try {
    Deno.writeTextFileSync(`${home}/file`, "x");
    const before = Deno.statSync(`${home}/file`).uid;
    giveToHomeOwner(home, [`${home}/file`, `${home}/missing`]);
    assertEquals(Deno.statSync(`${home}/file`).uid, before);
    // A role's isolate may not stat the home; it owns what it makes already.
    const worker = new Worker(
      `data:text/javascript,${
        encodeURIComponent(`
        import { giveToHomeOwner } from "${new URL("./home_owner.ts", import.meta.url)}";
        giveToHomeOwner(${JSON.stringify(home)}, []);
        postMessage("ok");`)
      }`,
      { type: "module", deno: { permissions: { read: [new URL("./", import.meta.url)] } } },
    );
    try {
      const answer = await new Promise((resolve) => {
        worker.onmessage = (event) => resolve(event.data);
        worker.onerror = (event) => {
          event.preventDefault();
          resolve(event.message);
        };
      });
      assertEquals(answer, "ok");
    } finally {
      worker.terminate();
    }
  } finally {
    Deno.removeSync(home, { recursive: true });
  }
});

Deno.test("home owner: as root on a home owned by another user, qmd's files get the home's owner", async () => {
  if (Deno.uid() !== 0) {
    console.log("skipped: only root can give files away, and this test process is not root");
    return;
  }
  const home = Deno.makeTempDirSync();
  try {
    Deno.chownSync(home, OTHER.uid, OTHER.gid);
    const run = async (fn: () => Promise<number>) => {
      const result = await captureConsole(fn);
      assertEquals(result.result, 0, result.err.join("\n"));
      return result.out;
    };
    await run(() => initMain(["--home", home, "--me", "mail.example.com"]));
    await run(() =>
      userMain(["add", "joe@example.org", "--password-stdin", "--home", home], streamOf("pw\n"))
    );
    await run(() => aliasMain(["add", "sales@example.org", "joe@example.org", "--home", home]));
    await run(() => aliasMain(["add", "info@mail.example.com", "joe@example.org", "--home", home]));
    // A message the appliance delivered, as the home's owner.
    const message = `${home}/mail/example.org/joe/Maildir/new/1.test`;
    Deno.writeTextFileSync(message, "Subject: x\n\n");
    Deno.chownSync(message, OTHER.uid, OTHER.gid);
    await run(() => userMain(["quota", "joe@example.org", "1M", "--home", home]));
    assertEquals(Deno.statSync(`${home}/mail/example.org/joe/Maildir/maildirsize`).uid, OTHER.uid);
    Deno.writeTextFileSync(`${home}/users/assign`, "=joe:joe:1:1:/tmp:::\n.\n");
    await run(() => newuMain(["--home", home]));
    assertEquals(ownedBy(home, 0), []);
    // The database stays writable by the home's owner after a second writer opens it.
    await run(() => userMain(["rename", "joe@example.org", "jo@example.org", "--home", home]));
    await run(() => userMain(["del", "jo@example.org", "--home", home]));
    assertEquals(ownedBy(home, 0), []);
    assertEquals(Deno.statSync(`${home}/accounts.sqlite`).uid, OTHER.uid);
    // A restore as root into an empty home the qmd user owns: everything it writes is theirs.
    const backup = `${Deno.makeTempDirSync()}/backup`;
    const restored = Deno.makeTempDirSync();
    try {
      Deno.chownSync(restored, OTHER.uid, OTHER.gid);
      const encode = (text: string) => new TextEncoder().encode(text);
      await injectMessage(queueLayoutFor(home), encode("Subject: q\n\n"), encode("a@b.example"), [
        encode("c@d.example"),
      ], { who: "by uid 0" });
      await run(() => backupMain([backup, "--queue", "--maildirs", "--home", home]));
      const restore = await run(() => restoreMain([backup, "--home", restored]));
      assertStringIncludes(restore.join("\n"), "1 queued messages");
      assertEquals(ownedBy(restored, 0), []);
    } finally {
      Deno.removeSync(backup.slice(0, backup.lastIndexOf("/")), { recursive: true });
      Deno.removeSync(restored, { recursive: true });
    }
    assertEquals(Deno.statSync(`${home}/mail/example.org/jo/Maildir/new`).uid, OTHER.uid);
  } finally {
    Deno.removeSync(home, { recursive: true });
  }
});
