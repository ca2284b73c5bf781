import { assert, assertEquals, assertThrows } from "../../tests/assert.ts";
import { AccountError } from "./address.ts";
import { AccountStore } from "./store.ts";
import {
  addListEntry,
  provisionDomain,
  provisionMailbox,
  removeListEntries,
  unprovisionDomain,
} from "./provision.ts";

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

Deno.test("list entry editing is exact and case-insensitive", () => {
  const same = (v: string) => v.toLowerCase() === "example.com";
  assertEquals(addListEntry(undefined, "example.com", same), "example.com\n");
  assertEquals(addListEntry("EXAMPLE.com \n", "example.com", same), undefined);
  assertEquals(addListEntry("#example.com\n", "example.com", same), "#example.com\nexample.com\n");
  assertEquals(
    removeListEntries("a\n#example.com\nExample.com\t\n\nb\n", same),
    "a\n#example.com\n\nb\n",
  );
  assertEquals(removeListEntries("a\n", same), undefined);
  assertEquals(removeListEntries(undefined, same), undefined);
});
