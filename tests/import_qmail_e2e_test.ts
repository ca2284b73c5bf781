/**
 * `qmd import-qmail --apply` against a qmail installation built by the test
 * with messages in every queue state: it refuses while a qmail-send holds
 * the sendmutex, then adopts the directory in place without moving or
 * changing any of qmail's files, and a qmd started on it delivers the
 * queued local mail, sends the pending bounce and keeps the remote
 * recipient queued.
 */
import { assert, assertEquals, assertStringIncludes } from "./assert.ts";
import { maildirNew, startQmd, waitFor } from "./harness.ts";
import { captureConsole } from "../appliance/cli/test_io.ts";
import { makeQmail } from "../appliance/cli/test_qmail.ts";
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
    assertStringIncludes(out, "vpopmail's domains (example.org) stay with vpopmail");
    const after = snapshot(qmail.root);
    for (const [path, bytes] of before) assertEquals(after.get(path), bytes, path);
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
    } finally {
      assertEquals(await qmd.stop(), 0);
    }
    // 101's remote recipient could not be delivered (a closed port): it stays queued.
    assert(queueLayoutFor(qmail.root).listIds("mess").includes(101n));
  } finally {
    await Deno.remove(base, { recursive: true });
  }
});
