/**
 * The remote role's connection pool. It keeps idle connections per (ip,
 * port, tls, auth user) so several messages to one host share a connection
 * (RSET between them, done by the driver), closes idle ones after a bounded
 * time (10 s by default), and bounds the connections per destination
 * (ip:port): a burst to one domain waits for a slot instead of opening a
 * connection per message. Beyond qmail, which opens one connection per
 * qmail-remote.
 */

/** What the pool needs of a connection. */
export interface Poolable {
  readonly closed: boolean;
  /** Closes an idle connection (QUIT, then close). */
  retire(): void;
}

export interface PoolOptions {
  /** Idle connections close after this long (default 10 s). */
  idleMs?: number;
  /** Connections (busy or being opened) per destination ip:port (default 10). */
  maxPerDestination?: number;
}

/** The identity of a reusable connection. */
export function poolKey(ip: string, port: number, tls: boolean, user?: string): string {
  return `${ip}|${port}|${tls ? "tls" : "plain"}|${user ?? ""}`;
}

interface IdleEntry<C> {
  connection: C;
  timer: ReturnType<typeof setTimeout>;
}

/** A held place for one connection to a destination; release exactly once. */
export type Slot = { release(): void };

export class ConnectionPool<C extends Poolable> {
  readonly #idleMs: number;
  readonly #maxPerDestination: number;
  readonly #idle = new Map<string, IdleEntry<C>[]>();
  readonly #busy = new Map<string, number>();
  readonly #waiting = new Map<string, (() => void)[]>();
  #closed = false;

  constructor(options: PoolOptions = {}) {
    this.#idleMs = options.idleMs ?? 10_000;
    this.#maxPerDestination = Math.max(1, options.maxPerDestination ?? 10);
  }

  /** Waits for a free place for one more connection to ip:port. */
  async acquire(destination: string): Promise<Slot> {
    for (;;) {
      const busy = this.#busy.get(destination) ?? 0;
      if (busy < this.#maxPerDestination) {
        this.#busy.set(destination, busy + 1);
        let released = false;
        return {
          release: () => {
            if (released) return;
            released = true;
            this.#releaseSlot(destination);
          },
        };
      }
      await new Promise<void>((resolve) => {
        const queue = this.#waiting.get(destination) ?? [];
        queue.push(resolve);
        this.#waiting.set(destination, queue);
      });
    }
  }

  #releaseSlot(destination: string): void {
    const busy = (this.#busy.get(destination) ?? 1) - 1;
    if (busy <= 0) this.#busy.delete(destination);
    else this.#busy.set(destination, busy);
    const queue = this.#waiting.get(destination);
    const next = queue?.shift();
    if (queue !== undefined && queue.length === 0) this.#waiting.delete(destination);
    next?.();
  }

  /** An idle connection for key that is still open, or undefined. */
  take(key: string): C | undefined {
    const entries = this.#idle.get(key);
    while (entries !== undefined && entries.length > 0) {
      const entry = entries.pop()!;
      clearTimeout(entry.timer);
      if (!entry.connection.closed) {
        if (entries.length === 0) this.#idle.delete(key);
        return entry.connection;
      }
    }
    this.#idle.delete(key);
    return undefined;
  }

  /** Parks a connection that finished a message cleanly (after RSET). */
  put(key: string, connection: C): void {
    if (this.#closed || connection.closed) {
      connection.retire();
      return;
    }
    const entries = this.#idle.get(key) ?? [];
    if (entries.length >= this.#maxPerDestination) {
      connection.retire();
      return;
    }
    const entry: IdleEntry<C> = {
      connection,
      timer: setTimeout(() => {
        const list = this.#idle.get(key);
        const index = list?.indexOf(entry) ?? -1;
        if (list !== undefined && index >= 0) {
          list.splice(index, 1);
          if (list.length === 0) this.#idle.delete(key);
        }
        connection.retire();
      }, this.#idleMs),
    };
    entries.push(entry);
    this.#idle.set(key, entries);
  }

  /** Idle connections per key (tests, status). */
  idleCount(key?: string): number {
    if (key !== undefined) return this.#idle.get(key)?.length ?? 0;
    let total = 0;
    for (const list of this.#idle.values()) total += list.length;
    return total;
  }

  /** Connections in use or being opened to a destination. */
  busyCount(destination: string): number {
    return this.#busy.get(destination) ?? 0;
  }

  /** Closes every idle connection and refuses to park more (drain). */
  close(): void {
    this.#closed = true;
    for (const list of this.#idle.values()) {
      for (const entry of list) {
        clearTimeout(entry.timer);
        entry.connection.retire();
      }
    }
    this.#idle.clear();
  }
}
