import { assert, assertEquals, assertStringIncludes } from "../../tests/assert.ts";
import { main } from "./import_qmail.ts";
import { captureConsole } from "./test_io.ts";
import { makeQmail } from "./test_qmail.ts";

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
        "virtualdomains example.org:example.org",
        "known to qmd but not read by it: qmqpservers",
        "unknown to qmd (would be kept and ignored): simcontrol",
        "users/: assign with 2 entries; no cdb",
        `.qmail files: 3 (${root}/alias/.qmail-postmaster, ${base}/home/joe/.qmail, ` +
        `${base}/home/joe/.qmail-lists)`,
        `tcp rules: ${tcp} (2 rules, cdb)`,
        "vpopmail: example.org: 2 users, 1 with a clear-text password, vpasswd.cdb",
        "queue: 3 messages (split 23, flat todo/): intd 1, todo 1, info 2, local 1, remote 1, bounce 1",
        "leave example.org (2 mailboxes) with vpopmail",
        "1 keep only a crypt hash, which qmd cannot check",
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
