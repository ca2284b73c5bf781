/**
 * wouldDeliverLocal (realrcptto's answer) against deliverLocal itself: for
 * every address of a home with assign users, virtual mailboxes, a domain's
 * .qmail-default and the alias user, "would deliver" is true exactly when the
 * delivery is not the "no mailbox" bounce.
 */
import { assertEquals } from "../../tests/assert.ts";
import { QueueLayout } from "../queue/layout.ts";
import { deliverLocal, wouldDeliverLocal } from "./local.ts";
import type { LocalContext, LocalMailbox } from "./local_context.ts";
import { NO_MAILBOX } from "./qmail_local.ts";

async function makeMaildir(dir: string): Promise<void> {
  for (const sub of ["tmp", "new", "cur"]) await Deno.mkdir(`${dir}/${sub}`, { recursive: true });
}

async function write(path: string, text: string): Promise<void> {
  await Deno.mkdir(path.slice(0, path.lastIndexOf("/")), { recursive: true });
  await Deno.writeTextFile(path, text);
  await Deno.chmod(path, 0o644);
}

Deno.test("wouldDeliverLocal: agrees with deliverLocal on every kind of address", async () => {
  const home = await Deno.makeTempDir();
  try {
    await Deno.chmod(home, 0o755);
    const layout = new QueueLayout(`${home}/queue`, { todoSplit: false });
    const mailboxes = new Map<string, LocalMailbox>();
    const context: LocalContext = {
      home,
      layout,
      hostname: "mx.test",
      now: () => new Date(Date.UTC(2024, 2, 5)),
      findMailbox: (domain, user) => mailboxes.get(`${user}@${domain}`.toLowerCase()),
      inject: () => Promise.resolve({ id: 1n, qp: "1" }),
      mboxLockTimeoutMs: 0,
    };
    // The alias user takes postmaster only.
    await Deno.mkdir(`${home}/alias`, { mode: 0o755 });
    await Deno.chmod(`${home}/alias`, 0o755);
    await write(`${home}/alias/.qmail-postmaster`, "./Maildir/\n");
    await makeMaildir(`${home}/alias/Maildir`);
    // An assign user with a home and .qmail-list.
    const joe = `${home}/joe`;
    await Deno.mkdir(joe, { mode: 0o755 });
    await Deno.chmod(joe, 0o755);
    await makeMaildir(`${joe}/Maildir`);
    await write(`${joe}/.qmail-list`, "./Maildir/\n");
    await write(`${home}/users/assign`, `=joe:joe:1:1:${joe}:::\n+joe-:joe:1:1:${joe}:-::\n.\n`);
    // Virtual mailboxes: bob (home not made yet), and a domain whose .qmail-default takes all.
    mailboxes.set("bob@virtual.test", {
      maildir: `${home}/mail/virtual.test/bob/Maildir`,
      quotaBytes: 0,
      quotaMessages: 0,
    });
    await Deno.mkdir(`${home}/mail/catchall.test`, { recursive: true, mode: 0o755 });
    await Deno.chmod(`${home}/mail/catchall.test`, 0o755);
    await write(`${home}/mail/catchall.test/.qmail-default`, `${home}/alias/Maildir/\n`);

    const cases: [string, boolean][] = [
      ["joe@mx.test", true],
      ["JOE@mx.test", true],
      ["joe-list@mx.test", true],
      ["joe-other@mx.test", false],
      ["postmaster@mx.test", true],
      ["nobody@mx.test", false],
      ["virtual.test-bob@virtual.test", true],
      ["virtual.test-bob-ext@virtual.test", false],
      ["virtual.test-nobody@virtual.test", false],
      ["catchall.test-anyone@catchall.test", true],
      ["@mx.test", true],
    ];
    let id = 100;
    for (const [address, expected] of cases) {
      assertEquals(await wouldDeliverLocal(address, context), expected, `would ${address}`);
      const path = layout.mess(++id);
      await Deno.mkdir(path.slice(0, path.lastIndexOf("/")), { recursive: true });
      await Deno.writeTextFile(path, "Subject: x\n\nbody\n");
      const report = await deliverLocal({
        delivery: 1,
        id: String(id),
        mess: layout.messName(id),
        sender: "a@b.test",
        recipient: address,
      }, context);
      const bounced = report.status === "D" && report.text === NO_MAILBOX + "\n";
      assertEquals(!bounced, expected, `does ${address}: ${report.status} ${report.text}`);
    }
  } finally {
    await Deno.remove(home, { recursive: true });
  }
});
