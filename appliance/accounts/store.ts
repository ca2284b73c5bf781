/**
 * Virtual domains and mailboxes in SQLite (node:sqlite) at HOME/accounts.sqlite
 * (account_database.ts opens it and keeps its schema).
 *
 * Names are stored in lower case, so lookups are case-insensitive. Passwords
 * are stored only as scrypt hashes (password_hash.ts). A mailbox's Maildir is
 * derived, never stored: HOME/mail/DOMAIN/USER/Maildir.
 *
 * Challenge mechanisms (CRAM-MD5, CRAM-SHA1, CRAM-RIPEMD, DIGEST-MD5) need a
 * password equivalent on the server: the HMAC or digest is computed from the
 * password itself, which a scrypt hash cannot give back. So a mailbox with
 * challenge auth enabled also stores its password as given, in the
 * `challenge_secret` column (schema version 2); for every other mailbox that
 * column is NULL and only the scrypt hash exists. The file is mode 0600.
 */
import type { DatabaseSync, StatementSync } from "node:sqlite";
import { homePaths } from "../../config/home.ts";
import { openAccountDatabase } from "./account_database.ts";
import { AccountError, parseDomain, parseMailboxAddress } from "./account_names.ts";
import {
  checkPassword,
  checkQuota,
  type Mailbox,
  type MailboxOptions,
  type MailboxSecrets,
} from "./mailbox.ts";
import { hashPassword, verifyPasswordHash } from "./password_hash.ts";

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
    const { db, secretColumn } = openAccountDatabase(
      homePaths(home).accounts,
      options.readonly ?? false,
    );
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
    checkPassword(password);
    const secret = options.challengeAuth ? password : null;
    return this.#insertMailbox(address, () => hashPassword(password), secret, options);
  }

  /**
   * Adds a mailbox with a password hash made elsewhere (an adopted vpopmail
   * mailbox's crypt hash), kept as it is. A hash that is not qmd's scrypt
   * string never verifies (password_hash.ts): the mailbox receives mail but
   * cannot log in until `qmd user passwd` gives it a password.
   */
  addMailboxWithHash(address: string, storedHash: string, options: MailboxOptions = {}): Mailbox {
    if (/[\0\r\n]/.test(storedHash)) {
      throw new AccountError("Password hash may not contain NUL, CR or LF", "invalid");
    }
    return this.#insertMailbox(address, () => storedHash, null, {
      ...options,
      challengeAuth: false,
    });
  }

  #insertMailbox(
    address: string,
    passwordHash: () => string,
    secret: string | null,
    options: MailboxOptions,
  ): Mailbox {
    const { user, domain } = parseMailboxAddress(address);
    const quotaBytes = checkQuota(options.quotaBytes, "quota bytes");
    const quotaMessages = checkQuota(options.quotaMessages, "quota messages");
    if (!this.hasDomain(domain)) throw new AccountError(`No such domain ${domain}`, "missing");
    if (this.findMailbox(domain, user)) {
      throw new AccountError(`Mailbox ${user}@${domain} already exists`, "exists");
    }
    this.#statement(
      "INSERT INTO mailboxes " +
        "(domain, user, password, quota_bytes, quota_messages, created, challenge_secret) " +
        "VALUES (?, ?, ?, ?, ?, ?, ?)",
    ).run(domain, user, passwordHash(), quotaBytes, quotaMessages, Date.now(), secret);
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

  /**
   * Renames a mailbox's row, keeping its password, secret and quotas. The new
   * address's domain must exist and the new address must not. The Maildir
   * follows the name (it is derived): provision.ts moves it in the same
   * transaction.
   */
  renameMailbox(from: string, to: string): Mailbox {
    const old = parseMailboxAddress(from);
    const next = parseMailboxAddress(to);
    if (!this.findMailbox(old.domain, old.user)) {
      throw new AccountError(`No such mailbox ${old.user}@${old.domain}`, "missing");
    }
    if (!this.hasDomain(next.domain)) {
      throw new AccountError(`No such domain ${next.domain}`, "missing");
    }
    if (this.findMailbox(next.domain, next.user)) {
      throw new AccountError(`Mailbox ${next.user}@${next.domain} already exists`, "exists");
    }
    this.#statement("UPDATE mailboxes SET domain = ?, user = ? WHERE domain = ? AND user = ?")
      .run(next.domain, next.user, old.domain, old.user);
    return this.findMailbox(next.domain, next.user)!;
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

function mailboxColumns(secretColumn: boolean): string {
  return "domain, user, quota_bytes, quota_messages, " +
    (secretColumn ? "challenge_secret IS NOT NULL" : "0") + " AS challenge_auth";
}
