/**
 * End to end over a real `qmd start`: the homes the local role may read and
 * write come from the file qmd looks users up in (users/cdb, else
 * users/assign), and a SIGHUP that changes them restarts the local isolate
 * with the new permissions once its deliveries in flight have finished.
 */
import { assert, assertEquals, assertMatch } from "./assert.ts";
import { maildirNew, runQmd, sendMessage, startQmd, waitFor } from "./harness.ts";
import { delivered, homeWithOutsideUsers, makeUserHome, writeAssign } from "./user_homes.ts";

const ME = "mx.example.test";
const REGRANT_LINE = "status: user homes changed; local restarts with the new ones";

Deno.test("e2e: a home named only in users/cdb (no users/assign) gets its mail", async () => {
  const { home, outside } = await homeWithOutsideUsers(ME);
  const cdbUser = makeUserHome(`${outside}/cdbuser`, "./Maildir/\n");
  writeAssign(home, { cdbuser: cdbUser });
  const newu = await runQmd(["newu", "--home", home]);
  assertEquals(newu.code, 0, newu.stderr);
  Deno.removeSync(`${home}/users/assign`);
  const qmd = await startQmd(home);
  try {
    const reply = await sendMessage(
      qmd.port,
      "a@sender.example",
      [`cdbuser@${ME}`],
      "Subject: cdb\n\nx\n",
    );
    assertMatch(reply, /^250 /);
    await delivered(`${cdbUser}/Maildir`, qmd.output);
  } finally {
    await qmd.stop();
    await Deno.remove(outside, { recursive: true });
  }
});

Deno.test("e2e: SIGHUP with a new users/assign home restarts local after its deliveries; the new home gets mail", async () => {
  const { home, outside } = await homeWithOutsideUsers(ME);
  // The first user's delivery is still running when the SIGHUP comes (most of the time).
  const slow = makeUserHome(`${outside}/slow`, "|sleep 2; cat > slow.copy\n");
  writeAssign(home, { slow });
  const qmd = await startQmd(home);
  try {
    const first = await sendMessage(
      qmd.port,
      "a@sender.example",
      [`slow@${ME}`],
      "Subject: 1\n\nx\n",
    );
    assertMatch(first, /^250 /);
    await waitFor(
      () => /starting delivery \d+: msg \d+ to local/.test(qmd.output()) || undefined,
      20_000,
      () => qmd.output(),
    );
    const later = makeUserHome(`${outside}/later`, "./Maildir/\n");
    writeAssign(home, { slow, later });
    qmd.process.kill("SIGHUP");
    await waitFor(
      () => qmd.output().includes("status: reloaded control files\n") || undefined,
      20_000,
      () => qmd.output(),
    );
    const second = await sendMessage(
      qmd.port,
      "a@sender.example",
      [`later@${ME}`],
      "Subject: 2\n\nx\n",
    );
    assertMatch(second, /^250 /);
    await delivered(`${later}/Maildir`, qmd.output);
    await waitFor(
      () => {
        try {
          return Deno.readTextFileSync(`${slow}/slow.copy`).includes("Subject: 1") || undefined;
        } catch {
          return undefined;
        }
      },
      20_000,
      () => qmd.output(),
    );
    const output = qmd.output();
    assertEquals(output.split(REGRANT_LINE).length - 1, 1, output);
    // The slow delivery finished in the old isolate: nothing was lost or retried.
    assert(!output.includes("crashed"), output);
    assertEquals((output.match(/starting delivery \d+: msg \d+ to local slow@/g) ?? []).length, 1);
  } finally {
    await qmd.stop();
    await Deno.remove(outside, { recursive: true });
  }
});

Deno.test("e2e: --default-delivery ./Mailbox (qmail-start's argument) takes a user without .qmail", async () => {
  const { home, outside } = await homeWithOutsideUsers(ME);
  const plain = makeUserHome(`${outside}/plain`, "");
  Deno.removeSync(`${plain}/.qmail`);
  writeAssign(home, { plain });
  const qmd = await startQmd(home, { extraArgs: ["--default-delivery", "./Mailbox"] });
  try {
    const reply = await sendMessage(
      qmd.port,
      "a@sender.example",
      [`plain@${ME}`],
      "Subject: mbox\n\nx\n",
    );
    assertMatch(reply, /^250 /);
    const mbox = await waitFor(
      () => {
        try {
          return Deno.readTextFileSync(`${plain}/Mailbox`) || undefined;
        } catch {
          return undefined;
        }
      },
      20_000,
      () => qmd.output(),
    );
    assertMatch(mbox, /^From a@sender\.example /);
    assertMatch(mbox, /\nSubject: mbox\n/);
    assertEquals(maildirNew(`${plain}/Maildir`).length, 0, "not the built-in ./Maildir/");
  } finally {
    await qmd.stop();
    await Deno.remove(outside, { recursive: true });
  }
});
