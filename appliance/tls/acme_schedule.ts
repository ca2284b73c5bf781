/**
 * When to ask the ACME CA for a certificate (RFC 8555): now when the served
 * certificate is missing, self-signed or lacks a name control/acme asks
 * for; else `renewDays` before it expires (30 by default, Let's Encrypt's
 * advice for its 90-day certificates). After a failed attempt the next one
 * waits 1 h, then 2, 4, 8, 16 and at most 24 h, so a CA that is down or a
 * port 80 that is unreachable is not hammered, while the certificate in
 * force is kept; and none comes sooner than a day after the last issued
 * one, whatever the CA gave. Even with nothing due the renewer looks again once a day,
 * so a certificate replaced by hand or a clock that jumped is noticed.
 *
 * Pure: the time and the certificate's facts come in as arguments.
 */

export const HOUR_MS = 60 * 60 * 1000;
export const DAY_MS = 24 * HOUR_MS;
/** How often the renewer looks even when nothing is due. */
export const CHECK_INTERVAL_MS = DAY_MS;
const FIRST_RETRY_MS = HOUR_MS;
const MAX_RETRY_MS = DAY_MS;

/** What the renewer needs to know about control/servercert.pem. */
export interface ServedCertificate {
  notAfter: Date;
  /** subjectAltName's DNS names, lower case. */
  names: string[];
  selfSigned: boolean;
}

/** The renewer's memory between attempts (kept in HOME/acme/state.json). */
export interface AcmeHistory {
  /** Failed attempts since the last success. */
  failures: number;
  lastFailure?: Date;
  /** The last certificate installed: no new order for a day after it. */
  lastIssued?: Date;
}

export interface AcmeDecision {
  /** When an order is due (at or before `now`: order now). */
  orderAt: Date;
  /** Why, for the log and showctl: "no certificate", "expires 2027-01-31T00:00:00Z", ... */
  reason: string;
  /** When to look again: the order time, at most a day away. */
  checkAt: Date;
}

/** The wait after `failures` failed attempts in a row: 1 h doubling, at most 24 h. */
export function retryDelayMs(failures: number): number {
  if (failures <= 0) return 0;
  return Math.min(MAX_RETRY_MS, FIRST_RETRY_MS * 2 ** Math.min(failures - 1, 10));
}

/** Decides when to order, for the certificate served now and the names wanted. */
export function nextAcmeOrder(
  now: Date,
  wanted: readonly string[],
  renewDays: number,
  served: ServedCertificate | undefined,
  history: AcmeHistory,
): AcmeDecision {
  let orderAt: number;
  let reason: string;
  const missing = served === undefined ? [] : wanted.filter((name) => !served.names.includes(name));
  if (served === undefined) {
    orderAt = now.getTime();
    reason = "no certificate";
  } else if (served.selfSigned) {
    orderAt = now.getTime();
    reason = "the certificate is self-signed";
  } else if (missing.length > 0) {
    orderAt = now.getTime();
    reason = `the certificate lacks ${missing.join(", ")}`;
  } else {
    orderAt = served.notAfter.getTime() - renewDays * DAY_MS;
    reason = `the certificate expires ${formatTime(served.notAfter)}`;
  }
  // A CA that gives fewer names or a shorter life than asked for must not start a loop of orders.
  if (history.lastIssued !== undefined && orderAt < history.lastIssued.getTime() + DAY_MS) {
    orderAt = history.lastIssued.getTime() + DAY_MS;
    reason = `${reason}; the last one was issued less than a day ago`;
  }
  if (history.failures > 0 && history.lastFailure !== undefined) {
    const retryAt = history.lastFailure.getTime() + retryDelayMs(history.failures);
    if (retryAt > orderAt) {
      orderAt = retryAt;
      reason = `${reason}; retrying after ${history.failures} failed attempt` +
        (history.failures === 1 ? "" : "s");
    }
  }
  const checkAt = Math.max(now.getTime(), Math.min(orderAt, now.getTime() + CHECK_INTERVAL_MS));
  return { orderAt: new Date(orderAt), reason, checkAt: new Date(checkAt) };
}

/** A time to the second, in UTC: 2026-01-31T12:00:00Z. */
export function formatTime(date: Date): string {
  return date.toISOString().replace(/\.\d{3}Z$/, "Z");
}
