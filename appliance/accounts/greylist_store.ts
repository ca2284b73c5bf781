/**
 * Greylisting triplets in the accounts database (table greylist, schema
 * version 3: account_database.ts). The auth role owns it and answers the
 * smtpd isolates' `greylist` lookups through the supervisor, so every
 * isolate sees the same triplets and they survive a restart.
 *
 * One try is one write transaction: read the triplet, apply the pure rule
 * (filters/greylist.ts greylistStep), write it back. Triplets not seen for
 * their lifetime are deleted now and then, so the table holds only live ones.
 */
import type { DatabaseSync, StatementSync } from "node:sqlite";
import { homePaths } from "../../config/home.ts";
import { openAccountDatabase } from "./account_database.ts";
import { type GreylistRecord, greylistStep } from "../filters/greylist.ts";
import type { Lookup, LookupAnswer } from "../filters/filter.ts";

/** Tries between two sweeps of expired triplets. */
const SWEEP_EVERY = 1000;

interface GreylistRow {
  first_seen: number;
  last_seen: number;
  passed: number;
}

export interface GreylistTry {
  /** The client's network (filters/greylist.ts greylistNetwork). */
  ip: string;
  sender: string;
  recipient: string;
  /** Unix seconds. */
  now: number;
  delaySeconds: number;
  lifetimeSeconds: number;
}

export class GreylistStore {
  readonly #db: DatabaseSync;
  readonly #select: StatementSync;
  readonly #upsert: StatementSync;
  readonly #sweep: StatementSync;
  #tries = 0;

  private constructor(db: DatabaseSync) {
    this.#db = db;
    this.#select = db.prepare(
      "SELECT first_seen, last_seen, passed FROM greylist WHERE network = ? AND sender = ? AND recipient = ?",
    );
    this.#upsert = db.prepare(
      `INSERT INTO greylist (network, sender, recipient, first_seen, last_seen, passed)
       VALUES (?, ?, ?, ?, ?, ?)
       ON CONFLICT (network, sender, recipient)
       DO UPDATE SET first_seen = excluded.first_seen, last_seen = excluded.last_seen,
         passed = excluded.passed`,
    );
    this.#sweep = db.prepare("DELETE FROM greylist WHERE last_seen < ?");
  }

  /** Opens HOME/accounts.sqlite for writing, creating or upgrading it (schema 3). */
  static open(home: string): GreylistStore {
    const { db } = openAccountDatabase(homePaths(home).accounts, false);
    try {
      return new GreylistStore(db);
    } catch (error) {
      db.close();
      throw error;
    }
  }

  /** Records one try of a triplet and says where it stands now. */
  step(attempt: GreylistTry): GreylistRecord {
    const { ip, sender, recipient, now, delaySeconds, lifetimeSeconds } = attempt;
    this.#db.exec("BEGIN IMMEDIATE");
    try {
      const row = this.#select.get(ip, sender, recipient) as GreylistRow | undefined;
      const existing = row === undefined ? undefined : {
        firstSeen: Number(row.first_seen),
        lastSeen: Number(row.last_seen),
        passed: Number(row.passed) !== 0,
      };
      const next = greylistStep(existing, now, delaySeconds, lifetimeSeconds);
      this.#upsert.run(ip, sender, recipient, next.firstSeen, next.lastSeen, next.passed ? 1 : 0);
      if (++this.#tries % SWEEP_EVERY === 0) this.#sweep.run(now - lifetimeSeconds);
      this.#db.exec("COMMIT");
      return next;
    } catch (error) {
      this.#db.exec("ROLLBACK");
      throw error;
    }
  }

  /** How many triplets are kept (tests, `qmd rules`). */
  count(): number {
    const row = this.#db.prepare("SELECT count(*) AS n FROM greylist").get() as { n: number };
    return Number(row.n);
  }

  close(): void {
    this.#db.close();
  }
}

/**
 * The answer to a `greylist` lookup at its own time, else `now` (Unix seconds): the try is
 * recorded, and the triplet's first try and whether it has passed come back.
 * Without a delay or lifetime in the lookup, a triplet passes at once and is
 * never forgotten.
 */
export function answerGreylistLookup(
  store: GreylistStore,
  lookup: Extract<Lookup, { kind: "greylist" }>,
  now: number,
): LookupAnswer {
  const record = store.step({
    ip: lookup.ip,
    sender: lookup.sender,
    recipient: lookup.recipient,
    now: lookup.now ?? now,
    delaySeconds: lookup.delaySeconds ?? 0,
    lifetimeSeconds: lookup.lifetimeSeconds ?? Number.MAX_SAFE_INTEGER,
  });
  return { kind: "greylist", firstSeen: record.firstSeen, passed: record.passed };
}
