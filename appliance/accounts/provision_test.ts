import { assert, assertEquals, assertStringIncludes, assertThrows } from "../../tests/assert.ts";
import { AccountError } from "./account_names.ts";
import { AccountStore } from "./store.ts";
import { provisionDomain, provisionMailbox, unprovisionDomain } from "./provision.ts";

async function withHome(fn: (store: AccountStore, home: string) => void | Promise<void>) {
  const home = await Deno.makeTempDir();
  Deno.mkdirSync(`${home}/control`);
  const store = AccountStore.open(home);
  try {
    await fn(store, home);
  } finally {
    store.close();
    await Deno.remove(home, { recursive: true });
  }
}

const read = (home: string, name: string) => Deno.readTextFileSync(`${home}/control/${name}`);

Deno.test("domain add: rcpthosts and virtualdomains get one line each, comments kept", async () => {
  await withHome((store, home) => {
    Deno.writeTextFileSync(`${home}/control/rcpthosts`, "# relay for these\nmx.example.net");
    Deno.writeTextFileSync(
      `${home}/control/virtualdomains`,
      "# virtual domains\nother.org:alias-other\n",
    );
    const first = provisionDomain(store, "Example.COM");
    assertEquals([first.database, first.rcpthosts, first.virtualdomains], [true, true, true]);
    const second = provisionDomain(store, "example.com");
    assertEquals([second.database, second.rcpthosts, second.virtualdomains], [
      false,
      false,
      false,
    ]);
    assertEquals(read(home, "rcpthosts"), "# relay for these\nmx.example.net\nexample.com\n");
    assertEquals(
      read(home, "virtualdomains"),
      "# virtual domains\nother.org:alias-other\nexample.com:example.com\n",
    );
    assert(Deno.statSync(`${home}/mail/example.com`).isDirectory);
    assertEquals(store.listDomains(), ["example.com"]);

    const removed = unprovisionDomain(store, "example.com");
    assertEquals([removed.database, removed.rcpthosts, removed.virtualdomains], [true, true, true]);
    assertEquals(read(home, "rcpthosts"), "# relay for these\nmx.example.net\n");
    assertEquals(read(home, "virtualdomains"), "# virtual domains\nother.org:alias-other\n");
    assertEquals(
      assertThrows(() => unprovisionDomain(store, "example.com"), AccountError).kind,
      "missing",
    );
  });
});

Deno.test("domain add: an absent rcpthosts starts from locals, never an open relay", async () => {
  await withHome((store, home) => {
    Deno.writeTextFileSync(`${home}/control/locals`, "mx.example.net\nlocalhost\n");
    const change = provisionDomain(store, "example.com");
    assertEquals(read(home, "rcpthosts"), "mx.example.net\nlocalhost\nexample.com\n");
    assertEquals(change.notes.length, 1);
  });
});

Deno.test("user add: makes the domain and the Maildir; domain del refuses, --force keeps mail", async () => {
  await withHome((store, home) => {
    const { mailbox, domain } = provisionMailbox(store, "Joe@Example.com", "pw", {
      quotaBytes: 5000,
    });
    assert(domain?.database, "domain added on the way");
    assertEquals(mailbox.maildir, `${home}/mail/example.com/joe/Maildir`);
    for (const sub of ["", "/tmp", "/new", "/cur"]) {
      const stat = Deno.statSync(`${mailbox.maildir}${sub}`);
      assert(stat.isDirectory);
      assertEquals((stat.mode ?? 0) & 0o777, 0o700);
    }
    assertEquals(provisionMailbox(store, "ann@example.com", "pw").domain, undefined);
    assertThrows(() => provisionMailbox(store, "bad@new.example", ""), AccountError);
    assert(!store.hasDomain("new.example"), "no half-added domain after a refused mailbox");

    assertEquals(
      assertThrows(() => unprovisionDomain(store, "example.com"), AccountError).kind,
      "not-empty",
    );
    const forced = unprovisionDomain(store, "example.com", { force: true });
    assertEquals(forced.mailboxesRemoved.map((m) => m.address), [
      "ann@example.com",
      "joe@example.com",
    ]);
    assertEquals(store.listMailboxes(), []);
    assert(Deno.statSync(mailbox.maildir).isDirectory, "mail stays on disk");
  });
});

Deno.test("domain del removes only the lines domain add wrote (HOME/accounts.lines)", async () => {
  await withHome((store, home) => {
    // What qmd init wrote, and an operator's own mapping.
    Deno.writeTextFileSync(`${home}/control/rcpthosts`, "mx.example.net\nlocalhost\n");
    Deno.writeTextFileSync(`${home}/control/virtualdomains`, "other.org:alias-other\n");
    const local = provisionDomain(store, "localhost");
    assertEquals([local.rcpthosts, local.virtualdomains], [false, true]);
    const other = provisionDomain(store, "other.org");
    assertEquals([other.rcpthosts, other.virtualdomains], [true, false]);
    assertEquals(
      Deno.readTextFileSync(`${home}/accounts.lines`).split("\n").slice(1),
      ["rcpthosts other.org", "virtualdomains localhost:localhost", ""],
    );

    const removed = unprovisionDomain(store, "localhost");
    assertEquals([removed.rcpthosts, removed.virtualdomains], [false, true]);
    assertEquals(read(home, "rcpthosts"), "mx.example.net\nlocalhost\nother.org\n");
    assertEquals(removed.notes.length, 1);
    assertStringIncludes(removed.notes[0], "kept control/rcpthosts line 2 (localhost)");

    const removedOther = unprovisionDomain(store, "other.org");
    assertEquals([removedOther.rcpthosts, removedOther.virtualdomains], [true, false]);
    assertEquals(read(home, "rcpthosts"), "mx.example.net\nlocalhost\n");
    assertEquals(read(home, "virtualdomains"), "other.org:alias-other\n");
    assertStringIncludes(removedOther.notes[0], "other.org:alias-other");

    // Not a domain, only a line someone else wrote: refused, and the line stays.
    const missing = assertThrows(() => unprovisionDomain(store, "mx.example.net"), AccountError);
    assertEquals(missing.kind, "missing");
    assertStringIncludes(missing.message, "kept control/rcpthosts line 1 (mx.example.net)");
    assertEquals(read(home, "rcpthosts"), "mx.example.net\nlocalhost\n");
  });
});
