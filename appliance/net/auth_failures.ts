/**
 * Failed logins (SMTP AUTH and POP3) per client IP and per user name at an
 * IP, in one SharedArrayBuffer shared by every smtpd and pop3d isolate and
 * the supervisor, the way the connection limits are (connection_limits.ts).
 *
 * A login first reserves a place under each limit (reserve), then the
 * credentials are verified, then the outcome is settled (settle). A
 * reservation counts as a failure until it is settled, so however many
 * sessions answer wrongly at the same moment, no more verifications run
 * than the limit leaves room for; the others wait for a place, or are
 * refused once the limit is reached.
 *
 * Layout (32-bit words): a header (the lock word, the hash seed) and
 * ENTRIES entries of ENTRY_WORDS words, each holding its key (kind, hash,
 * length and up to KEY_BYTES bytes of UTF-8: the IP, or "IP NAME"), the
 * failure count, reservations in flight, the times of the last failure and
 * the last reservation, and the end of its block. A key lives in one of
 * PROBE entries after its hash; when they are all taken the oldest entry
 * that is neither blocked nor in flight gives way, so a spray of names can
 * neither grow the table nor push a block out. Every change happens under
 * the lock word (Atomics); a lock held past LOCK_STEAL_MS belonged to an
 * isolate that died inside its few microseconds of work and is taken over.
 */
import { normaliseLoginName } from "../auth/login_name.ts";
import type { AuthFailurePolicy } from "../../config/auth_limits.ts";

/** The limits in force (config/auth_limits.ts); a limit of 0 is off. */
export type AuthFailureLimits = Pick<AuthFailurePolicy, "ipLimit" | "accountLimit" | "lockSeconds">;

/** One IP's or one IP-and-name's record, as the table shows it. */
export interface FailureEntry {
  kind: "ip" | "account";
  ip: string;
  /** The user name (kind account), cut to the bytes the table keeps. */
  account?: string;
  failures: number;
  /** Unix seconds of the last failure. */
  lastFailure: number;
  /** Unix seconds the block ends; 0 = not blocked. */
  blockedUntil: number;
}

/** What the client is asking to log in as, from where. */
export interface LoginAttempt {
  ip: string;
  /** The user name as given; empty when the client gave none. */
  account: string;
}

export type Reservation =
  /** Verify, then settle(). */
  | { kind: "reserved" }
  /** The IP or this name at this IP is blocked: refuse without verifying. */
  | { kind: "blocked"; entry: FailureEntry }
  /** Logins in flight fill what the limit allows: try again shortly. */
  | { kind: "busy" };

export interface Settlement {
  /** Recent failures of the IP or the name at the IP (the larger), this one included; 0 after a success. */
  failures: number;
  /** Blocks this failure started. */
  blocked: FailureEntry[];
}

const ENTRIES = 4096;
const ENTRY_WORDS = 32;
const HEADER_WORDS = 16;
const PROBE = 32;
const KEY_BYTES = (ENTRY_WORDS - 8) * 4;
const BUFFER_BYTES = (HEADER_WORDS + ENTRIES * ENTRY_WORDS) * 4;
const MAX_FAILURES = 0xffff;

// Header words.
const LOCK = 0;
const SEED = 1;
// Entry fields.
const KIND = 0;
const HASH = 1;
const LENGTH = 2;
const FAILURES = 3;
const PENDING = 4;
const LAST_FAILURE = 5;
const BLOCKED_UNTIL = 6;
const LAST_RESERVED = 7;
const KEY = 8;

const KIND_IP = 1;
const KIND_ACCOUNT = 2;

/** A lock held this long belongs to an isolate that died holding it. */
const LOCK_STEAL_MS = 2000;
/**
 * Reservations older than this are forgotten: their isolate died between
 * reserve and settle. Longer than any verification (checkpassword's 60 s).
 */
const PENDING_TIMEOUT_SECONDS = 300;

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** An IPv4-mapped address counts as the IPv4 address; IPv6 in lower case. */
export function normaliseIp(ip: string): string {
  return ip.replace(/^::ffff:(?=\d+\.\d+\.\d+\.\d+$)/i, "").toLowerCase();
}

interface Key {
  kind: number;
  bytes: Uint8Array;
  hash: number;
  limit: number;
}

export class AuthFailures {
  readonly #words: Uint32Array;
  readonly #lockWord: Int32Array;
  #token = 0;

  constructor(buffer: SharedArrayBuffer) {
    if (buffer.byteLength !== BUFFER_BYTES) {
      throw new RangeError(
        `An AUTH failure buffer has ${BUFFER_BYTES} bytes, not ${buffer.byteLength}`,
      );
    }
    this.#words = new Uint32Array(buffer);
    this.#lockWord = new Int32Array(buffer, 0, HEADER_WORDS);
  }

  /** An empty table (about 512 KiB) with a random hash seed, for every smtpd and pop3d isolate. */
  static createBuffer(): SharedArrayBuffer {
    const buffer = new SharedArrayBuffer(BUFFER_BYTES);
    crypto.getRandomValues(new Uint32Array(buffer, SEED * 4, 1));
    return buffer;
  }

  /** Reserves a place under each limit for a login about to be verified. */
  reserve(attempt: LoginAttempt, now: number, limits: AuthFailureLimits): Reservation {
    const keys = this.#keys(attempt, limits);
    if (keys.length === 0) return { kind: "reserved" };
    return this.#locked(() => {
      for (const key of keys) {
        const base = this.#find(key);
        if (base < 0) continue;
        this.#refresh(base, now, limits.lockSeconds);
        const words = this.#words;
        if (words[base + FAILURES] >= key.limit) {
          words[base + BLOCKED_UNTIL] = Math.max(
            words[base + BLOCKED_UNTIL],
            words[base + LAST_FAILURE] + limits.lockSeconds,
          );
        }
        if (words[base + BLOCKED_UNTIL] > now) return { kind: "blocked", entry: this.#entry(base) };
      }
      for (const key of keys) {
        const base = this.#find(key);
        if (base >= 0 && this.#words[base + FAILURES] + this.#words[base + PENDING] >= key.limit) {
          return { kind: "busy" };
        }
      }
      const taken: number[] = [];
      for (const key of keys) {
        const found = this.#find(key);
        const base = found >= 0 ? found : this.#insert(key, now);
        if (base < 0) {
          for (const held of taken) this.#words[held + PENDING]--;
          return { kind: "busy" };
        }
        this.#words[base + PENDING]++;
        this.#words[base + LAST_RESERVED] = now;
        taken.push(base);
      }
      return { kind: "reserved" };
    });
  }

  /**
   * Ends a reservation: a failure counts against the IP and the name at the
   * IP and may start a block; a success clears the name's count at that IP
   * (the IP's count stays, so one good account cannot reset a guesser).
   */
  settle(
    attempt: LoginAttempt,
    failed: boolean,
    now: number,
    limits: AuthFailureLimits,
  ): Settlement {
    const keys = this.#keys(attempt, limits);
    if (keys.length === 0) return { failures: failed ? 1 : 0, blocked: [] };
    return this.#locked(() => {
      const words = this.#words;
      const blocked: FailureEntry[] = [];
      let failures = 0;
      for (const key of keys) {
        let base = this.#find(key);
        if (base < 0 && failed) base = this.#insert(key, now);
        if (base < 0) continue;
        if (words[base + PENDING] > 0) words[base + PENDING]--;
        if (failed) {
          this.#refresh(base, now, limits.lockSeconds);
          words[base + FAILURES] = Math.min(MAX_FAILURES, words[base + FAILURES] + 1);
          words[base + LAST_FAILURE] = Math.max(words[base + LAST_FAILURE], now);
          if (words[base + FAILURES] >= key.limit) {
            const wasBlocked = words[base + BLOCKED_UNTIL] > now;
            words[base + BLOCKED_UNTIL] = Math.max(
              words[base + BLOCKED_UNTIL],
              words[base + LAST_FAILURE] + limits.lockSeconds,
            );
            if (!wasBlocked) blocked.push(this.#entry(base));
          }
          failures = Math.max(failures, words[base + FAILURES]);
        } else if (key.kind === KIND_ACCOUNT) {
          words[base + FAILURES] = 0;
          words[base + BLOCKED_UNTIL] = 0;
        }
        this.#dropIfIdle(base, now);
      }
      return { failures: failed ? Math.max(1, failures) : 0, blocked };
    });
  }

  /**
   * Removes every record of an IP (its own and those of names at it), or of a
   * user name at every IP; returns what was removed.
   */
  unblock(target: { ip: string } | { account: string }): FailureEntry[] {
    const ip = "ip" in target ? normaliseIp(target.ip) : undefined;
    const account = "account" in target ? normaliseLoginName(target.account) : undefined;
    return this.#locked(() => {
      const removed: FailureEntry[] = [];
      for (let index = 0; index < ENTRIES; index++) {
        const base = HEADER_WORDS + index * ENTRY_WORDS;
        if (this.#words[base + KIND] === 0) continue;
        const entry = this.#entry(base);
        const matches = ip !== undefined ? entry.ip === ip : entry.account === account;
        if (!matches) continue;
        if (entry.failures > 0 || entry.blockedUntil > 0) removed.push(entry);
        this.#words.fill(0, base, base + ENTRY_WORDS);
      }
      return removed.sort(byBlockThenRecency);
    });
  }

  /** Every record with failures or a block, blocks first, then the most recent. */
  entries(): FailureEntry[] {
    const found = this.#locked(() => {
      const list: FailureEntry[] = [];
      for (let index = 0; index < ENTRIES; index++) {
        const base = HEADER_WORDS + index * ENTRY_WORDS;
        if (this.#words[base + KIND] === 0) continue;
        const entry = this.#entry(base);
        if (entry.failures > 0 || entry.blockedUntil > 0) list.push(entry);
      }
      return list;
    });
    return found.sort(byBlockThenRecency);
  }

  /** The keys a login counts under: the IP, and the name at the IP; only the limits that are on. */
  #keys(attempt: LoginAttempt, limits: AuthFailureLimits): Key[] {
    const ip = normaliseIp(attempt.ip);
    const keys: Key[] = [];
    if (limits.ipLimit > 0) keys.push(this.#key(KIND_IP, ip, limits.ipLimit));
    if (limits.accountLimit > 0 && attempt.account !== "") {
      const name = normaliseLoginName(attempt.account);
      keys.push(this.#key(KIND_ACCOUNT, `${ip} ${name}`, limits.accountLimit));
    }
    return keys;
  }

  #key(kind: number, text: string, limit: number): Key {
    const bytes = encoder.encode(text);
    // FNV-1a, seeded per table so that nobody can aim names at one neighbourhood.
    let hash = (this.#words[SEED] ^ 0x811c9dc5 ^ kind) >>> 0;
    for (const byte of bytes) hash = Math.imul(hash ^ byte, 0x01000193) >>> 0;
    return { kind, bytes, hash, limit };
  }

  /** The entry holding `key`, or -1. */
  #find(key: Key): number {
    const words = this.#words;
    const start = key.hash % ENTRIES;
    for (let step = 0; step < PROBE; step++) {
      const base = HEADER_WORDS + ((start + step) % ENTRIES) * ENTRY_WORDS;
      if (
        words[base + KIND] === key.kind && words[base + HASH] === key.hash &&
        words[base + LENGTH] === key.bytes.length && this.#sameKey(base, key.bytes)
      ) return base;
    }
    return -1;
  }

  #sameKey(base: number, bytes: Uint8Array): boolean {
    const stored = this.#keyBytes(base);
    const length = Math.min(bytes.length, KEY_BYTES);
    for (let i = 0; i < length; i++) if (stored[i] !== bytes[i]) return false;
    return true;
  }

  #keyBytes(base: number): Uint8Array {
    return new Uint8Array(this.#words.buffer, (base + KEY) * 4, KEY_BYTES);
  }

  /**
   * A fresh entry for `key` in its neighbourhood: an empty one, else the one
   * given up most easily (not in flight; unblocked before blocked; older
   * first). -1 when every one there is in flight.
   */
  #insert(key: Key, now: number): number {
    const words = this.#words;
    const start = key.hash % ENTRIES;
    let victim = -1;
    let victimRank = Infinity;
    for (let step = 0; step < PROBE; step++) {
      const base = HEADER_WORDS + ((start + step) % ENTRIES) * ENTRY_WORDS;
      if (words[base + KIND] === 0) {
        victim = base;
        break;
      }
      if (
        words[base + PENDING] > 0 && now - words[base + LAST_RESERVED] <= PENDING_TIMEOUT_SECONDS
      ) {
        continue;
      }
      const blocked = words[base + BLOCKED_UNTIL] > now;
      const rank = blocked ? 2 ** 33 + words[base + BLOCKED_UNTIL] : words[base + LAST_FAILURE];
      if (rank < victimRank) {
        victim = base;
        victimRank = rank;
      }
    }
    if (victim < 0) return -1;
    words.fill(0, victim, victim + ENTRY_WORDS);
    words[victim + KIND] = key.kind;
    words[victim + HASH] = key.hash;
    words[victim + LENGTH] = key.bytes.length;
    this.#keyBytes(victim).set(key.bytes.subarray(0, KEY_BYTES));
    return victim;
  }

  /** Forgets failures older than the lock time and reservations of isolates that died. */
  #refresh(base: number, now: number, lockSeconds: number): void {
    const words = this.#words;
    if (words[base + FAILURES] > 0 && now - words[base + LAST_FAILURE] >= lockSeconds) {
      words[base + FAILURES] = 0;
    }
    if (words[base + BLOCKED_UNTIL] !== 0 && words[base + BLOCKED_UNTIL] <= now) {
      words[base + BLOCKED_UNTIL] = 0;
    }
    if (words[base + PENDING] > 0 && now - words[base + LAST_RESERVED] > PENDING_TIMEOUT_SECONDS) {
      words[base + PENDING] = 0;
    }
  }

  #dropIfIdle(base: number, now: number): void {
    const words = this.#words;
    if (
      words[base + FAILURES] === 0 && words[base + PENDING] === 0 &&
      words[base + BLOCKED_UNTIL] <= now
    ) words.fill(0, base, base + ENTRY_WORDS);
  }

  #entry(base: number): FailureEntry {
    const words = this.#words;
    const length = Math.min(words[base + LENGTH], KEY_BYTES);
    const text = decoder.decode(this.#keyBytes(base).slice(0, length));
    const kind = words[base + KIND] === KIND_IP ? "ip" : "account";
    const space = text.indexOf(" ");
    return {
      kind,
      ip: kind === "ip" ? text : text.slice(0, space),
      ...(kind === "account" ? { account: text.slice(space + 1) } : {}),
      failures: words[base + FAILURES],
      lastFailure: words[base + LAST_FAILURE],
      blockedUntil: words[base + BLOCKED_UNTIL],
    };
  }

  #locked<T>(work: () => T): T {
    this.#lock();
    try {
      return work();
    } finally {
      this.#unlock();
    }
  }

  #lock(): void {
    const word = this.#lockWord;
    const token = (Math.floor(Math.random() * 0x7ffffffe) + 1) | 0;
    let seen = 0;
    let since = Date.now();
    for (;;) {
      const held = Atomics.compareExchange(word, LOCK, 0, token);
      if (held === 0) break;
      if (held !== seen) {
        seen = held;
        since = Date.now();
      } else if (
        Date.now() - since > LOCK_STEAL_MS &&
        Atomics.compareExchange(word, LOCK, held, token) === held
      ) break;
      Atomics.wait(word, LOCK, held, 1);
    }
    this.#token = token;
  }

  #unlock(): void {
    Atomics.compareExchange(this.#lockWord, LOCK, this.#token, 0);
    Atomics.notify(this.#lockWord, LOCK, 1);
  }
}

/** Blocks first (the longest first, an IP before the names at it), then the latest failures, then by name. */
function byBlockThenRecency(a: FailureEntry, b: FailureEntry): number {
  const byName = `${a.ip} ${a.account ?? ""}` < `${b.ip} ${b.account ?? ""}` ? -1 : 1;
  return b.blockedUntil - a.blockedUntil || (a.kind === b.kind ? 0 : a.kind === "ip" ? -1 : 1) ||
    b.lastFailure - a.lastFailure || byName;
}

/** An entry as the log and `qmd status` show it: `IP` or `"name" from IP`. */
export function describeFailureEntry(entry: FailureEntry): string {
  return entry.kind === "ip" ? entry.ip : `${JSON.stringify(entry.account)} from ${entry.ip}`;
}

/** The longest pause after a failed login when no fixed pause is configured. */
export const AUTH_FAILURE_MAX_DELAY_SECONDS = 5;

/**
 * How long to wait before answering a failed login: the configured pause
 * (control/auth/delay or authfaildelay, as the seeds (docs/patches.md) define it) when there is
 * one; otherwise one second per recent failure, at most
 * AUTH_FAILURE_MAX_DELAY_SECONDS. The limits, not the pauses, stop guessing.
 */
export function authFailureDelaySeconds(failures: number, baseSeconds: number): number {
  if (!(failures >= 1)) return 0;
  if (baseSeconds > 0) return baseSeconds;
  return Math.min(AUTH_FAILURE_MAX_DELAY_SECONDS, Math.floor(failures));
}
