/**
 * Virtual domains and mailboxes in SQLite (node:sqlite) at HOME/accounts.sqlite.
 *
 * Names are stored in lower case, so lookups are case-insensitive. Passwords
 * are stored only as scrypt hashes in a self-describing string
 * `scrypt$N$r$p$SALT$HASH` (salt and hash in base64), so the parameters can be
 * raised later without breaking stored hashes. A mailbox's Maildir is derived,
 * never stored: HOME/mail/DOMAIN/USER/Maildir.
 *
 * The database runs in WAL mode with a busy timeout, so the admin CLI and a
 * running `qmd start` can use it at the same time.
 *
 * Challenge mechanisms (CRAM-MD5, CRAM-SHA1, CRAM-RIPEMD, DIGEST-MD5) need a
 * password equivalent on the server: the HMAC or digest is computed from the
 * password itself, which a scrypt hash cannot give back. So a mailbox with
 * challenge auth enabled also stores its password as given, in the
 * `challenge_secret` column (schema version 2); for every other mailbox that
 * column is NULL and only the scrypt hash exists. The file is mode 0600.
 */
import { DatabaseSync, type StatementSync } from "node:sqlite";
import { randomBytes, scrypt, scryptSync, timingSafeEqual } from "node:crypto";
import { homePaths } from "../../config/home.ts";
import { AccountError, parseDomain, parseMailboxAddress } from "./account_names.ts";

export interface Mailbox {
  /** user@domain, lower case. */
  address: string;
  domain: string;
  user: string;
  /** Absolute path HOME/mail/DOMAIN/USER/Maildir. */
  maildir: string;
  /** Maildir++ quota in bytes; 0 = none. */
  quotaBytes: number;
  /** Maildir++ quota in messages; 0 = none. */
  quotaMessages: number;
  /** Whether a challenge secret is stored, so CRAM-* and DIGEST-MD5 can authenticate it. */
  challengeAuth: boolean;
}

export interface MailboxOptions {
  quotaBytes?: number;
  quotaMessages?: number;
  /** Store the password for challenge mechanisms too (default false: scrypt hash only). */
  challengeAuth?: boolean;
}

/** What AUTH needs to check a mailbox's credentials. */
export interface MailboxSecrets {
  /** user@domain, lower case. */
  address: string;
  /** The `scrypt$N$r$p$SALT$HASH` string for PLAIN and LOGIN. */
  scryptHash: string;
  /** The password as given, only for mailboxes with challenge auth enabled. */
  challengeSecret: string | undefined;
}

/**
 * The schema this code writes. Opening a newer database is refused.
 * 1: domains, mailboxes. 2: mailboxes.challenge_secret (nullable).
 */
export const SCHEMA_VERSION = 2;

const SCHEMA = `
CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS domains (
  name TEXT PRIMARY KEY,
  created INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS mailboxes (
  domain TEXT NOT NULL REFERENCES domains(name),
  user TEXT NOT NULL,
  password TEXT NOT NULL,
  quota_bytes INTEGER NOT NULL DEFAULT 0,
  quota_messages INTEGER NOT NULL DEFAULT 0,
  created INTEGER NOT NULL,
  challenge_secret TEXT,
  PRIMARY KEY (domain, user)
);
`;

/** scrypt cost parameters for new hashes (N = 2^14, r = 8, p = 1: 16 MiB, ~50 ms). */
const SCRYPT_N = 16384;
const SCRYPT_R = 8;
const SCRYPT_P = 1;
const KEY_LENGTH = 32;
const SALT_LENGTH = 16;
/** Refuse stored parameters above these, so a tampered row cannot exhaust memory. */
const MAX_N = 1 << 20;
const MAX_R = 32;
const MAX_P = 16;
const MAX_PASSWORD_LENGTH = 1024;

interface MailboxRow {
  domain: string;
  user: string;
  quota_bytes: number;
  quota_messages: number;
  challenge_auth: number;
}

export class AccountStore {
  readonly #db: DatabaseSync;
  readonly #home: string;
  readonly #mail: string;
  /** False only while a version 1 database opened read-only is not yet migrated. */
  #secretColumn: boolean;
  /** The columns a Mailbox is made from (challenge_auth is 0 or 1). */
  #mailboxColumns: string;
  readonly #statements = new Map<string, StatementSync>();
  #depth = 0;

  private constructor(db: DatabaseSync, home: string, secretColumn: boolean) {
    this.#db = db;
    this.#home = home;
    this.#mail = homePaths(home).mail;
    this.#secretColumn = secretColumn;
    this.#mailboxColumns = mailboxColumns(secretColumn);
  }

  /**
   * Opens (and, unless read-only, creates or upgrades) HOME/accounts.sqlite.
   * Read-only opening of a home without a database throws. A version 1
   * database opened read-only is read as it is: no mailbox has challenge auth.
   */
  static open(home: string, options: { readonly?: boolean } = {}): AccountStore {
    const path = homePaths(home).accounts;
    const readOnly = options.readonly ?? false;
    if (readOnly) {
      try {
        Deno.statSync(path);
      } catch (error) {
        if (error instanceof Deno.errors.NotFound) {
          throw new Error(`No account database at ${path}`);
        }
        throw error;
      }
    }
    if (!readOnly) createPrivateFile(path);
    const db = new DatabaseSync(path, { readOnly });
    let secretColumn: boolean;
    try {
      db.exec("PRAGMA busy_timeout = 5000");
      if (!readOnly) {
        db.exec("PRAGMA journal_mode = WAL");
        db.exec("PRAGMA foreign_keys = ON");
        migrate(db, path);
      } else {
        checkVersion(db, path);
      }
      secretColumn = hasColumn(db, "mailboxes", "challenge_secret");
    } catch (error) {
      db.close();
      throw error;
    }
    return new AccountStore(db, home, secretColumn);
  }

  /** The home this store belongs to. */
  get home(): string {
    return this.#home;
  }

  close(): void {
    this.#statements.clear();
    this.#db.close();
  }

  /**
   * A read-only handle on a version 1 database notices when a writer (`qmd
   * user`) migrates it, so challenge auth works without a restart.
   */
  #checkSecretColumn(): void {
    if (this.#secretColumn) return;
    const rows = this.#statement("PRAGMA table_info(mailboxes)").all() as { name: string }[];
    if (rows.some((row) => row.name === "challenge_secret")) {
      this.#secretColumn = true;
      this.#mailboxColumns = mailboxColumns(true);
    }
  }

  /** A prepared statement, made on first use and kept for the life of the store. */
  #statement(sql: string): StatementSync {
    let statement = this.#statements.get(sql);
    if (statement === undefined) {
      statement = this.#db.prepare(sql);
      this.#statements.set(sql, statement);
    }
    return statement;
  }

  /**
   * Runs `fn` inside one write transaction (BEGIN IMMEDIATE). Other writers,
   * including other qmd processes, wait until it ends; callers use this to keep
   * control-file edits and database rows in step. A nested call joins the
   * outer transaction.
   */
  transaction<T>(fn: () => T): T {
    if (this.#depth > 0) return fn();
    this.#db.exec("BEGIN IMMEDIATE");
    this.#depth++;
    try {
      const result = fn();
      this.#db.exec("COMMIT");
      return result;
    } catch (error) {
      this.#db.exec("ROLLBACK");
      throw error;
    } finally {
      this.#depth--;
    }
  }

  addDomain(domain: string): void {
    const name = parseDomain(domain);
    if (this.hasDomain(name)) {
      throw new AccountError(`Domain ${name} already exists`, "exists");
    }
    this.#statement("INSERT INTO domains (name, created) VALUES (?, ?)").run(name, Date.now());
  }

  /** Deletes a domain that has no mailboxes left (delete them first). */
  deleteDomain(domain: string): void {
    const name = parseDomain(domain);
    if (!this.hasDomain(name)) throw new AccountError(`No such domain ${name}`, "missing");
    const count = this.#statement("SELECT count(*) AS n FROM mailboxes WHERE domain = ?")
      .get(name) as { n: number };
    if (count.n > 0) {
      throw new AccountError(
        `Domain ${name} still has ${count.n} mailbox${count.n === 1 ? "" : "es"}`,
        "not-empty",
      );
    }
    this.#statement("DELETE FROM domains WHERE name = ?").run(name);
  }

  listDomains(): string[] {
    const rows = this.#statement("SELECT name FROM domains ORDER BY name").all() as {
      name: string;
    }[];
    return rows.map((row) => row.name);
  }

  hasDomain(domain: string): boolean {
    const row = this.#statement("SELECT 1 AS found FROM domains WHERE name = ?")
      .get(domain.toLowerCase());
    return row !== undefined;
  }

  /**
   * Adds a mailbox to an existing domain. Does not create the Maildir on disk.
   * With `challengeAuth` the password is also stored as the challenge secret.
   */
  addMailbox(address: string, password: string, options: MailboxOptions = {}): Mailbox {
    const { user, domain } = parseMailboxAddress(address);
    checkPassword(password);
    const quotaBytes = checkQuota(options.quotaBytes, "quota bytes");
    const quotaMessages = checkQuota(options.quotaMessages, "quota messages");
    if (!this.hasDomain(domain)) throw new AccountError(`No such domain ${domain}`, "missing");
    if (this.findMailbox(domain, user)) {
      throw new AccountError(`Mailbox ${user}@${domain} already exists`, "exists");
    }
    const secret = options.challengeAuth ? password : null;
    this.#statement(
      "INSERT INTO mailboxes " +
        "(domain, user, password, quota_bytes, quota_messages, created, challenge_secret) " +
        "VALUES (?, ?, ?, ?, ?, ?, ?)",
    ).run(domain, user, hashPassword(password), quotaBytes, quotaMessages, Date.now(), secret);
    return this.#mailbox({
      domain,
      user,
      quota_bytes: quotaBytes,
      quota_messages: quotaMessages,
      challenge_auth: secret === null ? 0 : 1,
    });
  }

  /** Removes the mailbox row. Mail on disk is never touched. */
  deleteMailbox(address: string): void {
    const { user, domain } = parseMailboxAddress(address);
    const result = this.#statement("DELETE FROM mailboxes WHERE domain = ? AND user = ?")
      .run(domain, user);
    if (Number(result.changes) === 0) {
      throw new AccountError(`No such mailbox ${user}@${domain}`, "missing");
    }
  }

  /**
   * Replaces a mailbox's password. The challenge secret is replaced too when
   * `challengeAuth` is set, and cleared (NULL) when it is not.
   */
  setPassword(
    address: string,
    password: string,
    options: { challengeAuth?: boolean } = {},
  ): void {
    const { user, domain } = parseMailboxAddress(address);
    checkPassword(password);
    const result = this.#statement(
      "UPDATE mailboxes SET password = ?, challenge_secret = ? WHERE domain = ? AND user = ?",
    ).run(hashPassword(password), options.challengeAuth ? password : null, domain, user);
    if (Number(result.changes) === 0) {
      throw new AccountError(`No such mailbox ${user}@${domain}`, "missing");
    }
  }

  /** Sets a mailbox's quotas (0 = none). */
  setQuota(address: string, options: MailboxOptions): void {
    const { user, domain } = parseMailboxAddress(address);
    const current = this.findMailbox(domain, user);
    if (!current) throw new AccountError(`No such mailbox ${user}@${domain}`, "missing");
    this.#statement(
      "UPDATE mailboxes SET quota_bytes = ?, quota_messages = ? WHERE domain = ? AND user = ?",
    ).run(
      checkQuota(options.quotaBytes ?? current.quotaBytes, "quota bytes"),
      checkQuota(options.quotaMessages ?? current.quotaMessages, "quota messages"),
      domain,
      user,
    );
  }

  /** Case-insensitive lookup. */
  findMailbox(domain: string, user: string): Mailbox | undefined {
    this.#checkSecretColumn();
    const row = this.#statement(
      `SELECT ${this.#mailboxColumns} FROM mailboxes WHERE domain = ? AND user = ?`,
    ).get(domain.toLowerCase(), user.toLowerCase()) as MailboxRow | undefined;
    return row ? this.#mailbox(row) : undefined;
  }

  listMailboxes(domain?: string): Mailbox[] {
    this.#checkSecretColumn();
    const rows = (domain === undefined
      ? this.#statement(
        `SELECT ${this.#mailboxColumns} FROM mailboxes ORDER BY domain, user`,
      ).all()
      : this.#statement(
        `SELECT ${this.#mailboxColumns} FROM mailboxes WHERE domain = ? ORDER BY user`,
      ).all(domain.toLowerCase())) as unknown as MailboxRow[];
    return rows.map((row) => this.#mailbox(row));
  }

  /**
   * The stored secrets of a mailbox for AUTH (case-insensitive), or undefined
   * for an unknown or invalid address. Callers compare in constant time.
   */
  findSecrets(address: string): MailboxSecrets | undefined {
    let parsed: { user: string; domain: string };
    try {
      parsed = parseMailboxAddress(address);
    } catch (error) {
      if (error instanceof AccountError) return undefined;
      throw error;
    }
    this.#checkSecretColumn();
    const row = this.#statement(
      "SELECT password, " + (this.#secretColumn ? "challenge_secret" : "NULL") +
        " AS challenge_secret FROM mailboxes WHERE domain = ? AND user = ?",
    ).get(parsed.domain, parsed.user) as
      | { password: string; challenge_secret: string | null }
      | undefined;
    if (row === undefined) return undefined;
    return {
      address: `${parsed.user}@${parsed.domain}`,
      scryptHash: row.password,
      challengeSecret: row.challenge_secret ?? undefined,
    };
  }

  /** Whether any mailbox has a challenge secret (CRAM-*, DIGEST-MD5 and APOP can succeed for it). */
  hasChallengeSecrets(): boolean {
    this.#checkSecretColumn();
    if (!this.#secretColumn) return false;
    return this.#statement(
      "SELECT 1 AS found FROM mailboxes WHERE challenge_secret IS NOT NULL LIMIT 1",
    ).get() !== undefined;
  }

  /**
   * Checks a password against the stored scrypt hash in constant time. An
   * unknown or invalid address costs the same hashing work and gives false.
   */
  async verifyPassword(address: string, password: string): Promise<boolean> {
    return await verifyPasswordHash(this.findSecrets(address)?.scryptHash, password);
  }

  #mailbox(row: MailboxRow): Mailbox {
    return {
      address: `${row.user}@${row.domain}`,
      domain: row.domain,
      user: row.user,
      maildir: `${this.#mail}/${row.domain}/${row.user}/Maildir`,
      quotaBytes: Number(row.quota_bytes),
      quotaMessages: Number(row.quota_messages),
      challengeAuth: Number(row.challenge_auth) !== 0,
    };
  }
}

/**
 * Creates the database file empty with mode 0600 when it does not exist: it
 * holds password hashes. (SQLite gives its -wal and -shm files the same mode.)
 */
function createPrivateFile(path: string): void {
  try {
    Deno.writeFileSync(path, new Uint8Array(0), { createNew: true, mode: 0o600 });
    Deno.chmodSync(path, 0o600);
  } catch (error) {
    if (!(error instanceof Deno.errors.AlreadyExists)) throw error;
  }
}

function migrate(db: DatabaseSync, path: string): void {
  db.exec("BEGIN IMMEDIATE");
  try {
    db.exec(SCHEMA);
    const row = db.prepare("SELECT max(version) AS version FROM schema_version").get() as {
      version: number | null;
    };
    const version = row.version === null ? null : Number(row.version);
    if (version !== null && version > SCHEMA_VERSION) {
      throw new Error(
        `${path} has schema version ${version}; this qmd understands up to ${SCHEMA_VERSION}`,
      );
    }
    // 1 → 2: the nullable challenge secret; existing mailboxes keep scrypt only.
    if (!hasColumn(db, "mailboxes", "challenge_secret")) {
      db.exec("ALTER TABLE mailboxes ADD COLUMN challenge_secret TEXT");
    }
    if (version !== SCHEMA_VERSION) {
      db.exec("DELETE FROM schema_version");
      db.prepare("INSERT INTO schema_version (version) VALUES (?)").run(SCHEMA_VERSION);
    }
    db.exec("COMMIT");
  } catch (error) {
    db.exec("ROLLBACK");
    throw error;
  }
}

function mailboxColumns(secretColumn: boolean): string {
  return "domain, user, quota_bytes, quota_messages, " +
    (secretColumn ? "challenge_secret IS NOT NULL" : "0") + " AS challenge_auth";
}

function hasColumn(db: DatabaseSync, table: string, column: string): boolean {
  const rows = db.prepare(`PRAGMA table_info(${table})`).all() as { name: string }[];
  return rows.some((row) => row.name === column);
}

function checkVersion(db: DatabaseSync, path: string): void {
  const row = db.prepare("SELECT max(version) AS version FROM schema_version").get() as {
    version: number | null;
  };
  if (row.version !== null && Number(row.version) > SCHEMA_VERSION) {
    throw new Error(
      `${path} has schema version ${row.version}; this qmd understands up to ${SCHEMA_VERSION}`,
    );
  }
}

/** Throws AccountError("invalid") for a password or quota that addMailbox would refuse. */
export function validateMailboxInput(password: string, options: MailboxOptions = {}): void {
  checkPassword(password);
  checkQuota(options.quotaBytes, "quota bytes");
  checkQuota(options.quotaMessages, "quota messages");
}

function checkPassword(password: string): void {
  if (password.length === 0) throw new AccountError("Empty password", "invalid");
  if (password.length > MAX_PASSWORD_LENGTH) {
    throw new AccountError(`Password longer than ${MAX_PASSWORD_LENGTH} characters`, "invalid");
  }
  if (/[\0\r\n]/.test(password)) {
    throw new AccountError("Password may not contain NUL, CR or LF", "invalid");
  }
}

function checkQuota(value: number | undefined, what: string): number {
  if (value === undefined) return 0;
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new AccountError(`Invalid ${what}: ${value} (a whole number >= 0)`, "invalid");
  }
  return value;
}

/** A new scrypt hash string `scrypt$N$r$p$SALT$HASH` for a password. */
export function hashPassword(password: string): string {
  const salt = randomBytes(SALT_LENGTH);
  const hash = scryptSync(password.normalize("NFC"), salt, KEY_LENGTH, {
    N: SCRYPT_N,
    r: SCRYPT_R,
    p: SCRYPT_P,
    maxmem: 256 * SCRYPT_N * SCRYPT_R,
  });
  return `scrypt$${SCRYPT_N}$${SCRYPT_R}$${SCRYPT_P}$${salt.toString("base64")}$${
    hash.toString("base64")
  }`;
}

/**
 * Whether `password` matches a hash string made by hashPassword. An absent or
 * malformed hash does the same work as a real one and returns false.
 */
export async function verifyPasswordHash(
  stored: string | undefined,
  password: string,
): Promise<boolean> {
  const parsed = stored === undefined ? undefined : parseHash(stored);
  const params = parsed ?? {
    n: SCRYPT_N,
    r: SCRYPT_R,
    p: SCRYPT_P,
    salt: new Uint8Array(SALT_LENGTH),
    hash: new Uint8Array(KEY_LENGTH),
  };
  const derived = await new Promise<Uint8Array>((resolve, reject) => {
    scrypt(
      password.normalize("NFC"),
      params.salt,
      params.hash.length,
      { N: params.n, r: params.r, p: params.p, maxmem: 256 * params.n * params.r },
      (error, key) => error ? reject(error) : resolve(key),
    );
  });
  return timingSafeEqual(derived, params.hash) && parsed !== undefined;
}

function parseHash(
  stored: string,
): { n: number; r: number; p: number; salt: Uint8Array; hash: Uint8Array } | undefined {
  const parts = stored.split("$");
  if (parts.length !== 6 || parts[0] !== "scrypt") return undefined;
  const [n, r, p] = parts.slice(1, 4).map((text) => /^\d+$/.test(text) ? Number(text) : NaN);
  if (!(n >= 2 && n <= MAX_N && (n & (n - 1)) === 0)) return undefined;
  if (!(r >= 1 && r <= MAX_R && p >= 1 && p <= MAX_P)) return undefined;
  let salt: Uint8Array;
  let hash: Uint8Array;
  try {
    salt = Uint8Array.from(atob(parts[4]), (c) => c.charCodeAt(0));
    hash = Uint8Array.from(atob(parts[5]), (c) => c.charCodeAt(0));
  } catch {
    return undefined;
  }
  if (hash.length < 16 || hash.length > 64) return undefined;
  return { n, r, p, salt, hash };
}
