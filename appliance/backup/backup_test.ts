import { assert, assertEquals, assertStringIncludes } from "../../tests/assert.ts";
import { AccountStore } from "../accounts/store.ts";
import { main as aliasMain } from "../cli/alias.ts";
import { main as backupMain } from "../cli/backup.ts";
import { main as restoreMain } from "../cli/restore.ts";
import { deliverInHome } from "../cli/test_delivery.ts";
import { captureConsole, streamOf } from "../cli/test_io.ts";
import { main as userMain } from "../cli/user.ts";
import { initHome } from "../home/init_home.ts";
import { type QueueLayout, queueLayoutFor } from "../queue/layout.ts";
import { injectMessage } from "../queue/qmail_queue.ts";
import { MANIFEST_NAME, parseManifest } from "./manifest.ts";

const encode = (text: string) => new TextEncoder().encode(text);

async function ok(fn: () => Promise<number>): Promise<string[]> {
  const run = await captureConsole(fn);
  assertEquals(run.result, 0, run.err.join("\n"));
  return run.out;
}

/** A home with mailboxes, a quota, aliases, controls, tcp rules, mail and two queued messages. */
async function makeHome(home: string): Promise<void> {
  await initHome(home, { me: "mail.example.com" });
  for (const address of ["joe@example.com", "ann@example.com"]) {
    await ok(() =>
      userMain(["add", address, "--password-stdin", "--home", home], streamOf("pw\n"))
    );
  }
  await ok(() => userMain(["quota", "ann@example.com", "10M", "--home", home]));
  await ok(() => aliasMain(["add", "sales@example.com", "joe@example.com", "--home", home]));
  await ok(() => aliasMain(["add", "info@mail.example.com", "ann@example.com", "--home", home]));
  Deno.writeTextFileSync(`${home}/control/databytes`, "1000000\n");
  Deno.writeTextFileSync(`${home}/tcp.smtp`, '127.:allow,RELAYCLIENT=""\n');
  Deno.writeFileSync(`${home}/tcp.smtp.cdb`, new Uint8Array([1, 2, 3]));
  assertEquals((await deliverInHome(home, "joe@example.com")).report.status, "K");
  const layout = queueLayoutFor(home);
  // One message as qmail-queue leaves it (todo/), one as qmail-send has taken it in.
  await injectMessage(layout, encode("Subject: queued\n\nwaiting\n"), encode("a@example.org"), [
    encode("b@remote.example"),
  ], { who: "by uid 0" });
  const id = 4242;
  const files: [string, string][] = [
    [layout.mess(id), "Subject: deferred\n\nretrying\n"],
    [layout.info(id), "Fsender@example.org\0"],
    [layout.remote(id), "Tc@remote.example\0"],
    [layout.local(id), "Dexample.com-joe@example.com\0"],
  ];
  for (const [path, text] of files) {
    Deno.mkdirSync(path.slice(0, path.lastIndexOf("/")), { recursive: true });
    Deno.writeTextFileSync(path, text);
  }
  Deno.utimeSync(layout.info(id), new Date(1_700_000_000_000), new Date(1_700_000_000_000));
}

/** Every queued message's files (numbers aside), with its info/ time, sorted. */
function queueContents(layout: QueueLayout): string[] {
  const read = (forms: readonly string[]) => {
    for (const path of forms) {
      try {
        return Deno.readTextFileSync(path);
      } catch {
        // the other form, or none
      }
    }
    return null;
  };
  return layout.listIds("mess").map((id) =>
    JSON.stringify({
      mess: read([layout.mess(id)]),
      info: read(layout.entryForms("info", id)),
      local: read(layout.entryForms("local", id)),
      remote: read(layout.entryForms("remote", id)),
      todo: read(layout.todoForms(id)),
      intd: read(layout.intdForms(id)),
      infoTime: (() => {
        try {
          return Deno.statSync(layout.info(id)).mtime?.getTime();
        } catch {
          return null;
        }
      })(),
    })
  ).sort();
}

function mailboxes(home: string) {
  const store = AccountStore.open(home, { readonly: true });
  try {
    return store.listMailboxes().map(({ maildir: _, ...rest }) => rest);
  } finally {
    store.close();
  }
}

Deno.test("qmd backup and restore: a round trip gives the same home, queue and mail", async () => {
  const base = await Deno.makeTempDir();
  const [home, dir, restored] = [`${base}/home`, `${base}/backup`, `${base}/restored`];
  try {
    await makeHome(home);
    const backup = await ok(() => backupMain([dir, "--queue", "--maildirs", "--home", home]));
    assertStringIncludes(backup[0], "the accounts database (1 domains, 2 mailboxes)");
    assertStringIncludes(backup[0], "2 queued messages");
    const manifest = parseManifest(Deno.readTextFileSync(`${dir}/${MANIFEST_NAME}`), "m");
    const paths = manifest.entries.map((entry) => entry.path);
    for (
      const path of [
        "control/me",
        "control/databytes",
        "users/assign",
        "tcp.smtp",
        "tcp.smtp.cdb",
        "accounts.lines",
        "alias/.qmail-info",
        "mail/example.com/.qmail-sales",
        "mail/example.com/ann/Maildir/maildirsize",
      ]
    ) assert(paths.includes(path), path);
    assert(!paths.some((path) => path.startsWith("accounts.sqlite")));
    assertEquals((Deno.statSync(dir).mode ?? 0) & 0o777, 0o700);

    const restore = await ok(() => restoreMain([dir, "--home", restored]));
    assertStringIncludes(restore[0], "2 queued messages");
    const fileCount = (line: string) => /: (\d+) files/.exec(line)?.[1];
    assertEquals(fileCount(restore[0]), fileCount(backup[0]));
    for (const entry of manifest.entries) {
      if (entry.kind !== "file" || entry.path.startsWith("queue/")) continue;
      assertEquals(
        Deno.readFileSync(`${restored}/${entry.path}`),
        Deno.readFileSync(`${home}/${entry.path}`),
        entry.path,
      );
      assertEquals(
        Deno.statSync(`${restored}/${entry.path}`).mode,
        Deno.statSync(`${home}/${entry.path}`).mode,
        entry.path,
      );
    }
    assertEquals(mailboxes(restored), mailboxes(home));
    const store = AccountStore.open(restored, { readonly: true });
    try {
      assert(await store.verifyPassword("ann@example.com", "pw"));
    } finally {
      store.close();
    }
    assertEquals(queueContents(queueLayoutFor(restored)), queueContents(queueLayoutFor(home)));
    assertEquals(queueContents(queueLayoutFor(restored)).length, 2);
    // Restored messages carry the numbers of their new mess/ files (qmail-queue's rule).
    const layout = queueLayoutFor(restored);
    for (const id of layout.listIds("mess")) {
      assertEquals(BigInt(Deno.statSync(layout.mess(id)).ino ?? 0), id);
    }
    assert(Deno.lstatSync(layout.trigger).isFifo);
    // The restored home delivers: aliases and mailboxes as before.
    assertEquals((await deliverInHome(restored, "sales@example.com")).forwarded, [
      "joe@example.com",
    ]);
    assertEquals((await deliverInHome(restored, "ann@example.com")).report.status, "K");
  } finally {
    await Deno.remove(base, { recursive: true });
  }
});

Deno.test("qmd restore refuses a damaged backup, a non-empty home, a running one and a full queue", async () => {
  const base = await Deno.makeTempDir();
  const [home, dir] = [`${base}/home`, `${base}/backup`];
  try {
    await makeHome(home);
    await ok(() => backupMain([dir, "--queue", "--home", home]));
    const refuse = async (args: string[], text: string) => {
      const run = await captureConsole(() => restoreMain(args));
      assertEquals([run.result, run.err.length], [100, 1], args.join(" "));
      assertStringIncludes(run.err[0], text);
    };
    await refuse([dir, "--home", home], "is not empty");
    await refuse([dir, "--home", home, "--force"], "holds 2 messages");
    await refuse([`${base}/nothing`, "--home", `${base}/new`], "not a qmd backup");
    const inside = await captureConsole(() => backupMain([`${home}/backup`, "--home", home]));
    assertEquals(inside.result, 100);
    assertStringIncludes(inside.err[0], "is inside the home");
    const again = await captureConsole(() => backupMain([dir, "--home", home]));
    assertEquals(again.result, 100);
    assertStringIncludes(again.err[0], "is not empty");

    // A home whose supervisor holds the sendmutex is running.
    const running = `${base}/running`;
    await initHome(running, { me: "mail.example.com" });
    const layout = queueLayoutFor(running);
    Deno.writeTextFileSync(layout.supervisorPid, `${Deno.pid}\n`);
    const mutex = Deno.openSync(layout.sendmutex, { read: true });
    try {
      await refuse([dir, "--home", running, "--force"], "qmd is running");
    } finally {
      mutex.close();
    }

    Deno.writeTextFileSync(`${dir}/control/me`, "evil.example\n");
    await refuse([dir, "--home", `${base}/new`], "control/me differs");
    assert(!Deno.statSync(base).isFile);
    assertEquals([...Deno.readDirSync(base)].some((entry) => entry.name === "new"), false);
  } finally {
    await Deno.remove(base, { recursive: true });
  }
});
