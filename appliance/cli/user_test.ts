import { assert, assertEquals, assertStringIncludes } from "../../tests/assert.ts";
import { initHome } from "../home/init_home.ts";
import { AccountStore } from "../accounts/store.ts";
import { captureConsole, streamOf } from "./test_io.ts";
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
      `ann@example.com\t${home}/mail/example.com/ann/Maildir`,
      `joe@example.com\t${home}/mail/example.com/joe/Maildir\tchallenge-auth`,
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
