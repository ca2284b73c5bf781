/**
 * qmail-send's retry schedule and its timing constants (docs/queue-format.md
 * §4.7). Times are Unix seconds. Pure.
 */
import type { Channel } from "./routing.ts";

/** chanskip: local passes are (10k)² seconds after birth, remote (20k)². */
export const CHANSKIP: Readonly<Record<Channel, number>> = { local: 10, remote: 20 };

/** SLEEP_TODO: todo/ is scanned at least this often even without a trigger. */
export const TODO_RESCAN_SECONDS = 1500;

/** SLEEP_SYSFAIL: retry delay after a stat/open/unlink failure or a failed bounce injection. */
export const SYSTEM_FAILURE_RETRY_SECONDS = 123;

/** SLEEP_FOREVER: the longest qmail-send ever sleeps. */
export const MAX_SLEEP_SECONDS = 86400;

/** SLEEP_CLEANUP: the interval between cleanup passes over mess/. */
export const CLEANUP_INTERVAL_SECONDS = 76431;

/** The text appended to a temporary failure of a message past its lifetime (§4.6). */
export const TOO_LONG_IN_QUEUE =
  "I'm not going to try again; this message has been in the queue too long.\n";

/**
 * qmail-send's squareroot(): the largest y with y² ≤ x, computed as qmail
 * does on 16 result bits (so the result never exceeds 65535, which matters
 * only for ages beyond 136 years).
 */
export function integerSqrt(x: number): number {
  if (!(x > 0)) return 0;
  let y = Math.floor(Math.sqrt(x));
  while (y * y > x) y--;
  while ((y + 1) * (y + 1) <= x) y++;
  return Math.min(y, 65535);
}

/**
 * The time a channel's undelivered recipients are due again after a pass
 * that started at `now` for a message born at `birth` (§4.7):
 * `n = birth > now ? 0 : isqrt(now - birth); n += chanskip; birth + n²`.
 */
export function nextRetry(birth: number, now: number, chanskip: number): number {
  const n = (birth > now ? 0 : integerSqrt(Math.floor(now) - Math.floor(birth))) + chanskip;
  return Math.floor(birth) + n * n;
}

/** Whether temporary failures of a message become permanent: `now > birth + lifetime` (§4.6). */
export function isDying(birth: number, now: number, lifetime: number): boolean {
  return now > birth + lifetime;
}
