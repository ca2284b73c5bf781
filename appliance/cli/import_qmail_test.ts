import { assert, assertEquals, assertStringIncludes } from "../../tests/assert.ts";
import { main } from "./import_qmail.ts";
import { captureConsole } from "./test_io.ts";
import { ANN_PASSWORD, CAROL_PASSWORD, makeQmail } from "./test_qmail.ts";

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
        "control/: 7 files; me mail.example.com; locals mail.example.com, localhost; " +
        "virtualdomains example.org:example.org, example.info:example.info",
        "known to qmd but not read by it: qmqpservers",
        "unknown to qmd (would be kept and ignored): simcontrol",
        "users/: assign with 3 entries; no cdb",
        `.qmail files: 6 (${root}/alias/.qmail-postmaster, ${base}/home/joe/.qmail, ` +
        `${base}/home/joe/.qmail-lists, ${vpopmail}/domains/example.org/.qmail-default, ` +
        `${vpopmail}/domains/example.org/.qmail-info, ` +
        `${vpopmail}/domains/example.info/.qmail-default)`,
        `tcp rules: ${tcp} (2 rules, cdb)`,
        "vpopmail: example.org: 2 users, 1 with a clear-text password, vpasswd.cdb",
        "queue: 3 messages (split 23, flat todo/): intd 1, todo 1, info 2, local 1, remote 1, bounce 1",
        "vpopmail: example.info: 1 users, 1 with a clear-text password, vpasswd.cdb",
        `adopt example.org into qmd's accounts: 2 mailboxes from ${vpopmail}/domains/` +
        "example.org/vpasswd, quotas kept, each Maildir used in place",
        `adopt example.info into qmd's accounts: 1 mailboxes from ${vpopmail}/domains/` +
        "example.info/vpasswd.cdb",
        "users/assign's +example.org- line is removed (kept in users/assign.qmail)",
        "example.org: 1 mailboxes have only a crypt hash, which qmd cannot check: they receive " +
        "mail but cannot log in until qmd user passwd ADDRESS (bob@example.org)",
        "example.info: every mailbox has a clear-text password, stored as a scrypt hash",
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
    const org = survey.vpopmail.domains.find((d: { domain: string }) => d.domain === "example.org");
    assertEquals(org.mailboxes[0], {
      user: "ann",
      dir: `${vpopmail}/domains/example.org/ann`,
      quotaBytes: 52428800,
      quotaMessages: 0,
      clearPassword: true,
    });
    // Neither a password nor a hash is ever printed.
    for (const secret of [ANN_PASSWORD, CAROL_PASSWORD, "$1$salt", "$6$salt"]) {
      assert(!json.out.join("\n").includes(secret), secret);
      assert(!out.includes(secret), secret);
    }
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
    // A broken vpasswd line is named with its file and line, and --apply refuses.
    const vpasswd = `${vpopmail}/domains/example.org/vpasswd`;
    Deno.writeTextFileSync(vpasswd, "ann:x:1:0:Ann:/d/ann:NOQUOTA:\nbob:only-a-hash\n");
    const broken = await captureConsole(() => main([root, "--vpopmail", vpopmail]));
    assertStringIncludes(
      broken.out.join("\n"),
      `could not read ${vpopmail}: ${vpasswd} line 2: expected name:passwd:uid:gid:gecos:dir`,
    );
  } finally {
    await Deno.remove(base, { recursive: true });
  }
});
