/**
 * Concurrency limits shared by every isolate of a listener role (smtpd, or
 * pop3d with a buffer of its own): the total number of incoming sessions
 * (control/concurrencyincoming, tcpserver -c) and the number per client IP
 * (tcpserver's per-host limit, docs/patches.md seed 004). The counters
 * live in a SharedArrayBuffer that the supervisor creates once and posts to
 * each worker; every change is an Atomics operation, so isolates never need
 * to talk to each other.
 *
 * The same buffer holds qmd's stress mode (README, "Stress mode"):
 * once 80 % of concurrencyincoming is in use the role is under connection
 * stress until fewer than 60 % are; meanwhile a new session from an IP that
 * holds concurrencyperipstress sessions is refused, and the connection
 * drivers wait for clients only timeoutstress seconds (client_wait.ts). The
 * gap between the two marks keeps a load near one mark from flapping.
 *
 * Layout: Int32 slot 0 is the total; slots 1..IP_BUCKETS count sessions per
 * bucket of IP addresses (a hash of the address). Two addresses that share a
 * bucket share a counter: a collision can only over-count, so it may refuse a
 * client early but never lets one past its limit, which errs on the safe side.
 * Then the stress word (CALM, or STRESSED with or without its start logged)
 * and the time, in Unix seconds modulo 2^32, a start was last logged.
 */

/** Per-IP buckets in a limits buffer: 65,536 Int32 counters (256 KiB). */
export const IP_BUCKETS = 65536;

const TOTAL = 0;
const STRESS = 1 + IP_BUCKETS;
const STRESS_LOGGED_AT = STRESS + 1;
const BUFFER_BYTES = (STRESS_LOGGED_AT + 1) * Int32Array.BYTES_PER_ELEMENT;

/** Values of the stress word. */
const CALM = 0;
const STRESSED_QUIET = 1;
const STRESSED_LOGGED = 2;

/**
 * A stress episode that starts within this many seconds of the last start
 * logged is not logged (nor its end): a load hovering at the marks cannot
 * fill the log.
 */
export const STRESS_LOG_INTERVAL = 60;

/** Limits for one new session; 0 means unlimited. */
export interface ConnectionLimitSettings {
  maxTotal: number;
  maxPerIp: number;
  /** Sessions one IP may hold while the role is under stress (concurrencyperipstress); 0 = no such limit. */
  maxPerIpStress?: number;
}

export type AcquireResult = "ok" | "total" | "per-ip" | "per-ip-stress";

/** Stress began or ended: for the log line. */
export interface StressChange {
  stressed: boolean;
  /** Sessions in use when it changed. */
  inUse: number;
  maxTotal: number;
}

export interface ConnectionLimitsOptions {
  /** Called in the isolate whose session made stress begin or end, when the change is to be logged. */
  onStressChange?: (change: StressChange) => void;
  /** Unix ms; tests may pass a fake. */
  now?: () => number;
}

/** Stress begins when `inUse` sessions are 80 % or more of `maxTotal` (0: no limit, never). */
export function stressBegins(inUse: number, maxTotal: number): boolean {
  return maxTotal > 0 && inUse * 5 >= maxTotal * 4;
}

/** Stress ends when fewer than 60 % of `maxTotal` sessions are in use. */
export function stressEnds(inUse: number, maxTotal: number): boolean {
  return maxTotal <= 0 || inUse * 5 < maxTotal * 3;
}

/** A zeroed buffer for ConnectionLimits, to be posted to every smtpd isolate. */
export function createLimitsBuffer(): SharedArrayBuffer {
  return new SharedArrayBuffer(BUFFER_BYTES);
}

/** Session counters over a buffer made by createLimitsBuffer. */
export class ConnectionLimits {
  #counters: Int32Array;
  #onStressChange: ((change: StressChange) => void) | undefined;
  #now: () => number;

  constructor(buffer: SharedArrayBuffer, options: ConnectionLimitsOptions = {}) {
    if (buffer.byteLength !== BUFFER_BYTES) {
      throw new RangeError(`A limits buffer has ${BUFFER_BYTES} bytes, not ${buffer.byteLength}`);
    }
    this.#counters = new Int32Array(buffer);
    this.#onStressChange = options.onStressChange;
    this.#now = options.now ?? Date.now;
  }

  /**
   * Counts a new session from `ip` unless that would exceed a limit. Each
   * counter is incremented first and the increment rolled back when it went
   * over, so two isolates racing for the last slot cannot both get it; the
   * price is that a client may be refused while another's rolled-back
   * increment is briefly visible (again the safe side).
   * Under stress (including the stress this session would begin) an IP that
   * already holds maxPerIpStress sessions is refused too.
   * Every "ok" must be paired with one release(ip).
   */
  tryAcquire(ip: string, limits: ConnectionLimitSettings): AcquireResult {
    const counters = this.#counters;
    const total = Atomics.add(counters, TOTAL, 1) + 1;
    if (limits.maxTotal > 0 && total > limits.maxTotal) {
      Atomics.sub(counters, TOTAL, 1);
      return "total";
    }
    const slot = 1 + ipBucket(ip);
    const perIp = Atomics.add(counters, slot, 1) + 1;
    const stressLimit = limits.maxPerIpStress ?? 0;
    let refused: AcquireResult | undefined;
    if (limits.maxPerIp > 0 && perIp > limits.maxPerIp) {
      refused = "per-ip";
    } else if (
      stressLimit > 0 && perIp > stressLimit &&
      (this.stressed() || stressBegins(total, limits.maxTotal))
    ) {
      refused = "per-ip-stress";
    }
    if (refused !== undefined) {
      Atomics.sub(counters, slot, 1);
      Atomics.sub(counters, TOTAL, 1);
      return refused;
    }
    this.#updateStress(total, limits.maxTotal);
    return "ok";
  }

  /**
   * Ends a session counted by a successful tryAcquire(ip). With `maxTotal`
   * (the concurrencyincoming in force) the end of stress is noticed here.
   */
  release(ip: string, maxTotal?: number): void {
    Atomics.sub(this.#counters, 1 + ipBucket(ip), 1);
    const total = Atomics.sub(this.#counters, TOTAL, 1) - 1;
    if (maxTotal !== undefined) this.#updateStress(total, maxTotal);
  }

  /** Whether the role is under connection stress now. */
  stressed(): boolean {
    return Atomics.load(this.#counters, STRESS) !== CALM;
  }

  /**
   * Moves the stress word after a session came or went, `inUse` counted
   * with it. Only the isolate whose compare-exchange moved the word reports
   * the change, so each start and end is logged once whatever the isolates.
   */
  #updateStress(inUse: number, maxTotal: number): void {
    const counters = this.#counters;
    if (stressBegins(inUse, maxTotal)) {
      if (Atomics.load(counters, STRESS) !== CALM) return;
      const now = Math.floor(this.#now() / 1000) | 0;
      const last = Atomics.load(counters, STRESS_LOGGED_AT);
      // Wrapping arithmetic: the difference is right for any two times less than 68 years apart.
      const log = last === 0 || ((now - last) | 0) >= STRESS_LOG_INTERVAL;
      const next = log ? STRESSED_LOGGED : STRESSED_QUIET;
      if (Atomics.compareExchange(counters, STRESS, CALM, next) !== CALM || !log) return;
      Atomics.store(counters, STRESS_LOGGED_AT, now === 0 ? 1 : now);
      this.#onStressChange?.({ stressed: true, inUse, maxTotal });
    } else if (stressEnds(inUse, maxTotal)) {
      const word = Atomics.load(counters, STRESS);
      if (word === CALM || Atomics.compareExchange(counters, STRESS, word, CALM) !== word) return;
      if (word === STRESSED_LOGGED) this.#onStressChange?.({ stressed: false, inUse, maxTotal });
    }
  }

  /** Sessions counted now, in every isolate. */
  total(): number {
    return Atomics.load(this.#counters, TOTAL);
  }

  /** Sessions counted now for `ip`'s bucket (includes any address sharing the bucket). */
  perIp(ip: string): number {
    return Atomics.load(this.#counters, 1 + ipBucket(ip));
  }
}

/**
 * The form of an address used for counting: an IPv4-mapped IPv6 address
 * ("::ffff:1.2.3.4", as a dual-stack listener reports IPv4 clients) becomes
 * "1.2.3.4", and IPv6 hex digits are lower-cased.
 */
export function normalizeIp(ip: string): string {
  const lower = ip.toLowerCase();
  const mapped = /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/.exec(lower);
  return mapped ? mapped[1] : lower;
}

/** The bucket (0..IP_BUCKETS-1) of an address: 32-bit FNV-1a of its normalised form. */
export function ipBucket(ip: string): number {
  const text = normalizeIp(ip);
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return (hash >>> 0) % IP_BUCKETS;
}
