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
 */
import { DatabaseSync } from "node:sqlite";
import { randomBytes, scrypt, scryptSync, timingSafeEqual } from "node:crypto";
import { homePaths } from "../../config/home.ts";
import { AccountError, parseDomain, parseMailboxAddress } from "./address.ts";

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
}

export interface MailboxOptions {
  quotaBytes?: number;
  quotaMessages?: number;
}

/** The schema this code writes. Opening a newer database is refused. */
export const SCHEMA_VERSION = 1;

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
}

export class AccountStore {
  readonly #db: DatabaseSync;
  readonly #home: string;
  readonly #mail: string;
  #depth = 0;

  private constructor(db: DatabaseSync, home: string) {
    this.#db = db;
    this.#home = home;
    this.#mail = homePaths(home).mail;
  }

  /**
   * Opens (and, unless read-only, creates or upgrades) HOME/accounts.sqlite.
   * Read-only opening of a home without a database throws.
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
    try {
      db.exec("PRAGMA busy_timeout = 5000");
      if (!readOnly) {
        db.exec("PRAGMA journal_mode = WAL");
        db.exec("PRAGMA foreign_keys = ON");
        migrate(db, path);
      } else {
        checkVersion(db, path);
      }
    } catch (error) {
      db.close();
      throw error;
    }
    return new AccountStore(db, home);
  }

  /** The home this store belongs to. */
  get home(): string {
    return this.#home;
  }

  close(): void {
    this.#db.close();
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
    this.#db.prepare("INSERT INTO domains (name, created) VALUES (?, ?)").run(name, Date.now());
  }

  /** Deletes a domain that has no mailboxes left (delete them first). */
  deleteDomain(domain: string): void {
    const name = parseDomain(domain);
    if (!this.hasDomain(name)) throw new AccountError(`No such domain ${name}`, "missing");
    const count = this.#db.prepare("SELECT count(*) AS n FROM mailboxes WHERE domain = ?")
      .get(name) as { n: number };
    if (count.n > 0) {
      throw new AccountError(
        `Domain ${name} still has ${count.n} mailbox${count.n === 1 ? "" : "es"}`,
        "not-empty",
      );
    }
    this.#db.prepare("DELETE FROM domains WHERE name = ?").run(name);
  }

  listDomains(): string[] {
    const rows = this.#db.prepare("SELECT name FROM domains ORDER BY name").all() as {
      name: string;
    }[];
    return rows.map((row) => row.name);
  }

  hasDomain(domain: string): boolean {
    const row = this.#db.prepare("SELECT 1 AS found FROM domains WHERE name = ?")
      .get(domain.toLowerCase());
    return row !== undefined;
  }

  /** Adds a mailbox to an existing domain. Does not create the Maildir on disk. */
  addMailbox(address: string, password: string, options: MailboxOptions = {}): Mailbox {
    const { user, domain } = parseMailboxAddress(address);
    checkPassword(password);
    const quotaBytes = checkQuota(options.quotaBytes, "quota bytes");
    const quotaMessages = checkQuota(options.quotaMessages, "quota messages");
    if (!this.hasDomain(domain)) throw new AccountError(`No such domain ${domain}`, "missing");
    if (this.findMailbox(domain, user)) {
      throw new AccountError(`Mailbox ${user}@${domain} already exists`, "exists");
    }
    this.#db.prepare(
      "INSERT INTO mailboxes (domain, user, password, quota_bytes, quota_messages, created) " +
        "VALUES (?, ?, ?, ?, ?, ?)",
    ).run(domain, user, hashPassword(password), quotaBytes, quotaMessages, Date.now());
    return this.#mailbox({ domain, user, quota_bytes: quotaBytes, quota_messages: quotaMessages });
  }

  /** Removes the mailbox row. Mail on disk is never touched. */
  deleteMailbox(address: string): void {
    const { user, domain } = parseMailboxAddress(address);
    const result = this.#db.prepare("DELETE FROM mailboxes WHERE domain = ? AND user = ?")
      .run(domain, user);
    if (Number(result.changes) === 0) {
      throw new AccountError(`No such mailbox ${user}@${domain}`, "missing");
    }
  }

  setPassword(address: string, password: string): void {
    const { user, domain } = parseMailboxAddress(address);
    checkPassword(password);
    const result = this.#db.prepare(
      "UPDATE mailboxes SET password = ? WHERE domain = ? AND user = ?",
    ).run(hashPassword(password), domain, user);
    if (Number(result.changes) === 0) {
      throw new AccountError(`No such mailbox ${user}@${domain}`, "missing");
    }
  }

  /** Sets a mailbox's quotas (0 = none). */
  setQuota(address: string, options: MailboxOptions): void {
    const { user, domain } = parseMailboxAddress(address);
    const current = this.findMailbox(domain, user);
    if (!current) throw new AccountError(`No such mailbox ${user}@${domain}`, "missing");
    this.#db.prepare(
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
    const row = this.#db.prepare(
      "SELECT domain, user, quota_bytes, quota_messages FROM mailboxes " +
        "WHERE domain = ? AND user = ?",
    ).get(domain.toLowerCase(), user.toLowerCase()) as MailboxRow | undefined;
    return row ? this.#mailbox(row) : undefined;
  }

  listMailboxes(domain?: string): Mailbox[] {
    const rows = (domain === undefined
      ? this.#db.prepare(
        "SELECT domain, user, quota_bytes, quota_messages FROM mailboxes ORDER BY domain, user",
      ).all()
      : this.#db.prepare(
        "SELECT domain, user, quota_bytes, quota_messages FROM mailboxes " +
          "WHERE domain = ? ORDER BY user",
      ).all(domain.toLowerCase())) as unknown as MailboxRow[];
    return rows.map((row) => this.#mailbox(row));
  }

  /**
   * Checks a password against the stored scrypt hash in constant time. An
   * unknown or invalid address costs the same hashing work and gives false.
   */
  async verifyPassword(address: string, password: string): Promise<boolean> {
    let stored: string | undefined;
    try {
      const { user, domain } = parseMailboxAddress(address);
      const row = this.#db.prepare(
        "SELECT password FROM mailboxes WHERE domain = ? AND user = ?",
      ).get(domain, user) as { password: string } | undefined;
      stored = row?.password;
    } catch (error) {
      if (!(error instanceof AccountError)) throw error;
    }
    return await verifyPasswordHash(stored, password);
  }

  #mailbox(row: MailboxRow): Mailbox {
    return {
      address: `${row.user}@${row.domain}`,
      domain: row.domain,
      user: row.user,
      maildir: `${this.#mail}/${row.domain}/${row.user}/Maildir`,
      quotaBytes: Number(row.quota_bytes),
      quotaMessages: Number(row.quota_messages),
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
    if (row.version === null) {
      db.prepare("INSERT INTO schema_version (version) VALUES (?)").run(SCHEMA_VERSION);
    } else if (Number(row.version) > SCHEMA_VERSION) {
      throw new Error(
        `${path} has schema version ${row.version}; this qmd understands up to ${SCHEMA_VERSION}`,
      );
    }
    db.exec("COMMIT");
  } catch (error) {
    db.exec("ROLLBACK");
    throw error;
  }
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
