/**
 * Checks a client's credentials for the SMTP and POP3 drivers alike: reserves
 * a place under the failed-login limits (auth_failures.ts) before anything is
 * verified, refuses at once when the IP or the user name at that IP is
 * blocked, asks the verifier (the auth role, or in-process), settles the
 * reservation, and logs the outcome with the user name and the verifier's
 * reason, never a secret. A block that starts is logged as auth_block.
 */
import type { Credentials, VerifyResult } from "../auth/sasl_server.ts";
import type { AuthFailurePolicy } from "../../config/auth_limits.ts";
import {
  type AuthFailureLimits,
  type AuthFailures,
  describeFailureEntry,
  type LoginAttempt,
  type Reservation,
} from "./auth_failures.ts";
import { isLoopback } from "../loopback.ts";
import { logEvent } from "../log.ts";

export interface CredentialsCheck {
  result: VerifyResult;
  /** Recent failures of this IP or this name at it, this one included (0 after a success). */
  recentFailures: number;
  /** The IP or the name at it is over its limit: the session says so and closes. */
  blocked: boolean;
}

/** The shared failed-login table and the limits in force for one client. */
export interface AuthFailureGuard {
  table: AuthFailures;
  limits: AuthFailureLimits;
}

export interface CheckContext {
  verify: ((credentials: Credentials) => Promise<VerifyResult>) | undefined;
  /** Undefined: this client's failures are not counted (see authFailureGuard). */
  authFailures: AuthFailureGuard | undefined;
  remoteIp: string;
  sessionId: string;
  /** Log wording: smtpd logs `auth ...`, pop3d `login ...`. */
  log: { prefix: "smtpd" | "pop3d"; event: "smtp_auth" | "pop3_login"; word: "auth" | "login" };
  /** How long a login waits for a place while others from its IP are verified (default 30 s). */
  waitSeconds?: number;
}

/** Milliseconds between looks at a full reservation. */
const BUSY_POLL_MS = 25;

/**
 * The guard for one client, or undefined when its failures are not counted:
 * loopback clients and RELAYCLIENT clients (tcp.smtp or the environment)
 * unless control/authfaillocktrusted says otherwise, so an operator cannot
 * lock out the box itself or the networks it relays for.
 */
export function authFailureGuard(
  table: AuthFailures | undefined,
  policy: AuthFailurePolicy,
  client: { remoteIp: string; relayClient?: string },
): AuthFailureGuard | undefined {
  if (table === undefined) return undefined;
  const trusted = isLoopback(client.remoteIp) || client.relayClient !== undefined;
  if (trusted && !policy.lockTrusted) return undefined;
  return { table, limits: policy };
}

function isoTime(seconds: number): string {
  return new Date(seconds * 1000).toISOString().replace(/\.000Z$/, "Z");
}

async function reserveOrWait(
  guard: AuthFailureGuard,
  attempt: LoginAttempt,
  waitSeconds: number,
): Promise<Reservation> {
  const deadline = Date.now() + waitSeconds * 1000;
  for (;;) {
    const reservation = guard.table.reserve(attempt, Math.floor(Date.now() / 1000), guard.limits);
    if (reservation.kind !== "busy" || Date.now() >= deadline) return reservation;
    await new Promise((resolve) => setTimeout(resolve, BUSY_POLL_MS));
  }
}

async function runVerifier(
  credentials: Credentials,
  context: CheckContext,
): Promise<VerifyResult> {
  const { prefix, event } = context.log;
  try {
    return context.verify === undefined
      ? { ok: false, temporary: true, reason: "no verifier" }
      : await context.verify(credentials);
  } catch (error) {
    logEvent(`${event}_error`, `${prefix} ${context.sessionId}: ${(error as Error).message}`, {
      session: context.sessionId,
    });
    return { ok: false, temporary: true };
  }
}

export async function checkCredentials(
  credentials: Credentials,
  context: CheckContext,
): Promise<CredentialsCheck> {
  const { remoteIp: ip, authFailures: guard, sessionId } = context;
  const { prefix, event, word } = context.log;
  const attempt: LoginAttempt = { ip, account: credentials.user };
  const reservation = guard === undefined
    ? { kind: "reserved" as const }
    : await reserveOrWait(guard, attempt, context.waitSeconds ?? 30);
  if (reservation.kind === "blocked") {
    const entry = reservation.entry;
    logEvent(
      `${event}_blocked`,
      `${prefix} ${sessionId}: ${word} blocked for ${JSON.stringify(credentials.user)} from ${ip}` +
        `: ${entry.kind === "ip" ? "the IP" : "the name at this IP"} is blocked until ${
          isoTime(entry.blockedUntil)
        }`,
      { session: sessionId, user: credentials.user, remote: ip },
    );
    return {
      result: { ok: false, temporary: false },
      recentFailures: entry.failures,
      blocked: true,
    };
  }
  if (reservation.kind === "busy") {
    logEvent(
      `${event}_failed`,
      `${prefix} ${sessionId}: ${word} failed for ${JSON.stringify(credentials.user)} from ${ip}` +
        " (temporary): too many logins from this IP are being checked at once",
      { session: sessionId, user: credentials.user, remote: ip },
    );
    return { result: { ok: false, temporary: true }, recentFailures: 0, blocked: false };
  }
  const result = await runVerifier(credentials, context);
  // A temporary failure says nothing about the password: it does not count.
  const failed = !result.ok && !result.temporary;
  const settled = guard?.table.settle(attempt, failed, Math.floor(Date.now() / 1000), guard.limits);
  if (result.ok) {
    logEvent(event, `${prefix} ${sessionId}: ${word} ${JSON.stringify(result.user)}`, {
      session: sessionId,
      user: result.user,
    });
    return { result, recentFailures: 0, blocked: false };
  }
  logEvent(
    `${event}_failed`,
    `${prefix} ${sessionId}: ${word} failed for ${JSON.stringify(credentials.user)} from ${ip}` +
      (result.temporary ? " (temporary)" : "") + (result.reason ? `: ${result.reason}` : ""),
    { session: sessionId, user: credentials.user, remote: ip },
  );
  for (const entry of settled?.blocked ?? []) {
    logEvent(
      "auth_block",
      `${prefix} ${sessionId}: auth_block ${describeFailureEntry(entry)} after ${entry.failures}` +
        ` failed logins, until ${isoTime(entry.blockedUntil)}`,
      {
        session: sessionId,
        remote: entry.ip,
        ...(entry.account === undefined ? {} : { user: entry.account }),
        failures: entry.failures,
        until: isoTime(entry.blockedUntil),
      },
    );
  }
  return { result, recentFailures: settled?.failures ?? 1, blocked: false };
}
