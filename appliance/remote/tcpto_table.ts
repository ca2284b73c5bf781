/**
 * The tcpto table as one remote isolate uses it (docs/queue-format.md §5.9;
 * the file itself is tcpto.ts): whether an address is dead, and the outcome
 * of each connection attempt.
 */
import { isDead, recordAttempt } from "./tcpto.ts";

/** The tcpto table as the attempts use it. */
export interface TcptoTable {
  isDead(ip: string): Promise<boolean>;
  /** After a connection attempt: timedOut false = success or a non-timeout failure. */
  record(ip: string, timedOut: boolean): Promise<void>;
}

/**
 * The tcpto table in queue/lock/tcpto for one remote isolate; pid is
 * qmail-remote's for the dead window. Its deliveries take turns with the
 * file (so the flock is never contended inside the isolate, which would cost
 * a thread per wait), and an address just found alive is not looked up again
 * within the same second; recording an attempt for it forgets that.
 */
export function tcptoFile(path: string, nowSeconds: () => number, pid: number): TcptoTable {
  let turn: Promise<unknown> = Promise.resolve();
  const serial = <T>(work: () => Promise<T>): Promise<T> => {
    const next = turn.then(work, work);
    turn = next.catch(() => {});
    return next;
  };
  const aliveUntil = new Map<string, number>();
  return {
    async isDead(ip) {
      const now = nowSeconds();
      if ((aliveUntil.get(ip) ?? 0) > now) return false;
      const dead = await serial(() => isDead(path, ip, now, pid));
      if (!dead) {
        if (aliveUntil.size > 10_000) aliveUntil.clear();
        aliveUntil.set(ip, now + 1);
      }
      return dead;
    },
    record(ip, timedOut) {
      aliveUntil.delete(ip);
      return serial(() => recordAttempt(path, ip, timedOut ? "timeout" : "ok", nowSeconds()));
    },
  };
}
