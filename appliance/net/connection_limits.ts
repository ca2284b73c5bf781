/**
 * Concurrency limits shared by every smtpd isolate: the total number of
 * incoming sessions (control/concurrencyincoming, tcpserver -c) and the
 * number per client IP (tcpserver's per-host limit, docs/patches.md seed 004). The counters
 * live in a SharedArrayBuffer that the supervisor creates once and posts to
 * each worker; every change is an Atomics operation, so isolates never need
 * to talk to each other.
 *
 * Layout: Int32 slot 0 is the total; slots 1..IP_BUCKETS count sessions per
 * bucket of IP addresses (a hash of the address). Two addresses that share a
 * bucket share a counter: a collision can only over-count, so it may refuse a
 * client early but never lets one past its limit, which errs on the safe side.
 */

/** Per-IP buckets in a limits buffer: 65,536 Int32 counters (256 KiB). */
export const IP_BUCKETS = 65536;

const TOTAL = 0;
const BUFFER_BYTES = (1 + IP_BUCKETS) * Int32Array.BYTES_PER_ELEMENT;

/** Limits for one new session; 0 means unlimited. */
export interface ConnectionLimitSettings {
  maxTotal: number;
  maxPerIp: number;
}

export type AcquireResult = "ok" | "total" | "per-ip";

/** A zeroed buffer for ConnectionLimits, to be posted to every smtpd isolate. */
export function createLimitsBuffer(): SharedArrayBuffer {
  return new SharedArrayBuffer(BUFFER_BYTES);
}

/** Session counters over a buffer made by createLimitsBuffer. */
export class ConnectionLimits {
  #counters: Int32Array;

  constructor(buffer: SharedArrayBuffer) {
    if (buffer.byteLength !== BUFFER_BYTES) {
      throw new RangeError(`A limits buffer has ${BUFFER_BYTES} bytes, not ${buffer.byteLength}`);
    }
    this.#counters = new Int32Array(buffer);
  }

  /**
   * Counts a new session from `ip` unless that would exceed a limit. Each
   * counter is incremented first and the increment rolled back when it went
   * over, so two isolates racing for the last slot cannot both get it; the
   * price is that a client may be refused while another's rolled-back
   * increment is briefly visible (again the safe side).
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
    if (limits.maxPerIp > 0 && perIp > limits.maxPerIp) {
      Atomics.sub(counters, slot, 1);
      Atomics.sub(counters, TOTAL, 1);
      return "per-ip";
    }
    return "ok";
  }

  /** Ends a session counted by a successful tryAcquire(ip). */
  release(ip: string): void {
    Atomics.sub(this.#counters, 1 + ipBucket(ip), 1);
    Atomics.sub(this.#counters, TOTAL, 1);
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
