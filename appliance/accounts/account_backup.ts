/**
 * The accounts database in a backup: an online copy through SQLite's backup
 * API (node:sqlite `backup()`), consistent while a running qmd reads and
 * writes it in WAL mode, and its return into a home. The copy is switched to
 * rollback-journal mode so it is one self-contained file; opening it for
 * writing in the home (account_database.ts) turns WAL on again.
 */
import { backup, DatabaseSync } from "node:sqlite";
import { homePaths } from "../../config/home.ts";
import { removeIfPresentSync } from "../durable_file.ts";
import { openAccountDatabase } from "./account_database.ts";

/** What a copied database holds, for the backup's manifest. */
export interface AccountCounts {
  domains: number;
  mailboxes: number;
}

/** Copies HOME/accounts.sqlite to `destination` (which must not exist) while qmd may be running. */
export async function backupAccountDatabase(
  home: string,
  destination: string,
): Promise<AccountCounts> {
  const { db } = openAccountDatabase(homePaths(home).accounts, true);
  try {
    await backup(db, destination);
  } finally {
    db.close();
  }
  const copy = new DatabaseSync(destination);
  try {
    copy.exec("PRAGMA journal_mode = DELETE");
    const count = (table: string) =>
      Number((copy.prepare(`SELECT count(*) AS n FROM ${table}`).get() as { n: number }).n);
    return { domains: count("domains"), mailboxes: count("mailboxes") };
  } finally {
    copy.close();
  }
}

/**
 * Puts the database file `source` in place as HOME/accounts.sqlite (qmd
 * must not be running): the old -wal and -shm go first, since SQLite would
 * otherwise replay the old database's log into the new file; the copy is
 * renamed into place, then opened once for writing (schema check, WAL on,
 * the home's owner).
 */
export function restoreAccountDatabase(source: string, home: string): void {
  const path = homePaths(home).accounts;
  const temporary = `${path}.restore.${Deno.pid}`;
  Deno.copyFileSync(source, temporary);
  try {
    Deno.chmodSync(temporary, 0o600);
    removeIfPresentSync(`${path}-wal`);
    removeIfPresentSync(`${path}-shm`);
    Deno.renameSync(temporary, path);
  } catch (error) {
    removeIfPresentSync(temporary);
    throw error;
  }
  openAccountDatabase(path, false).db.close();
}
