/**
 * The accounts database file HOME/accounts.sqlite (node:sqlite) and its
 * schema: created empty with mode 0600 (it holds password hashes), run in
 * WAL mode with a busy timeout so the admin CLI and a running `qmd start`
 * can use it at the same time, and migrated to SCHEMA_VERSION when opened
 * for writing.
 */
import { DatabaseSync } from "node:sqlite";
import { dirname } from "../durable_file.ts";
import { giveToHomeOwner } from "../home_owner.ts";

/**
 * The schema this code writes. Opening a newer database is refused.
 * 1: domains, mailboxes. 2: mailboxes.challenge_secret (nullable).
 * 3: greylist (greylisting triplets, accounts/greylist_store.ts).
 */
export const SCHEMA_VERSION = 3;

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
CREATE TABLE IF NOT EXISTS greylist (
  network TEXT NOT NULL,
  sender TEXT NOT NULL,
  recipient TEXT NOT NULL,
  first_seen INTEGER NOT NULL,
  last_seen INTEGER NOT NULL,
  passed INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (network, sender, recipient)
);
CREATE INDEX IF NOT EXISTS greylist_last_seen ON greylist (last_seen);
`;

/**
 * Opens (and, unless read-only, creates or upgrades) the database at
 * `path`. Read-only opening of a missing file throws. `secretColumn` says
 * whether mailboxes.challenge_secret exists: a version 1 database opened
 * read-only is read as it is.
 */
export function openAccountDatabase(
  path: string,
  readOnly: boolean,
): { db: DatabaseSync; secretColumn: boolean } {
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
      // The database, its -wal and -shm belong to the home's owner (home_owner.ts).
      giveToHomeOwner(dirname(path), [path, `${path}-wal`, `${path}-shm`]);
    } else {
      checkVersion(db, path);
    }
    secretColumn = hasColumn(db, "mailboxes", "challenge_secret");
  } catch (error) {
    db.close();
    throw error;
  }
  return { db, secretColumn };
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
    // 2 → 3: the greylist table, created above by CREATE TABLE IF NOT EXISTS.
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
