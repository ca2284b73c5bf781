/**
 * realrcptto's positive answers, kept for a short while by each smtpd
 * isolate. Under `qmd start` the question "would local delivery take this
 * address?" crosses two isolates and several file lookups (role_lookups.ts);
 * the same recipients come back all day, so an answer of "yes" is kept for
 * DELIVERABLE_TTL_MS and the next RCPT for that address is answered at once.
 *
 * Only "yes" is kept: a mailbox made a moment ago is found at once. A mailbox
 * removed is refused at RCPT within DELIVERABLE_TTL_MS (at once after a
 * reload, which clears the cache); until then a message for it is accepted
 * and bounced by local delivery, which is what qmail without realrcptto does.
 */

/** How long a "yes" is believed. */
export const DELIVERABLE_TTL_MS = 30_000;
/** Addresses kept at most; past it the oldest half is dropped. */
export const DELIVERABLE_MAX_ENTRIES = 10_000;

export class DeliverableCache {
  /** Address (as the lookup names it) to when its "yes" runs out, oldest first. */
  readonly #expires = new Map<string, number>();
  readonly #now: () => number;
  readonly #ttlMs: number;
  readonly #maxEntries: number;

  constructor(
    options: { now?: () => number; ttlMs?: number; maxEntries?: number } = {},
  ) {
    this.#now = options.now ?? Date.now;
    this.#ttlMs = options.ttlMs ?? DELIVERABLE_TTL_MS;
    this.#maxEntries = Math.max(2, options.maxEntries ?? DELIVERABLE_MAX_ENTRIES);
  }

  /** Whether local delivery said it would take `address` less than the TTL ago. */
  knows(address: string): boolean {
    const expires = this.#expires.get(address);
    if (expires === undefined) return false;
    if (expires > this.#now()) return true;
    this.#expires.delete(address);
    return false;
  }

  /** Local delivery said it would take `address`. */
  remember(address: string): void {
    this.#expires.delete(address);
    if (this.#expires.size >= this.#maxEntries) {
      let drop = this.#expires.size - Math.floor(this.#maxEntries / 2);
      for (const key of this.#expires.keys()) {
        if (drop-- <= 0) break;
        this.#expires.delete(key);
      }
    }
    this.#expires.set(address, this.#now() + this.#ttlMs);
  }

  /** Forgets every answer (a reload: users and .qmail files may have changed). */
  clear(): void {
    this.#expires.clear();
  }

  get size(): number {
    return this.#expires.size;
  }
}
