import { assert, assertEquals, assertMatch } from "../../tests/assert.ts";
import type { DeliveryJob } from "../ipc.ts";
import { formatLogRecord, setLogSink } from "../log.ts";
import { QueueLayout } from "../queue/layout.ts";
import { deliverLocal } from "./local.ts";
import type { LocalContext, LocalMailbox } from "./local_context.ts";
import { resolveLocalUser } from "./local_user.ts";
import { LOOPING, NO_MAILBOX } from "./qmail_local.ts";
import { MAILBOX_FULL } from "./maildir.ts";

const decoder = new TextDecoder();
const MESSAGE = "Received: (qmail 1 invoked from network); 5 Mar 2024 07:08:09 -0000\n" +
  "Subject: hello\n\nFrom the body\n";

interface Injected {
  body: string;
  sender: string;
  recipients: string[];
}

interface Fixture {
  home: string;
  context: LocalContext;
  injected: Injected[];
  mailboxes: Map<string, LocalMailbox>;
  /** Queues MESSAGE (or `text`) and returns a job for it. */
  job(recipient: string, options?: { sender?: string; text?: string }): Promise<DeliveryJob>;
  write(path: string, text: string, mode?: number): Promise<void>;
}

let nextId = 1000;

async function withHome(fn: (fixture: Fixture) => Promise<void>): Promise<void> {
  const home = await Deno.makeTempDir();
  try {
    await Deno.chmod(home, 0o755);
    await Deno.mkdir(`${home}/alias`, { mode: 0o755 });
    await Deno.chmod(`${home}/alias`, 0o755);
    const layout = new QueueLayout(`${home}/queue`, { todoSplit: false });
    const injected: Injected[] = [];
    const mailboxes = new Map<string, LocalMailbox>();
    const context: LocalContext = {
      home,
      layout,
      hostname: "mx.test",
      now: () => new Date(Date.UTC(2024, 2, 5, 7, 8, 9)),
      findMailbox: (domain, user) => mailboxes.get(`${user}@${domain}`.toLowerCase()),
      inject: async (body, sender, recipients) => {
        let bytes: Uint8Array;
        if (body instanceof Uint8Array) bytes = body;
        else bytes = new Uint8Array(await new Response(body).arrayBuffer());
        injected.push({
          body: decoder.decode(bytes),
          sender: decoder.decode(sender),
          recipients: recipients.map((r) => decoder.decode(r)),
        });
        return { id: 99n, qp: "4242" };
      },
      mboxLockTimeoutMs: 0,
    };
    const write = async (path: string, text: string, mode = 0o644) => {
      const full = `${home}/${path}`;
      await Deno.mkdir(full.slice(0, full.lastIndexOf("/")), { recursive: true });
      await Deno.writeTextFile(full, text);
      await Deno.chmod(full, mode);
    };
    const job = async (recipient: string, options: { sender?: string; text?: string } = {}) => {
      const id = nextId++;
      const path = layout.mess(id);
      await Deno.mkdir(path.slice(0, path.lastIndexOf("/")), { recursive: true });
      await Deno.writeTextFile(path, options.text ?? MESSAGE);
      return {
        delivery: 3,
        id: String(id),
        mess: layout.messName(id),
        sender: options.sender ?? "bob@example.org",
        recipient,
      };
    };
    await fn({ home, context, injected, mailboxes, job, write });
  } finally {
    await Deno.remove(home, { recursive: true });
  }
}

function newFiles(dir: string): string[] {
  try {
    return [...Deno.readDirSync(`${dir}/new`)].map((entry) => entry.name);
  } catch {
    return [];
  }
}

async function makeMaildir(dir: string): Promise<void> {
  for (const sub of ["tmp", "new", "cur"]) await Deno.mkdir(`${dir}/${sub}`, { recursive: true });
}

Deno.test("deliverLocal: alias .qmail-postmaster → ./Maildir/ with Return-Path and Delivered-To", async () => {
  await withHome(async ({ home, context, job, write }) => {
    await write("alias/.qmail-postmaster", "./Maildir/\n");
    await makeMaildir(`${home}/alias/Maildir`);
    const report = await deliverLocal(await job("Postmaster@localhost"), context);
    assertEquals(report, { delivery: 3, status: "K", text: "did 1+0+0\n" });
    const [name] = newFiles(`${home}/alias/Maildir`);
    assertEquals(
      await Deno.readTextFile(`${home}/alias/Maildir/new/${name}`),
      "Return-Path: <bob@example.org>\nDelivered-To: Postmaster@localhost\n" + MESSAGE,
    );
  });
});

Deno.test("deliverLocal: an unknown local part bounces 5.1.1", async () => {
  await withHome(async ({ context, job }) => {
    const report = await deliverLocal(await job("nobody@localhost"), context);
    assertEquals(report, { delivery: 3, status: "D", text: NO_MAILBOX + "\n" });
  });
});

Deno.test("deliverLocal: spawner checks: trash can, host required, numeric messid", async () => {
  await withHome(async ({ context, job }) => {
    assertEquals(await deliverLocal(await job("@localhost"), context), {
      delivery: 3,
      status: "K",
      text: "",
    });
    const noHost = await deliverLocal(await job("joe"), context);
    assertEquals(noHost.text, "Sorry, address must include host name. (#5.1.3)\n");
    assertEquals(noHost.status, "D");
    const bad = await deliverLocal({ ...(await job("joe@x")), mess: "../etc/passwd" }, context);
    assertEquals(bad.text, "Internal error: messid has nonnumerics. (#5.3.5)\n");
    const gone = await deliverLocal({ ...(await job("joe@x")), mess: "1/1" }, context);
    assertEquals(gone.status, "Z");
  });
});

Deno.test("deliverLocal: a virtual mailbox gets its Maildir made and the message", async () => {
  await withHome(async ({ home, context, job, mailboxes }) => {
    const maildir = `${home}/mail/example.com/joe/Maildir`;
    mailboxes.set("joe@example.com", { maildir, quotaBytes: 0, quotaMessages: 0 });
    const report = await deliverLocal(await job("example.com-JOE@Example.COM"), context);
    assertEquals(report.text, "did 1+0+0\n");
    assertEquals(report.status, "K");
    const [name] = newFiles(maildir);
    assertEquals(
      await Deno.readTextFile(`${maildir}/new/${name}`),
      "Return-Path: <bob@example.org>\nDelivered-To: example.com-JOE@Example.COM\n" + MESSAGE,
    );
    // A domain in locals (no prepend) finds the same mailbox.
    assertEquals((await deliverLocal(await job("joe@example.com"), context)).status, "K");
    assertEquals(newFiles(maildir).length, 2);
  });
});

Deno.test("deliverLocal: virtual user-ext uses .qmail-EXT in the mailbox home", async () => {
  await withHome(async ({ home, context, job, mailboxes, write, injected }) => {
    const maildir = `${home}/mail/example.com/joe/Maildir`;
    mailboxes.set("joe@example.com", { maildir, quotaBytes: 0, quotaMessages: 0 });
    await write("mail/example.com/joe/.qmail-lists", "&archive@example.net\n");
    const user = await resolveLocalUser(context, "example.com-joe-Lists", "example.com");
    assertEquals(user.source, "mailbox");
    assertEquals([user.home, user.dash, user.ext], [`${home}/mail/example.com/joe`, "-", "Lists"]);
    const report = await deliverLocal(await job("example.com-joe-Lists@example.com"), context);
    assertEquals(report.text, "did 0+1+0\nqp 4242\n");
    assertEquals(injected[0].recipients, ["archive@example.net"]);
    const missing = await deliverLocal(await job("example.com-joe-other@example.com"), context);
    assertEquals(missing.text, NO_MAILBOX + "\n");
  });
});

Deno.test("deliverLocal: quota over → permanent, maildirsize updated", async () => {
  await withHome(async ({ home, context, job, mailboxes }) => {
    const maildir = `${home}/mail/example.com/joe/Maildir`;
    mailboxes.set("joe@example.com", { maildir, quotaBytes: 0, quotaMessages: 1 });
    assertEquals(
      (await deliverLocal(await job("example.com-joe@example.com"), context)).status,
      "K",
    );
    const size = (await Deno.stat(`${maildir}/new/${newFiles(maildir)[0]}`)).size;
    assertEquals(await Deno.readTextFile(`${maildir}/maildirsize`), `1C\n0 0\n${size} 1\n`);
    const report = await deliverLocal(await job("example.com-joe@example.com"), context);
    assertEquals(report, { delivery: 3, status: "D", text: MAILBOX_FULL + "\n" });
    assertEquals(newFiles(maildir).length, 1);
  });
});

Deno.test("deliverLocal: the domain's .qmail-default catches unknown virtual users", async () => {
  await withHome(async ({ home, context, job, write }) => {
    await Deno.mkdir(`${home}/mail/example.com`, { recursive: true, mode: 0o755 });
    await write(
      "mail/example.com/.qmail-default",
      '|printf "%s|%s|%s|%s|%s" "$USER" "$EXT" "$DEFAULT" "$LOCAL" "$NEWSENDER" > out\n',
    );
    const report = await deliverLocal(await job("example.com-Sales@example.com"), context);
    assertEquals(report.text, "did 0+0+1\n");
    assertEquals(
      await Deno.readTextFile(`${home}/mail/example.com/out`),
      "example.com|Sales|Sales|example.com-Sales|bob@example.org",
    );
  });
});

Deno.test("deliverLocal: loop detection with qmail's bounce text (M5)", async () => {
  await withHome(async ({ home, context, job, write }) => {
    await write("alias/.qmail-postmaster", "./Maildir/\n");
    await makeMaildir(`${home}/alias/Maildir`);
    const looping = "Delivered-To: postmaster@localhost\n" + MESSAGE;
    const report = await deliverLocal(
      await job("postmaster@localhost", { text: looping }),
      context,
    );
    assertEquals(report, { delivery: 3, status: "D", text: LOOPING + "\n" });
    // Same line in the body, or another case, is not a loop.
    const inBody = MESSAGE + "Delivered-To: postmaster@localhost\n";
    assertEquals(
      (await deliverLocal(await job("postmaster@localhost", { text: inBody }), context)).status,
      "K",
    );
    const otherCase = "Delivered-To: Postmaster@localhost\n" + MESSAGE;
    assertEquals(
      (await deliverLocal(await job("postmaster@localhost", { text: otherCase }), context)).status,
      "K",
    );
  });
});

Deno.test("deliverLocal: a message too big to hold in memory is checked and copied from the file", async () => {
  await withHome(async ({ home, context, job, mailboxes }) => {
    const maildir = `${home}/mail/example.com/joe/Maildir`;
    mailboxes.set("joe@example.com", { maildir, quotaBytes: 0, quotaMessages: 0 });
    const big = "Subject: big\n\n" + `${"y".repeat(99)}\n`.repeat(4000);
    const report = await deliverLocal(await job("joe@example.com", { text: big }), context);
    assertEquals(report, { delivery: 3, status: "K", text: "did 1+0+0\n" });
    const [name] = newFiles(maildir);
    assertEquals(
      await Deno.readTextFile(`${maildir}/new/${name}`),
      "Return-Path: <bob@example.org>\nDelivered-To: joe@example.com\n" + big,
    );
    const looping = "Delivered-To: joe@example.com\n" + big;
    assertEquals(
      await deliverLocal(await job("joe@example.com", { text: looping }), context),
      { delivery: 3, status: "D", text: LOOPING + "\n" },
    );
  });
});

Deno.test("deliverLocal: a Maildir or .qmail changed between deliveries is seen by the next one", async () => {
  await withHome(async ({ home, context, job, mailboxes, write, injected }) => {
    const maildir = `${home}/mail/example.com/joe/Maildir`;
    mailboxes.set("joe@example.com", { maildir, quotaBytes: 0, quotaMessages: 0 });
    assertEquals((await deliverLocal(await job("joe@example.com"), context)).status, "K");
    // The mailbox's Maildir removed: made again.
    await Deno.remove(maildir, { recursive: true });
    assertEquals((await deliverLocal(await job("joe@example.com"), context)).status, "K");
    assertEquals(newFiles(maildir).length, 1);
    // A .qmail written now applies to the next delivery.
    await write("mail/example.com/joe/.qmail", "&joe@example.net\n");
    const report = await deliverLocal(await job("joe@example.com"), context);
    assertEquals(report.text, "did 0+1+0\nqp 4242\n");
    assertEquals(injected.length, 1);
    await Deno.remove(`${home}/mail/example.com/joe/.qmail`);
    assertEquals((await deliverLocal(await job("joe@example.com"), context)).text, "did 1+0+0\n");
    assertEquals(newFiles(maildir).length, 2);
  });
});

Deno.test("deliverLocal: forwards are injected once at the end with DTLINE + message", async () => {
  await withHome(async ({ home, context, job, write, injected }) => {
    await write("alias/.qmail-team", "&a@example.net\nb@example.org\n# comment\n");
    const report = await deliverLocal(await job("team@localhost"), context);
    assertEquals(report, { delivery: 3, status: "K", text: "did 0+2+0\nqp 4242\n" });
    assertEquals(injected.length, 1);
    assertEquals(injected[0], {
      body: "Delivered-To: team@localhost\n" + MESSAGE,
      sender: "bob@example.org",
      recipients: ["a@example.net", "b@example.org"],
    });
    // With .qmail-team-owner the forward's sender becomes team-owner@localhost; with
    // .qmail-team-owner-default too, the VERP request.
    await write("alias/.qmail-team-owner", "&owner@example.net\n");
    await deliverLocal(await job("team@localhost"), context);
    assertEquals(injected[1].sender, "team-owner@localhost");
    await write("alias/.qmail-team-owner-default", "&owner@example.net\n");
    await deliverLocal(await job("team@localhost"), context);
    assertEquals(injected[2].sender, "team-owner-@localhost-@[]");
    // A bounce (empty sender) is forwarded with the empty sender.
    await deliverLocal(await job("team@localhost", { sender: "" }), context);
    assertEquals(injected[3].sender, "");
    assert(home.length > 0);
  });
});

Deno.test("deliverLocal: a failed forward reports the queue's text", async () => {
  await withHome(async ({ context, job, write }) => {
    await write("alias/.qmail-team", "&a@example.net\n");
    context.inject = () => {
      const error = new Error("qq write error or disk full (#4.3.0)") as Error & {
        temporary: boolean;
      };
      error.temporary = true;
      return Promise.reject(error);
    };
    const report = await deliverLocal(await job("team@localhost"), context);
    assertEquals(report, {
      delivery: 3,
      status: "Z",
      text: "Unable to forward message: qq write error or disk full (#4.3.0).\n",
    });
  });
});

Deno.test("deliverLocal: program lines, exit codes, 99 stops but earlier forwards go", async () => {
  await withHome(async ({ home, context, job, write, injected }) => {
    await write("alias/.qmail-prog", '|echo "$RECIPIENT $SENDER $EXT"; cat > got\n');
    const ok = await deliverLocal(await job("prog@localhost"), context);
    assertEquals(ok.text, "prog@localhost bob@example.org prog\ndid 0+0+1\n");
    assertEquals(await Deno.readTextFile(`${home}/alias/got`), MESSAGE);

    await write("alias/.qmail-perm", "|echo user unknown; exit 100\n./Maildir/\n");
    assertEquals(await deliverLocal(await job("perm@localhost"), context), {
      delivery: 3,
      status: "D",
      text: "user unknown\n",
    });
    await write("alias/.qmail-temp", "|echo try later; exit 75\n");
    assertEquals((await deliverLocal(await job("temp@localhost"), context)).status, "Z");
    await write("alias/.qmail-crash", "|echo dying; kill -9 $$\n");
    assertEquals(
      (await deliverLocal(await job("crash@localhost"), context)).text,
      "dying\nAack, child crashed. (#4.3.0)\n",
    );

    await write(
      "alias/.qmail-stop",
      "&first@example.net\n|exit 99\n&second@example.net\n./Maildir/\n",
    );
    const stop = await deliverLocal(await job("stop@localhost"), context);
    assertEquals(stop.text, "did 0+1+1\nqp 4242\n");
    assertEquals(injected.map((i) => i.recipients), [["first@example.net"]]);
  });
});

Deno.test("deliverLocal: DEFAULT and .qmail-default in the alias home", async () => {
  await withHome(async ({ home, context, job, write }) => {
    await write("alias/.qmail-list-default", '|printf "%s" "$DEFAULT" > default\n');
    assertEquals((await deliverLocal(await job("list-Foo.Bar@localhost"), context)).status, "K");
    assertEquals(await Deno.readTextFile(`${home}/alias/default`), "Foo.Bar");
  });
});

Deno.test("deliverLocal: mbox lines append with the From_ line", async () => {
  await withHome(async ({ home, context, job, write }) => {
    await write("alias/.qmail-box", "./mbox\n");
    assertEquals((await deliverLocal(await job("box@localhost"), context)).text, "did 1+0+0\n");
    assertEquals(
      await Deno.readTextFile(`${home}/alias/mbox`),
      "From bob@example.org Tue Mar 05 07:08:09 2024\nReturn-Path: <bob@example.org>\n" +
        "Delivered-To: box@localhost\n" +
        MESSAGE.replace("\nFrom the body", "\n>From the body") + "\n",
    );
  });
});

Deno.test("deliverLocal: permission and syntax checks on home and .qmail (§6.1–§6.4)", async () => {
  await withHome(async ({ home, context, job, write }) => {
    await write("alias/.qmail-wr", "./Maildir/\n", 0o666);
    assertEquals(
      (await deliverLocal(await job("wr@localhost"), context)).text,
      "Uh-oh: .qmail file is writable. (#4.7.0)\n",
    );
    await write("alias/.qmail-x", "&a@b\n./Maildir/\n", 0o744);
    const x = await deliverLocal(await job("x@localhost"), context);
    assertEquals(x, {
      delivery: 3,
      status: "Z",
      text: "Uh-oh: .qmail has file delivery but has x bit set. (#4.7.0)\n",
    });
    await write("alias/.qmail-plus", "+list\n|true\n");
    assertEquals(
      (await deliverLocal(await job("plus@localhost"), context)).text,
      "Uh-oh: .qmail has prog delivery but has x bit set. (#4.7.0)\n",
    );
    await write("alias/.qmail-blank", "\n./Maildir/\n");
    assertEquals(
      (await deliverLocal(await job("blank@localhost"), context)).text,
      "Uh-oh: first line of .qmail file is blank. (#4.2.1)\n",
    );
    // An empty .qmail means the default delivery.
    await write("alias/.qmail-empty", "");
    await makeMaildir(`${home}/alias/Maildir`);
    assertEquals((await deliverLocal(await job("empty@localhost"), context)).text, "did 1+0+0\n");
    // A missing Maildir named in a .qmail is qmail's chdir error.
    await write("alias/.qmail-nodir", "./Nowhere/\n");
    assertEquals(
      (await deliverLocal(await job("nodir@localhost"), context)).text,
      "Unable to chdir to maildir. (#4.2.1)\n",
    );
    await Deno.chmod(`${home}/alias`, 0o777);
    assertEquals(
      (await deliverLocal(await job("empty@localhost"), context)).text,
      "Uh-oh: home directory is writable. (#4.7.0)\n",
    );
  });
});

Deno.test("deliverLocal: users/assign decides the home, dash and ext", async () => {
  await withHome(async ({ home, context, job, write }) => {
    await Deno.mkdir(`${home}/users-joe`, { mode: 0o755 });
    await makeMaildir(`${home}/users-joe/Maildir`);
    await write(
      "users/assign",
      `=joe:joe:1000:1000:${home}/users-joe:::\n+joe-:joe:1000:1000:${home}/users-joe:-::\n.\n`,
    );
    assertEquals((await deliverLocal(await job("JOE@localhost"), context)).text, "did 1+0+0\n");
    assertEquals(newFiles(`${home}/users-joe/Maildir`).length, 1);
    // joe-news → .qmail-news in joe's home.
    await write("users-joe/.qmail-news", "./Maildir/\n");
    assertEquals(
      (await deliverLocal(await job("joe-News@localhost"), context)).text,
      "did 1+0+0\n",
    );
    assertEquals(
      (await deliverLocal(await job("joe-other@localhost"), context)).text,
      NO_MAILBOX + "\n",
    );
    // A broken users/cdb is a temporary failure, and a logged warning.
    await write("users/cdb", "not a cdb");
    const logged: string[] = [];
    setLogSink((record) => logged.push(record.text), "local");
    let broken;
    try {
      broken = await deliverLocal(await job("joe@localhost"), context);
    } finally {
      setLogSink((record) => console.log(formatLogRecord(record, "text")), "main");
    }
    assertEquals(logged.length, 1);
    assertMatch(logged[0], /trouble reading .*users\/cdb/);
    assertEquals(broken, {
      delivery: 3,
      status: "Z",
      text: "Trouble reading users/cdb in qmail-lspawn.\n",
    });
  });
});

Deno.test("deliverLocal: a long program report is truncated as qmail-lspawn does", async () => {
  await withHome(async ({ context, job, write }) => {
    await write("alias/.qmail-loud", "|head -c 5000 /dev/zero | tr '\\0' y; exit 100\n");
    const report = await deliverLocal(await job("loud@localhost"), context);
    assertEquals(report.status, "D");
    assertMatch(report.text, /^y{3000}\nError report too long, sorry\.\n$/);
  });
});

Deno.test("deliverLocal: a failing accounts lookup defers with qmail-lspawn's text", async () => {
  await withHome(async ({ context, job }) => {
    context.findMailbox = () => {
      throw new Error("database is locked");
    };
    const logged: string[] = [];
    setLogSink((record) => logged.push(record.text), "local");
    try {
      const report = await deliverLocal(await job("joe@example.com"), context);
      assertEquals(report, {
        delivery: 3,
        status: "Z",
        text: "Temporary failure in qmail-lspawn.\n",
      });
    } finally {
      setLogSink((record) => console.log(formatLogRecord(record, "text")), "main");
    }
    assertMatch(logged[0], /database is locked/);
  });
});
