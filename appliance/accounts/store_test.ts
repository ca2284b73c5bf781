import { assert, assertEquals, assertMatch, assertThrows } from "../../tests/assert.ts";
import { AccountError, isValidHostname, parseMailboxAddress } from "./address.ts";
import { AccountStore, hashPassword, verifyPasswordHash } from "./store.ts";

async function withStore(fn: (store: AccountStore, home: string) => Promise<void> | void) {
  const home = await Deno.makeTempDir();
  const store = AccountStore.open(home);
  try {
    await fn(store, home);
  } finally {
    store.close();
    await Deno.remove(home, { recursive: true });
  }
}

Deno.test("accounts: domain and mailbox CRUD, case-insensitive lookup, Maildir path", async () => {
  await withStore(async (store, home) => {
    store.addDomain("Example.COM");
    assertEquals(store.listDomains(), ["example.com"]);
    assert(store.hasDomain("EXAMPLE.com"));
    assertThrows(() => store.addDomain("example.com"), AccountError);

    const joe = store.addMailbox("Joe@Example.com", "s3cret", { quotaBytes: 1000 });
    assertEquals(joe, {
      address: "joe@example.com",
      domain: "example.com",
      user: "joe",
      maildir: `${home}/mail/example.com/joe/Maildir`,
      quotaBytes: 1000,
      quotaMessages: 0,
    });
    assertEquals(store.findMailbox("EXAMPLE.COM", "JOE"), joe);
    assertEquals(store.findMailbox("example.com", "ann"), undefined);
    assertEquals(
      assertThrows(() => store.addMailbox("joe@example.com", "x"), AccountError).kind,
      "exists",
    );
    assertEquals(
      assertThrows(() => store.addMailbox("joe@other.org", "x"), AccountError).kind,
      "missing",
    );

    assert(await store.verifyPassword("JOE@example.com", "s3cret"));
    assert(!await store.verifyPassword("joe@example.com", "S3cret"));
    assert(!await store.verifyPassword("nobody@example.com", "s3cret"));
    assert(!await store.verifyPassword("not an address", "s3cret"));

    store.setPassword("joe@example.com", "n3w");
    assert(await store.verifyPassword("joe@example.com", "n3w"));
    assert(!await store.verifyPassword("joe@example.com", "s3cret"));

    store.addMailbox("ann@example.com", "pw");
    assertEquals(store.listMailboxes().map((m) => m.address), [
      "ann@example.com",
      "joe@example.com",
    ]);
    assertEquals(store.listMailboxes("other.org"), []);

    assertEquals(
      assertThrows(() => store.deleteDomain("example.com"), AccountError).kind,
      "not-empty",
    );
    store.deleteMailbox("ann@example.com");
    store.deleteMailbox("joe@example.com");
    assertEquals(
      assertThrows(() => store.deleteMailbox("joe@example.com"), AccountError).kind,
      "missing",
    );
    store.deleteDomain("example.com");
    assertEquals(store.listDomains(), []);
  });
});

Deno.test("accounts: schema version, WAL and a read-only second handle", async () => {
  await withStore((store, home) => {
    store.addDomain("example.org");
    const reader = AccountStore.open(home, { readonly: true });
    try {
      assertEquals(reader.listDomains(), ["example.org"]);
      assertThrows(() => reader.addDomain("example.net"));
    } finally {
      reader.close();
    }
    assert(Deno.statSync(`${home}/accounts.sqlite-wal`).isFile);
    assertEquals((Deno.statSync(`${home}/accounts.sqlite`).mode ?? 0) & 0o777, 0o600);
    assertEquals((Deno.statSync(`${home}/accounts.sqlite-wal`).mode ?? 0) & 0o777, 0o600);
  });
  const empty = await Deno.makeTempDir();
  assertMatch(
    assertThrows(() => AccountStore.open(empty, { readonly: true })).message,
    /^No account database at /,
  );
  await Deno.remove(empty, { recursive: true });
});

Deno.test("accounts: password hashes are self-describing scrypt strings", async () => {
  const hash = hashPassword("pässword");
  assertMatch(hash, /^scrypt\$16384\$8\$1\$[A-Za-z0-9+/=]+\$[A-Za-z0-9+/=]+$/);
  assert(hash !== hashPassword("pässword"), "salted");
  assert(await verifyPasswordHash(hash, "pässword"));
  assert(!await verifyPasswordHash(hash, "password"));
  assert(!await verifyPasswordHash(undefined, "pässword"));
  assert(!await verifyPasswordHash("scrypt$99999999$8$1$AAAA$AAAA", "x"));
  assert(!await verifyPasswordHash("plain", "plain"));
});

Deno.test("accounts: invalid names are refused with one clear reason", () => {
  for (
    const bad of [
      "joe",
      "@example.com",
      "joe@",
      "jo/e@example.com",
      "../x@example.com",
      ".joe@example.com",
      "a..b@example.com",
      "jo\te@example.com",
      "joe@exa_mple.com",
      "joe@example..com",
      "joe@-example.com",
      "joe@exa/mple.com",
    ]
  ) {
    const error = assertThrows(() => parseMailboxAddress(bad), AccountError);
    assertEquals(error.kind, "invalid", bad);
    assert(!error.message.includes("\n"));
  }
  assertEquals(parseMailboxAddress("Joe.Smith+x@Mail.Example.COM"), {
    user: "joe.smith+x",
    domain: "mail.example.com",
  });
  assert(isValidHostname("localhost"));
  assert(!isValidHostname("a".repeat(64) + ".com"));
});
