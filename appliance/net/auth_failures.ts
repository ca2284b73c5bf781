/**
 * Failed AUTH attempts per client IP, shared by every smtpd isolate the same
 * way as the connection limits (connection_limits.ts): a SharedArrayBuffer
 * posted to each worker, changed only with Atomics.
 *
 * Each of IP_BUCKETS buckets (a hash of the address; a collision only
 * over-counts, which errs on the safe side) is one 64-bit word holding the
 * time of the last failure (seconds, high bits) and the failure count (low
 * 16 bits), so both change together in one compare-and-exchange. The count
 * decays all at once: a failure more than AUTH_FAILURE_WINDOW_SECONDS after
 * the previous one starts again at 1.
 */
import { IP_BUCKETS, ipBucket } from "./connection_limits.ts";

/** Failures within the window after which AUTH is refused for that IP. */
export const AUTH_FAILURE_LIMIT = 10;

/** A count is forgotten when its last failure is older than this: one hour. */
export const AUTH_FAILURE_WINDOW_SECONDS = 3600;

/** The longest delay authFailureDelaySeconds grows to (unless the base itself is longer). */
export const AUTH_FAILURE_MAX_DELAY_SECONDS = 60;

const COUNT_BITS = 16n;
const COUNT_MASK = (1n << COUNT_BITS) - 1n;
const BUFFER_BYTES = IP_BUCKETS * BigInt64Array.BYTES_PER_ELEMENT;
/** Compare-and-exchange retries before record gives up; each retry means another isolate wrote. */
const MAX_RETRIES = 1000;

/** Failed-AUTH counters over a buffer made by AuthFailures.createBuffer. */
export class AuthFailures {
  #words: BigInt64Array;

  constructor(buffer: SharedArrayBuffer) {
    if (buffer.byteLength !== BUFFER_BYTES) {
      throw new RangeError(
        `An AUTH failure buffer has ${BUFFER_BYTES} bytes, not ${buffer.byteLength}`,
      );
    }
    this.#words = new BigInt64Array(buffer);
  }

  /** A zeroed buffer (512 KiB), to be posted to every smtpd isolate. */
  static createBuffer(): SharedArrayBuffer {
    return new SharedArrayBuffer(BUFFER_BYTES);
  }

  /**
   * Counts a failed AUTH from `ip` at `nowSeconds` and returns the number of
   * recent failures, this one included.
   */
  record(ip: string, nowSeconds: number): number {
    const words = this.#words;
    const slot = ipBucket(ip);
    const now = BigInt(Math.max(0, Math.floor(nowSeconds)));
    let count = 1n;
    for (let attempt = 0; attempt < MAX_RETRIES; attempt++) {
      const old = Atomics.load(words, slot);
      const oldCount = old & COUNT_MASK;
      const last = old >> COUNT_BITS;
      const recent = oldCount > 0n && now - last <= BigInt(AUTH_FAILURE_WINDOW_SECONDS);
      count = recent && oldCount < COUNT_MASK ? oldCount + 1n : recent ? oldCount : 1n;
      // A clock that stepped back keeps the later time.
      const time = now > last ? now : last;
      const next = (time << COUNT_BITS) | count;
      if (Atomics.compareExchange(words, slot, old, next) === old) break;
    }
    return Number(count);
  }

  /** Recent failures from `ip` (0 when the last one is older than the window). */
  recent(ip: string, nowSeconds: number): number {
    const word = Atomics.load(this.#words, ipBucket(ip));
    const count = word & COUNT_MASK;
    const last = word >> COUNT_BITS;
    const now = BigInt(Math.max(0, Math.floor(nowSeconds)));
    if (count === 0n || now - last > BigInt(AUTH_FAILURE_WINDOW_SECONDS)) return 0;
    return Number(count);
  }
}

/**
 * How long to wait before answering after the `failures`-th recent failure:
 * base, 2 × base, 4 × base, … (base × 2^(failures−1)), at most 60 s, or at
 * most the base itself when that is longer. A base of 0 (control/auth/
 * authfaildelay unset) grows from 1 s, so repeated failures are still slowed.
 * No failures, no delay.
 */
export function authFailureDelaySeconds(failures: number, baseSeconds: number): number {
  if (!(failures >= 1)) return 0;
  const base = baseSeconds > 0 ? baseSeconds : 1;
  const cap = Math.max(AUTH_FAILURE_MAX_DELAY_SECONDS, base);
  return Math.min(cap, base * 2 ** Math.min(failures - 1, 30));
}
