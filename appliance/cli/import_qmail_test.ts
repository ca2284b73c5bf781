import { assert, assertEquals, assertStringIncludes } from "../../tests/assert.ts";
import { makeTestQueue, writeVanillaMessage } from "../queue/test_queue.ts";
import { main } from "./import_qmail.ts";
import { captureConsole } from "./test_io.ts";

/** A qmail installation as qmail's install, vpopmail and tcprules leave one, with a queue in every state. */
function makeQmail(base: string): { root: string; vpopmail: string; tcp: string } {
  const root = `${base}/var/qmail`;
  const vpopmail = `${base}/home/vpopmail`;
  const tcp = `${base}/etc/tcp.smtp`;
  const write = (path: string, text: string) => {
    Deno.mkdirSync(path.slice(0, path.lastIndexOf("/")), { recursive: true });
    Deno.writeTextFileSync(path, text);
  };
  write(`${root}/control/me`, "mail.example.com\n");
  write(`${root}/control/locals`, "mail.example.com\nlocalhost\n");
  write(`${root}/control/rcpthosts`, "mail.example.com\nexample.org\n");
  write(`${root}/control/virtualdomains`, "example.org:example.org\n");
  write(`${root}/control/qmqpservers`, "192.0.2.9\n");
  write(`${root}/control/simcontrol`, ":clam=yes\n");
  write(`${root}/alias/.qmail-postmaster`, "&admin@example.org\n");
  write(`${base}/home/joe/.qmail`, "./Maildir/\n");
  write(`${base}/home/joe/.qmail-lists`, "&lists@example.net\n");
  write(
    `${root}/users/assign`,
    `=joe:joe:1000:1000:${base}/home/joe:::\n` +
      `+example.org-:example.org:89:89:${vpopmail}/domains/example.org:-::\n.\n`,
  );
  write(
    `${vpopmail}/domains/example.org/vpasswd`,
    "ann:$1$salt$hash:1:0:Ann:/d/ann:NOQUOTA:s3cret\n" +
      "bob:$1$salt$hash:1:0:Bob:/d/bob:NOQUOTA:\n",
  );
  write(`${vpopmail}/domains/example.org/vpasswd.cdb`, "");
  write(tcp, '127.:allow,RELAYCLIENT=""\n# comment\n:allow\n');
  write(`${tcp}.cdb`, "");
  // The queue: one message just queued (todo/), one being delivered (info/,
  // local/, remote/), one bouncing (bounce/), in a flat-todo queue.
  const layout = makeTestQueue(root, { todoSplit: false });
  writeVanillaMessage(layout, {
    received: "Received: (qmail 1 invoked by uid 0); 1 Jan 2026 00:00:00 -0000\n",
    body: "Subject: new\n\nx\n",
    uid: 0,
    pid: 1,
    sender: "a@example.net",
    recipients: ["joe@mail.example.com"],
  });
  for (
    const [id, parts] of [[101, ["info", "local", "remote"]], [102, ["info", "bounce"]]] as const
  ) {
    write(layout.mess(id), "Subject: old\n\ny\n");
    for (const part of parts) {
      const path = part === "info"
        ? layout.info(id)
        : part === "bounce"
        ? layout.bounce(id)
        : layout.channel(part, id);
      write(path, "T\0");
    }
  }
  return { root, vpopmail, tcp };
}

Deno.test("qmd import-qmail: a dry run names what the installation holds and changes nothing", async () => {
  const base = await Deno.makeTempDir();
  try {
    const { root, vpopmail, tcp } = makeQmail(base);
    const before = JSON.stringify([...Deno.readDirSync(root)].map((entry) => entry.name).sort());
    const args = [root, "--vpopmail", vpopmail, "--tcp-rules", tcp];
    const run = await captureConsole(() => main(args));
    assertEquals(run.result, 0, run.err.join("\n"));
    const out = run.out.join("\n");
    for (
      const text of [
        `dry run of ${root}; nothing is changed`,
        "control/: 6 files; me mail.example.com; locals mail.example.com, localhost; " +
        "virtualdomains example.org:example.org",
        "known to qmd but not read by it: qmqpservers",
        "unknown to qmd (would be kept and ignored): simcontrol",
        "users/: assign with 2 entries; no cdb",
        `.qmail files: 3 (${root}/alias/.qmail-postmaster, ${base}/home/joe/.qmail, ` +
        `${base}/home/joe/.qmail-lists)`,
        `tcp rules: ${tcp} (2 rules, cdb)`,
        "vpopmail: example.org: 2 users, 1 with a clear-text password, vpasswd.cdb",
        "queue: 3 messages (split 23, flat todo/): intd 1, todo 1, info 2, local 1, remote 1, bounce 1",
        "add example.org with 2 mailboxes; 1 keep only a crypt hash",
        "no process holds lock/sendmutex: qmail-send is not running on it",
      ]
    ) assertStringIncludes(out, text);
    // A process holding the sendmutex (this one, as qmail-send would) is named.
    const mutex = Deno.openSync(`${root}/queue/lock/sendmutex`, { read: true });
    try {
      const held = await captureConsole(() => main(args));
      assertStringIncludes(held.out.join("\n"), `running on it: process ${Deno.pid} holds`);
    } finally {
      mutex.close();
    }
    assertEquals(
      JSON.stringify([...Deno.readDirSync(root)].map((entry) => entry.name).sort()),
      before,
    );

    const json = await captureConsole(() => main([...args, "--json"]));
    const survey = JSON.parse(json.out.join("\n"));
    assertEquals(survey.queue.states, {
      intd: 1,
      todo: 1,
      info: 2,
      local: 1,
      remote: 1,
      bounce: 1,
    });
    assert(Array.isArray(survey.plan));
  } finally {
    await Deno.remove(base, { recursive: true });
  }
});

Deno.test("qmd import-qmail: a missing directory is one line; a broken users/assign is reported, not thrown", async () => {
  const base = await Deno.makeTempDir();
  try {
    const missing = await captureConsole(() => main([`${base}/nowhere`]));
    assertEquals([missing.result, missing.err.length], [100, 1]);
    const { root, vpopmail } = makeQmail(base);
    Deno.writeTextFileSync(`${root}/users/assign`, "=joe:joe:1000\n");
    const run = await captureConsole(() =>
      main([root, "--vpopmail", vpopmail, "--tcp-rules", `${base}/none`])
    );
    assertEquals(run.result, 0);
    assertStringIncludes(run.out.join("\n"), `could not read ${root}/users/assign:`);
    assertStringIncludes(run.out.join("\n"), "tcp rules: none");
  } finally {
    await Deno.remove(base, { recursive: true });
  }
});
