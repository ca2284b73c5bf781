import { assert, assertEquals } from "../../tests/assert.ts";
import type { FromRole, RoleSettings } from "../ipc.ts";
import { makeTestQueue } from "../queue/test_queue.ts";
import { queueLayoutFor } from "../queue/layout.ts";
import { AccountStore } from "../accounts/store.ts";
import { LocalRole } from "./local.ts";

const MESSAGE = "Received: (qmail 1 invoked from network); 5 Mar 2024 07:08:09 -0000\n" +
  "Subject: hello\n\nbody\n";

async function withHome(
  fn: (home: string, settings: RoleSettings<"local">) => Promise<void>,
): Promise<void> {
  const home = await Deno.makeTempDir();
  try {
    await Deno.chmod(home, 0o755);
    await Deno.mkdir(`${home}/alias`);
    await Deno.chmod(`${home}/alias`, 0o755);
    makeTestQueue(home);
    await fn(home, { home, env: {}, options: { role: "local" } });
  } finally {
    await Deno.remove(home, { recursive: true });
  }
}

async function queueMessage(home: string, id: number): Promise<string> {
  const layout = queueLayoutFor(home);
  await Deno.writeTextFile(layout.mess(id), MESSAGE);
  return layout.messName(id);
}

Deno.test("LocalRole: delivers, reports, and queues a forward", async () => {
  await withHome(async (home, settings) => {
    await Deno.writeTextFile(`${home}/alias/.qmail-team`, "&someone@example.net\n");
    await Deno.writeTextFile(`${home}/alias/.qmail-postmaster`, "./Maildir/\n");
    for (const sub of ["tmp", "new", "cur"]) {
      await Deno.mkdir(`${home}/alias/Maildir/${sub}`, { recursive: true });
    }
    const posted: FromRole[] = [];
    const role = new LocalRole((message) => posted.push(message));
    await role.start(settings);
    assertEquals(posted.shift(), { type: "ready" });

    const mess = await queueMessage(home, 100);
    await Promise.all([
      role.deliver({
        delivery: 0,
        id: "100",
        mess,
        sender: "bob@example.org",
        recipient: "team@localhost",
      }),
      role.deliver({
        delivery: 1,
        id: "100",
        mess,
        sender: "bob@example.org",
        recipient: "postmaster@localhost",
      }),
      role.deliver({ delivery: 2, id: "100", mess, sender: "", recipient: "nobody@localhost" }),
    ]);
    const reports = posted.filter((m) => m.type === "report").map((m) =>
      m.type === "report" && m.report
    )
      .sort((a, b) => (a && b ? a.delivery - b.delivery : 0));
    assertEquals(reports[1], { delivery: 1, status: "K", text: "did 1+0+0\n" });
    assertEquals(reports[2], {
      delivery: 2,
      status: "D",
      text: "Sorry, no mailbox here by that name. (#5.1.1)\n",
    });
    const forward = reports[0];
    assert(forward && forward.status === "K");
    assert(/^did 0\+1\+0\nqp \d+\n$/.test(forward.text), forward.text);

    // The forward's one todo entry (lock/trigger, not a message, tells send of it).
    const entries = [...Deno.readDirSync(`${home}/queue/todo`)].flatMap((split) =>
      [...Deno.readDirSync(`${home}/queue/todo/${split.name}`)].map((entry) => entry.name)
    );
    assertEquals(entries.length, 1);
    const id = entries[0];
    const todo = `${home}/queue/todo/${BigInt(id) % 23n}/${id}`;
    const envelope = await Deno.readTextFile(todo);
    assert(envelope.includes("Fbob@example.org\0"), envelope);
    assert(envelope.includes("Tsomeone@example.net\0"), envelope);
    const forwarded = await Deno.readTextFile(`${home}/queue/mess/${BigInt(id) % 23n}/${id}`);
    assert(forwarded.includes(`invoked by uid ${Deno.uid()}`), forwarded);
    assert(forwarded.endsWith("Delivered-To: team@localhost\n" + MESSAGE), forwarded);

    role.drain();
    assertEquals(posted.at(-1), { type: "drained" });
  });
});

Deno.test("LocalRole: virtual mailboxes come from the accounts database", async () => {
  await withHome(async (home, settings) => {
    const posted: FromRole[] = [];
    const role = new LocalRole((message) => posted.push(message));
    await role.start(settings);
    const mess = await queueMessage(home, 200);
    // No database yet: the address falls to the alias user and bounces.
    await role.deliver({
      delivery: 0,
      id: "200",
      mess,
      sender: "",
      recipient: "example.com-joe@example.com",
    });
    const store = AccountStore.open(home);
    try {
      store.addDomain("example.com");
      store.addMailbox("joe@example.com", "secret-password-1");
    } finally {
      store.close();
    }
    await role.deliver({
      delivery: 1,
      id: "200",
      mess,
      sender: "",
      recipient: "example.com-joe@example.com",
    });
    role.close();
    const reports = posted.flatMap((m) => (m.type === "report" ? [m.report] : []));
    assertEquals(reports[0].status, "D");
    assertEquals(reports[1], { delivery: 1, status: "K", text: "did 1+0+0\n" });
    const newDir = `${home}/mail/example.com/joe/Maildir/new`;
    assertEquals([...Deno.readDirSync(newDir)].length, 1);
  });
});

Deno.test("LocalRole: drain waits for deliveries in flight", async () => {
  await withHome(async (home, settings) => {
    await Deno.writeTextFile(`${home}/alias/.qmail-slow`, "|cat > /dev/null\n");
    const posted: FromRole[] = [];
    const role = new LocalRole((message) => posted.push(message));
    await role.start(settings);
    const mess = await queueMessage(home, 300);
    const running = role.deliver({
      delivery: 0,
      id: "300",
      mess,
      sender: "",
      recipient: "slow@localhost",
    });
    role.drain();
    assertEquals(posted.some((m) => m.type === "drained"), false);
    await running;
    assertEquals(posted.at(-1), { type: "drained" });
    assertEquals(posted.at(-2)?.type, "report");
  });
});

Deno.test("local role module runs as a Worker", async () => {
  await withHome(async (home, settings) => {
    await Deno.writeTextFile(`${home}/alias/.qmail-w`, "|exit 0\n");
    const mess = await queueMessage(home, 400);
    const worker = new Worker(new URL("./local.ts", import.meta.url), { type: "module" });
    try {
      const messages: FromRole[] = [];
      const report = new Promise<FromRole>((resolve) => {
        worker.onmessage = (event: MessageEvent<FromRole>) => {
          messages.push(event.data);
          if (event.data.type === "report") resolve(event.data);
        };
      });
      worker.postMessage({ type: "start", settings });
      worker.postMessage({
        type: "deliver",
        job: { delivery: 5, id: "400", mess, sender: "a@b", recipient: "w@localhost" },
      });
      assertEquals(await report, {
        type: "report",
        report: { delivery: 5, status: "K", text: "did 0+0+1\n" },
      });
      assertEquals(messages[0], { type: "ready" });
    } finally {
      worker.terminate();
    }
  });
});
