import { assert, assertEquals, assertStringIncludes } from "../../tests/assert.ts";
import { initHome } from "../home/init_home.ts";
import { AccountStore } from "../accounts/store.ts";
import { captureConsole, streamOf } from "./test_io.ts";
import { deliverInHome } from "./test_delivery.ts";
import { main } from "./user.ts";

async function withHome(fn: (home: string) => Promise<void>) {
  const home = await Deno.makeTempDir();
  try {
    await initHome(home, { me: "mail.example.com" });
    await fn(home);
  } finally {
    await Deno.remove(home, { recursive: true });
  }
}

Deno.test("qmd user add/passwd/list/del; the password never appears in output", async () => {
  await withHome(async (home) => {
    const add = await captureConsole(() =>
      main(
        ["add", "Joe@Example.com", "--password-stdin", "--home", home, "--quota", "1000"],
        streamOf("s3cret\nignored\n"),
      )
    );
    assertEquals(add.result, 0);
    assertStringIncludes(add.out.join("\n"), "domain example.com was new");
    assert(!add.out.join("").includes("s3cret"));
    assert(Deno.statSync(`${home}/mail/example.com/joe/Maildir/new`).isDirectory);
    assertStringIncludes(Deno.readTextFileSync(`${home}/control/rcpthosts`), "example.com\n");

    const store = AccountStore.open(home, { readonly: true });
    try {
      assert(await store.verifyPassword("joe@example.com", "s3cret"));
    } finally {
      store.close();
    }

    const passwd = await captureConsole(() =>
      main(["passwd", "joe@example.com", "--password-stdin", "--home", home], streamOf("n3w\r\n"))
    );
    assertEquals(passwd.result, 0);
    const reopened = AccountStore.open(home, { readonly: true });
    try {
      assert(await reopened.verifyPassword("joe@example.com", "n3w"));
    } finally {
      reopened.close();
    }

    const list = await captureConsole(() => main(["list", "--json", "--home", home]));
    assertEquals(list.result, 0);
    assertEquals(JSON.parse(list.out.join("\n")), [{
      address: "joe@example.com",
      domain: "example.com",
      user: "joe",
      maildir: `${home}/mail/example.com/joe/Maildir`,
      quotaBytes: 1000,
      quotaMessages: 0,
      challengeAuth: false,
      usageBytes: 0,
      usageMessages: 0,
    }]);
    const other = await captureConsole(() =>
      main(["list", "--json", "--domain", "other.org", "--home", home])
    );
    assertEquals(JSON.parse(other.out.join("\n")), []);

    const del = await captureConsole(() => main(["del", "joe@example.com", "--home", home]));
    assertEquals(del.result, 0);
    assertStringIncludes(del.out[0], "stays on disk");
    assert(Deno.statSync(`${home}/mail/example.com/joe/Maildir`).isDirectory);
    const again = await captureConsole(() => main(["del", "joe@example.com", "--home", home]));
    assertEquals([again.result, again.err.length], [100, 1]);
  });
});

Deno.test("qmd user: invalid addresses and bad flags give one line and 64", async () => {
  await withHome(async (home) => {
    for (
      const args of [
        ["add", "joe", "--password-stdin"],
        ["add", "../x@example.com", "--password-stdin"],
        ["add", "joe@bad_domain", "--password-stdin"],
        ["add", "joe@example.com"],
        ["add", "joe@example.com", "--password-stdin", "--quota", "lots"],
        ["add", "--bogus"],
        ["frobnicate"],
        [],
      ]
    ) {
      const result = await captureConsole(() => main([...args, "--home", home], streamOf("pw\n")));
      assertEquals(result.result, 64, args.join(" "));
      assertEquals(result.err.length, 1, args.join(" "));
      assertEquals(result.out, []);
    }
    const empty = await captureConsole(() =>
      main(["add", "joe@example.com", "--password-stdin", "--home", home], streamOf(""))
    );
    assertEquals([empty.result, empty.err.length], [64, 1]);
    const exists = await captureConsole(async () => {
      await main(["add", "a@example.com", "--password-stdin", "--home", home], streamOf("x\n"));
      return await main(
        ["add", "A@example.com", "--password-stdin", "--home", home],
        streamOf("x\n"),
      );
    });
    assertEquals(exists.result, 100);
  });
});

Deno.test("qmd user --challenge-auth stores the secret; passwd without it clears it", async () => {
  await withHome(async (home) => {
    const secretOf = (address: string) => {
      const store = AccountStore.open(home, { readonly: true });
      try {
        return store.findSecrets(address)?.challengeSecret;
      } finally {
        store.close();
      }
    };
    const add = await captureConsole(() =>
      main(
        ["add", "joe@example.com", "--password-stdin", "--challenge-auth", "--home", home],
        streamOf("s3cret\n"),
      )
    );
    assertEquals(add.result, 0);
    assertStringIncludes(add.out.join("\n"), "challenge auth on");
    assert(!add.out.join("").includes("s3cret"));
    assertEquals(secretOf("joe@example.com"), "s3cret");
    await captureConsole(() =>
      main(["add", "ann@example.com", "--password-stdin", "--home", home], streamOf("pw\n"))
    );
    assertEquals(secretOf("ann@example.com"), undefined);

    const text = await captureConsole(() => main(["list", "--home", home]));
    assertEquals(text.out, [
      `ann@example.com\t${home}/mail/example.com/ann/Maildir\tused 0 in 0 messages`,
      `joe@example.com\t${home}/mail/example.com/joe/Maildir\tused 0 in 0 messages` +
      `\tchallenge-auth`,
    ]);
    const json = await captureConsole(() => main(["list", "--json", "--home", home]));
    assertEquals(
      JSON.parse(json.out.join("\n")).map((m: { challengeAuth: boolean }) => m.challengeAuth),
      [false, true],
    );

    const off = await captureConsole(() =>
      main(["passwd", "joe@example.com", "--password-stdin", "--home", home], streamOf("n3w\n"))
    );
    assertEquals(off.result, 0);
    assertStringIncludes(off.out[0], "challenge auth off");
    assertEquals(secretOf("joe@example.com"), undefined);

    const on = await captureConsole(() =>
      main(
        ["passwd", "ann@example.com", "--password-stdin", "--challenge-auth", "--home", home],
        streamOf("an0ther\n"),
      )
    );
    assertEquals(on.result, 0);
    assert(!on.out.join("").includes("an0ther"));
    assertEquals(secretOf("ann@example.com"), "an0ther");
  });
});

Deno.test("qmd user add warns only when mail would not reach the new mailbox, and says where", async () => {
  await withHome(async (home) => {
    const add = (address: string) =>
      captureConsole(() =>
        main(["add", address, "--password-stdin", "--home", home], streamOf("pw\n"))
      );
    // mail.example.com is in control/locals: delivered locally, to the mailbox.
    const local = await add("ann@mail.example.com");
    assertEquals(local.result, 0);
    assert(!local.out.join("\n").includes("warning:"), local.out.join("\n"));

    // users/assign claims bob: his mail goes to that user, whatever the database holds.
    Deno.writeTextFileSync(`${home}/users/assign`, "=bob:bob:1000:1000:/home/bob:::\n.\n");
    const claimed = await add("bob@mail.example.com");
    assertEquals(claimed.result, 0);
    assertEquals(claimed.out.filter((line) => line.includes("warning:")), [
      "qmd user: warning: users/assign gives bob to user bob (home /home/bob), " +
      "so mail to bob@mail.example.com goes there, not to this mailbox",
    ]);

    // An operator's virtualdomains line sends the domain elsewhere.
    Deno.writeTextFileSync(`${home}/control/virtualdomains`, "other.example:joe\n");
    const mapped = await add("cy@other.example");
    assertEquals(mapped.result, 0);
    const warning = mapped.out.find((line) => line.includes("warning:")) ?? "";
    assertStringIncludes(warning, "delivered as joe-cy@other.example");

    // A broken control file stops only the check, never the add that already happened.
    Deno.writeTextFileSync(`${home}/control/concurrencylocal`, "lots\n");
    const broken = await add("dee@mail.example.com");
    assertEquals(broken.result, 0);
    assertStringIncludes(broken.out.join("\n"), "warning: cannot tell where mail to dee@");
  });
});

Deno.test("qmd user add names only the files it changed for a new domain", async () => {
  await withHome(async (home) => {
    // qmd init put mail.example.com into control/rcpthosts: only virtualdomains gains a line.
    const add = await captureConsole(() =>
      main(["add", "ann@mail.example.com", "--password-stdin", "--home", home], streamOf("pw\n"))
    );
    assertEquals(add.result, 0);
    assertEquals(
      add.out.find((line) => line.includes("was new")),
      "qmd user: domain mail.example.com was new: added it (database, control/virtualdomains)",
    );
  });
});

/** Adds `address` with password pw; asserts it worked. */
async function addUser(home: string, address: string): Promise<void> {
  const add = await captureConsole(() =>
    main(["add", address, "--password-stdin", "--home", home], streamOf("pw\n"))
  );
  assertEquals(add.result, 0, add.err.join("\n"));
}

Deno.test("qmd user quota: sizes drive the quota deliveries enforce; none lifts it", async () => {
  await withHome(async (home) => {
    await addUser(home, "joe@example.com");
    const maildir = `${home}/mail/example.com/joe/Maildir`;
    const first = await deliverInHome(home, "joe@example.com", "Subject: a\n\n" + "x".repeat(600));
    assertEquals(first.report.status, "K");
    const size = [...Deno.readDirSync(`${maildir}/new`)]
      .map((entry) => Deno.statSync(`${maildir}/new/${entry.name}`).size)[0];

    const quota = await captureConsole(() =>
      main(["quota", "joe@example.com", "1K", "--home", home])
    );
    assertEquals(quota.result, 0, quota.err.join("\n"));
    assertEquals(quota.out, ["qmd user: quota of joe@example.com: 1K"]);
    // maildirsize follows at once, with a fresh count.
    assertEquals(Deno.readTextFileSync(`${maildir}/maildirsize`), `1024S\n${size} 1\n`);
    const over = await deliverInHome(home, "joe@example.com", "Subject: b\n\n" + "y".repeat(600));
    assertEquals(over.report.status, "D");

    const list = await captureConsole(() => main(["list", "--home", home]));
    assertEquals(list.out, [
      `joe@example.com\t${maildir}\tused ${size} in 1 messages\tquota 1024S,0C`,
    ]);

    const none = await captureConsole(() =>
      main(["quota", "joe@example.com", "none", "--home", home])
    );
    assertEquals(none.out, ["qmd user: quota of joe@example.com: none"]);
    assert(!fileExistsSync(`${maildir}/maildirsize`));
    assertEquals(
      (await deliverInHome(home, "joe@example.com", "Subject: c\n\n" + "z".repeat(600))).report
        .status,
      "K",
    );
    // Without maildirsize the usage is the sum of the messages' sizes.
    const json = await captureConsole(() => main(["list", "--json", "--home", home]));
    const [row] = JSON.parse(json.out.join("\n"));
    assertEquals([row.quotaBytes, row.usageMessages], [0, 2]);
    assert(row.usageBytes > 2 * 600);

    const messages = await captureConsole(() =>
      main(["quota", "joe@example.com", "2G", "--messages", "5", "--home", home])
    );
    assertEquals(messages.out, ["qmd user: quota of joe@example.com: 2G, 5 messages"]);
    for (
      const args of [["quota", "joe@example.com"], ["quota", "joe@example.com", "1.5M"], [
        "quota",
        "joe@example.com",
        "1M",
        "--messages",
        "many",
      ]]
    ) {
      const bad = await captureConsole(() => main([...args, "--home", home]));
      assertEquals([bad.result, bad.err.length], [64, 1], args.join(" "));
    }
    const missing = await captureConsole(() =>
      main(["quota", "ann@example.com", "1M", "--home", home])
    );
    assertEquals([missing.result, missing.err.length], [100, 1]);
  });
});

Deno.test("qmd user rename: the account and its mail move together; NEW must be free", async () => {
  await withHome(async (home) => {
    await addUser(home, "joe@example.com");
    await addUser(home, "ann@example.com");
    assertEquals((await deliverInHome(home, "joe@example.com")).report.status, "K");
    const oldHome = `${home}/mail/example.com/joe`;
    const newHome = `${home}/mail/example.com/jo`;

    const taken = await captureConsole(() =>
      main(["rename", "joe@example.com", "ann@example.com", "--home", home])
    );
    assertEquals([taken.result, taken.err.length], [100, 1]);
    Deno.mkdirSync(newHome);
    const onDisk = await captureConsole(() =>
      main(["rename", "joe@example.com", "jo@example.com", "--home", home])
    );
    assertEquals(onDisk.result, 100);
    assertStringIncludes(onDisk.err[0], "already exists");
    Deno.removeSync(newHome);
    assertEquals(Deno.readDirSync(`${oldHome}/Maildir/new`).toArray().length, 1);

    Deno.writeTextFileSync(`${home}/mail/example.com/.qmail-sales`, "&Joe@example.com\n");
    const rename = await captureConsole(() =>
      main(["rename", "Joe@example.com", "Jo@Example.com", "--home", home])
    );
    assertEquals(rename.result, 0, rename.err.join("\n"));
    assertEquals(rename.out, [
      `qmd user: renamed joe@example.com to jo@example.com; its mail is now in ${newHome}/Maildir`,
      `qmd user: note: sales@example.com still forwards to joe@example.com ` +
      `(${home}/mail/example.com/.qmail-sales); qmd alias add sales@example.com jo@example.com ` +
      `and qmd alias del sales@example.com joe@example.com move it`,
    ]);
    assert(!fileExistsSync(oldHome));
    assertEquals(Deno.readDirSync(`${newHome}/Maildir/new`).toArray().length, 1);
    const store = AccountStore.open(home, { readonly: true });
    try {
      assertEquals(store.findMailbox("example.com", "joe"), undefined);
      assert(await store.verifyPassword("jo@example.com", "pw"));
    } finally {
      store.close();
    }
    assertEquals((await deliverInHome(home, "jo@example.com")).report.status, "K");
    assertEquals(Deno.readDirSync(`${newHome}/Maildir/new`).toArray().length, 2);
    const gone = await captureConsole(() =>
      main(["rename", "joe@example.com", "joe2@example.com", "--home", home])
    );
    assertEquals(gone.result, 100);
    const noDomain = await captureConsole(() =>
      main(["rename", "jo@example.com", "jo@other.org", "--home", home])
    );
    assertEquals(noDomain.result, 100);
    assertStringIncludes(noDomain.err[0], "No such domain other.org");
  });
});

function fileExistsSync(path: string): boolean {
  try {
    Deno.lstatSync(path);
    return true;
  } catch {
    return false;
  }
}
