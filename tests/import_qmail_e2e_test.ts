/**
 * `qmd import-qmail --apply` against a qmail installation built by the test
 * with messages in every queue state: it refuses while a qmail-send holds
 * the sendmutex, then adopts the directory in place without moving or
 * changing any of qmail's files, and a qmd started on it delivers the
 * queued local mail, sends the pending bounce and keeps the remote
 * recipient queued. vpopmail's domains become qmd's: a POP3 login with
 * vpopmail's clear password reads the mail already in vpopmail's Maildir,
 * a crypt-only mailbox cannot log in, and new mail (also through the
 * domain's alias file) lands in vpopmail's Maildirs. A second --apply
 * changes nothing.
 */
import Pop3Command from "node-pop3";
import {
  assert,
  assertEquals,
  assertMatch,
  assertRejects,
  assertStringIncludes,
} from "./assert.ts";
import { maildirNew, sendMessage, startQmd, waitFor } from "./harness.ts";
import { captureConsole } from "../appliance/cli/test_io.ts";
import { ANN_PASSWORD, CAROL_PASSWORD, makeQmail } from "../appliance/cli/test_qmail.ts";
import { AccountStore } from "../appliance/accounts/store.ts";
import { main } from "../appliance/cli/import_qmail.ts";
import { queueLayoutFor } from "../appliance/queue/layout.ts";

/** Every regular file under `dir` with its bytes, by path. */
function snapshot(dir: string): Map<string, string> {
  const files = new Map<string, string>();
  const walk = (path: string) => {
    for (const entry of Deno.readDirSync(path)) {
      const child = `${path}/${entry.name}`;
      if (entry.isDirectory) walk(child);
      else if (entry.isFile) files.set(child, new TextDecoder().decode(Deno.readFileSync(child)));
    }
  };
  walk(dir);
  return files;
}

Deno.test("import-qmail --apply: qmail adopted in place, then qmd delivers its queue", async () => {
  const base = await Deno.makeTempDir();
  const qmail = makeQmail(base);
  const args = [qmail.root, "--vpopmail", qmail.vpopmail, "--tcp-rules", qmail.tcp, "--apply"];
  try {
    const before = snapshot(qmail.root);

    // A qmail-send still running (this process holding its sendmutex): refused, nothing made.
    const mutex = Deno.openSync(queueLayoutFor(qmail.root).sendmutex, { read: true });
    try {
      const refused = await captureConsole(() => main(args));
      assertEquals(refused.result, 100);
      assertStringIncludes(refused.err[0], `process ${Deno.pid} holds`);
    } finally {
      mutex.close();
    }
    assertEquals(snapshot(qmail.root), before);

    const adopt = await captureConsole(() => main(args));
    assertEquals(adopt.result, 0, adopt.err.join("\n"));
    const out = adopt.out.join("\n");
    assertStringIncludes(out, `qmd import-qmail: created ${qmail.root}/mail/`);
    assertStringIncludes(out, `qmd import-qmail: copied ${qmail.tcp} to ${qmail.root}/tcp.smtp`);
    for (
      const [address, note] of [
        ["ann@example.org", "added mailbox ann@example.org"],
        ["bob@example.org", "added mailbox bob@example.org"],
        ["carol@example.info", "added mailbox carol@example.info"],
      ]
    ) {
      assertStringIncludes(out, note);
      assertStringIncludes(
        out,
        `linked ${qmail.root}/mail/${address.split("@")[1]}/${address.split("@")[0]}/Maildir -> ` +
          qmail.vpopmailMaildirs[address],
      );
    }
    assertStringIncludes(
      out,
      "1 mailboxes have only vpopmail's crypt hash, which qmd cannot check: they receive mail " +
        "but cannot log in until you run qmd user passwd for each: bob@example.org",
    );
    assertStringIncludes(out, `removed from users/assign: +example.org-:example.org:89:89:`);
    for (const secret of [ANN_PASSWORD, CAROL_PASSWORD, "$1$salt", "$6$salt"]) {
      assert(!out.includes(secret) && !adopt.err.join("\n").includes(secret), secret);
    }
    // Only users/assign changed (its +DOMAIN- lines gone); qmail's own is kept beside it.
    const assign = `${qmail.root}/users/assign`;
    const after = snapshot(qmail.root);
    for (const [path, bytes] of before) {
      if (path !== assign) assertEquals(after.get(path), bytes, path);
    }
    assertEquals(after.get(`${assign}.qmail`), before.get(assign));
    assertEquals(
      after.get(assign),
      `=joe:joe:1000:1000:${qmail.root.replace(/\/var\/qmail$/, "")}/home/joe:::\n.\n`,
    );
    for (const [address, maildir] of Object.entries(qmail.vpopmailMaildirs)) {
      const [user, domain] = address.split("@");
      assertEquals(Deno.readLinkSync(`${qmail.root}/mail/${domain}/${user}/Maildir`), maildir);
    }
    const store = AccountStore.open(qmail.root, { readonly: true });
    try {
      const ann = store.findMailbox("example.org", "ann");
      assertEquals([ann?.quotaBytes, ann?.quotaMessages], [52428800, 0]);
    } finally {
      store.close();
    }

    // Again: nothing to add, link or remove.
    const again = await captureConsole(() => main(args));
    assertEquals(again.result, 0, again.err.join("\n"));
    const second = again.out.join("\n");
    for (const verb of ["created", "copied", "added", "linked", "removed"]) {
      assert(
        !second.includes(`qmd import-qmail: ${verb} `),
        `${verb} on the second run:\n${second}`,
      );
    }
    const unchanged = snapshot(qmail.root);
    for (const [path, bytes] of after) {
      if (!path.includes("/accounts.sqlite")) assertEquals(unchanged.get(path), bytes, path);
    }
    assertEquals(unchanged.size, after.size);
    assertEquals(
      Deno.readTextFileSync(`${qmail.root}/tcp.smtp`),
      Deno.readTextFileSync(qmail.tcp),
    );

    const qmd = await startQmd(qmail.root);
    try {
      const delivered = await waitFor(
        () => maildirNew(qmail.joeMaildir).length === 2 ? maildirNew(qmail.joeMaildir) : undefined,
        60_000,
        () => `two messages in joe's Maildir\n${qmd.output()}`,
      );
      const bodies = delivered.map((path) => Deno.readTextFileSync(path)).join("\n");
      assertStringIncludes(bodies, "for joe\n");
      assertStringIncludes(bodies, "for joe and c\n");
      await waitFor(
        () => /end msg 102\b/.test(qmd.output()) || undefined,
        60_000,
        () => `msg 102's bounce and end\n${qmd.output()}`,
      );
      assertStringIncludes(qmd.output(), "bounce msg 102");

      // New mail for adopted mailboxes lands in vpopmail's Maildirs, in place.
      const bob = qmail.vpopmailMaildirs["bob@example.org"];
      const ann = qmail.vpopmailMaildirs["ann@example.org"];
      const reply = await sendMessage(
        qmd.port,
        "a@example.net",
        ["bob@example.org", "info@example.org"],
        "Subject: after\n\nto bob and info\n",
      );
      assertMatch(reply, /^250/);
      await waitFor(
        () => maildirNew(bob).length === 1 && maildirNew(ann).length === 2 || undefined,
        60_000,
        () => `bob's and ann's (through .qmail-info) deliveries\n${qmd.output()}`,
      );
      // qmail-pop3d lists only messages older than the scan's second.
      await new Promise((resolve) => setTimeout(resolve, 1100));
      const pop3 = (user: string, password: string) =>
        new Pop3Command({ host: "127.0.0.1", port: qmd.pop3Port, user, password });
      const annPop = pop3("ann@example.org", ANN_PASSWORD);
      // The message vpopmail left in new/, the read one in cur/, and the new one.
      assertMatch(String(await annPop.STAT()), /^3 \d+/);
      assertStringIncludes(await annPop.RETR(1) + await annPop.RETR(2), "Subject: ");
      await annPop.QUIT();
      const carolPop = pop3("carol@example.info", CAROL_PASSWORD);
      assertMatch(String(await carolPop.STAT()), /^0 0/);
      await carolPop.QUIT();
      // bob has only a crypt hash: no password opens it.
      await assertRejects(() => pop3("bob@example.org", "anything").STAT());
    } finally {
      assertEquals(await qmd.stop(), 0);
    }
    // 101's remote recipient could not be delivered (a closed port): it stays queued.
    assert(queueLayoutFor(qmail.root).listIds("mess").includes(101n));
  } finally {
    await Deno.remove(base, { recursive: true });
  }
});
