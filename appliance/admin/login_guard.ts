/**
 * The console's login rate limit: per client IP, LOGIN_FAILURES failed
 * logins within FAILURE_WINDOW_MS lock that IP out for LOCK_MS (every
 * attempt is refused unchecked until then, so guessing costs the attacker
 * the wait, not the server a hash). A success clears the IP's count. The
 * table is bounded: past MAX_IPS the oldest entry goes first.
 */

export interface LoginLimits {
  failures: number;
  windowMs: number;
  lockMs: number;
}

export const DEFAULT_LOGIN_LIMITS: LoginLimits = {
  failures: 5,
  windowMs: 15 * 60_000,
  lockMs: 15 * 60_000,
};

const MAX_IPS = 10_000;

interface Entry {
  /** Times of the failures inside the window. */
  failures: number[];
  lockedUntil: number;
}

export class LoginGuard {
  readonly #limits: LoginLimits;
  readonly #entries = new Map<string, Entry>();

  constructor(limits: LoginLimits = DEFAULT_LOGIN_LIMITS) {
    this.#limits = limits;
  }

  /** Until when `ip` is locked out (Unix ms), or undefined when it may try. */
  lockedUntil(ip: string, now: number): number | undefined {
    const entry = this.#entries.get(ip);
    return entry !== undefined && entry.lockedUntil > now ? entry.lockedUntil : undefined;
  }

  /** Notes a failed login; returns true when this failure locked the IP out. */
  failed(ip: string, now: number): boolean {
    const entry = this.#entries.get(ip) ?? { failures: [], lockedUntil: 0 };
    this.#entries.delete(ip);
    this.#entries.set(ip, entry);
    if (this.#entries.size > MAX_IPS) {
      this.#entries.delete(this.#entries.keys().next().value as string);
    }
    entry.failures = entry.failures.filter((time) => time > now - this.#limits.windowMs);
    entry.failures.push(now);
    if (entry.failures.length < this.#limits.failures) return false;
    entry.failures = [];
    entry.lockedUntil = now + this.#limits.lockMs;
    return true;
  }

  /** A successful login: the IP's failures are forgotten. */
  succeeded(ip: string): void {
    this.#entries.delete(ip);
  }
}
