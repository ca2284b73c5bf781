import { assert, assertEquals, assertMatch, assertThrows } from "../../tests/assert.ts";
import { AccountError, isValidHostname, parseMailboxAddress } from "./account_names.ts";
import { DatabaseSync } from "node:sqlite";
import { SCHEMA_VERSION } from "./account_database.ts";
import { hashPassword, verifyPasswordHash } from "./password_hash.ts";
import { AccountStore } from "./store.ts";

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
      challengeAuth: false,
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

Deno.test("accounts: the challenge secret is stored only with challengeAuth", async () => {
  await withStore(async (store, home) => {
    store.addDomain("example.com");
    const joe = store.addMailbox("Joe@example.com", "s3cret", { challengeAuth: true });
    const ann = store.addMailbox("ann@example.com", "pw");
    assertEquals([joe.challengeAuth, ann.challengeAuth], [true, false]);
    assertEquals(store.findMailbox("example.com", "joe")?.challengeAuth, true);
    assertEquals(store.listMailboxes().map((m) => [m.address, m.challengeAuth]), [
      ["ann@example.com", false],
      ["joe@example.com", true],
    ]);

    const secrets = store.findSecrets("JOE@Example.COM");
    assertEquals(secrets?.address, "joe@example.com");
    assertEquals(secrets?.challengeSecret, "s3cret");
    assert(await verifyPasswordHash(secrets?.scryptHash, "s3cret"));
    assertEquals(store.findSecrets("ann@example.com")?.challengeSecret, undefined);
    assertMatch(store.findSecrets("ann@example.com")?.scryptHash ?? "", /^scrypt\$/);
    assertEquals(store.findSecrets("nobody@example.com"), undefined);
    assertEquals(store.findSecrets("no address"), undefined);

    // passwd without challengeAuth clears the secret; with it, replaces it.
    store.setPassword("joe@example.com", "n3w");
    assertEquals(store.findSecrets("joe@example.com")?.challengeSecret, undefined);
    assertEquals(store.findMailbox("example.com", "joe")?.challengeAuth, false);
    store.setPassword("ann@example.com", "n3w-ann", { challengeAuth: true });
    assertEquals(store.findSecrets("ann@example.com")?.challengeSecret, "n3w-ann");
    assert(await store.verifyPassword("ann@example.com", "n3w-ann"));

    // Only challenge-enabled rows hold anything but a hash.
    const db = new DatabaseSync(`${home}/accounts.sqlite`, { readOnly: true });
    try {
      const rows = db.prepare(
        "SELECT user, password, challenge_secret FROM mailboxes ORDER BY user",
      )
        .all() as { user: string; password: string; challenge_secret: string | null }[];
      assertEquals(rows.map((row) => [row.user, row.challenge_secret]), [
        ["ann", "n3w-ann"],
        ["joe", null],
      ]);
      assert(rows.every((row) => row.password.startsWith("scrypt$")));
    } finally {
      db.close();
    }
  });
});

/** A version 1 database as the previous qmd wrote it. */
function writeVersion1Database(path: string): void {
  const db = new DatabaseSync(path);
  try {
    db.exec(`
      CREATE TABLE schema_version (version INTEGER NOT NULL);
      INSERT INTO schema_version (version) VALUES (1);
      CREATE TABLE domains (name TEXT PRIMARY KEY, created INTEGER NOT NULL);
      CREATE TABLE mailboxes (
        domain TEXT NOT NULL REFERENCES domains(name),
        user TEXT NOT NULL,
        password TEXT NOT NULL,
        quota_bytes INTEGER NOT NULL DEFAULT 0,
        quota_messages INTEGER NOT NULL DEFAULT 0,
        created INTEGER NOT NULL,
        PRIMARY KEY (domain, user)
      );
      INSERT INTO domains VALUES ('example.com', 0);
    `);
    db.prepare("INSERT INTO mailboxes VALUES ('example.com', 'joe', ?, 0, 0, 0)")
      .run(hashPassword("old-pw"));
  } finally {
    db.close();
  }
}

function schemaVersion(path: string): number {
  const db = new DatabaseSync(path, { readOnly: true });
  try {
    const row = db.prepare("SELECT max(version) AS v FROM schema_version").get() as { v: number };
    return Number(row.v);
  } finally {
    db.close();
  }
}

Deno.test("accounts: a version 1 database is read as it is and migrated in place", async () => {
  assertEquals(SCHEMA_VERSION, 3);
  const home = await Deno.makeTempDir();
  const path = `${home}/accounts.sqlite`;
  try {
    writeVersion1Database(path);

    const reader = AccountStore.open(home, { readonly: true });
    try {
      assertEquals(reader.findMailbox("example.com", "joe")?.challengeAuth, false);
      assertEquals(reader.findSecrets("joe@example.com")?.challengeSecret, undefined);
      assert(await reader.verifyPassword("joe@example.com", "old-pw"));
    } finally {
      reader.close();
    }
    assertEquals(schemaVersion(path), 1, "a read-only open changes nothing");

    const stale = AccountStore.open(home, { readonly: true });
    const writer = AccountStore.open(home);
    try {
      assertEquals(schemaVersion(path), 3);
      assert(await writer.verifyPassword("joe@example.com", "old-pw"));
      assertEquals(writer.findSecrets("joe@example.com")?.challengeSecret, undefined);
      writer.setPassword("joe@example.com", "new-pw", { challengeAuth: true });
      assertEquals(writer.findSecrets("joe@example.com")?.challengeSecret, "new-pw");
      // A handle opened before the migration sees the new column without reopening.
      assertEquals(stale.findSecrets("joe@example.com")?.challengeSecret, "new-pw");
      assertEquals(stale.findMailbox("example.com", "joe")?.challengeAuth, true);
    } finally {
      writer.close();
      stale.close();
    }
    // Opening again is a no-op: one version row, still 3.
    AccountStore.open(home).close();
    assertEquals(schemaVersion(path), 3);

    // A newer database is refused, read-only or not.
    const db = new DatabaseSync(path);
    db.exec("UPDATE schema_version SET version = 4");
    db.close();
    assertMatch(assertThrows(() => AccountStore.open(home)).message, /schema version 4/);
    assertMatch(
      assertThrows(() => AccountStore.open(home, { readonly: true })).message,
      /schema version 4/,
    );
  } finally {
    await Deno.remove(home, { recursive: true });
  }
});
