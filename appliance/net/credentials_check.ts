/**
 * Checks a client's credentials for the SMTP and POP3 drivers alike: refuses
 * at once when the IP reached the failed-login limit, else asks the verifier
 * (the auth role, or in-process), counts a failure in the shared per-IP
 * table, and logs the outcome with the user name, never a secret.
 */
import type { Credentials, VerifyResult } from "../auth/sasl_server.ts";
import { AUTH_FAILURE_LIMIT, type AuthFailures } from "./auth_failures.ts";
import { logEvent } from "../log.ts";

export interface CredentialsCheck {
  result: VerifyResult;
  /** This IP's recent failures, this one included (0 after a success). */
  recentFailures: number;
  /** The IP is over the limit: the session says so and closes. */
  blocked: boolean;
}

export interface CheckContext {
  verify: ((credentials: Credentials) => Promise<VerifyResult>) | undefined;
  authFailures: AuthFailures | undefined;
  remoteIp: string;
  sessionId: string;
  /** Log wording: smtpd logs `auth ...`, pop3d `login ...`. */
  log: { prefix: "smtpd" | "pop3d"; event: "smtp_auth" | "pop3_login"; word: "auth" | "login" };
}

export async function checkCredentials(
  credentials: Credentials,
  context: CheckContext,
): Promise<CredentialsCheck> {
  const { remoteIp: ip, authFailures: failures, sessionId } = context;
  const { prefix, event, word } = context.log;
  const nowSeconds = Math.floor(Date.now() / 1000);
  if (failures !== undefined && failures.recent(ip, nowSeconds) >= AUTH_FAILURE_LIMIT) {
    logEvent(`${event}_blocked`, `${prefix} ${sessionId}: ${word} blocked for ${ip}`, {
      session: sessionId,
    });
    return {
      result: { ok: false, temporary: false },
      recentFailures: AUTH_FAILURE_LIMIT,
      blocked: true,
    };
  }
  let result: VerifyResult;
  try {
    result = context.verify === undefined
      ? { ok: false, temporary: true }
      : await context.verify(credentials);
  } catch (error) {
    logEvent(`${event}_error`, `${prefix} ${sessionId}: ${(error as Error).message}`, {
      session: sessionId,
    });
    result = { ok: false, temporary: true };
  }
  if (result.ok) {
    logEvent(event, `${prefix} ${sessionId}: ${word} ${JSON.stringify(result.user)}`, {
      session: sessionId,
      user: result.user,
    });
    return { result, recentFailures: 0, blocked: false };
  }
  const recentFailures = failures?.record(ip, nowSeconds) ?? 1;
  logEvent(
    `${event}_failed`,
    `${prefix} ${sessionId}: ${word} failed for ${JSON.stringify(credentials.user)} from ${ip}` +
      (result.temporary ? " (temporary)" : ""),
    { session: sessionId, user: credentials.user, remote: ip },
  );
  return { result, recentFailures, blocked: false };
}
