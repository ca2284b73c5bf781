/**
 * qmd's failed-login limits, shared by SMTP AUTH and POP3 (the seeds (docs/patches.md) have
 * only pauses: seed 000's control/auth/delay and seed 001's authfaildelay).
 * Read with the smtpd and pop3d controls, once per reload.
 *
 * - control/authfaillimit: failed logins from one client IP, whatever the
 *   user names, after which that IP is refused; 0 = no limit.
 * - control/authfailuserlimit: failed logins for one user name from one IP
 *   after which that name is refused from that IP (its owner's other IPs
 *   keep working); 0 = no limit.
 * - control/authfaillock: seconds a block lasts after the failure that set
 *   it, and how long a failure is remembered.
 * - control/authfaillocktrusted: not 0 counts and blocks loopback clients
 *   and RELAYCLIENT clients too, which are otherwise never blocked.
 */
import { readControlLine, readControlNumber } from "./control.ts";
import { flagDefault, numberDefault } from "./controls.ts";

export interface AuthFailurePolicy {
  ipLimit: number;
  accountLimit: number;
  lockSeconds: number;
  /** Loopback and RELAYCLIENT clients are counted and blocked too. */
  lockTrusted: boolean;
}

/** The policy when the files are absent: config/controls.ts's defaults. */
export const AUTH_FAILURE_DEFAULTS = {
  ipLimit: numberDefault("authfaillimit"),
  accountLimit: numberDefault("authfailuserlimit"),
  lockSeconds: numberDefault("authfaillock"),
} as const;

export function loadAuthFailurePolicy(home: string): AuthFailurePolicy {
  const trusted = readControlLine(home, "authfaillocktrusted")?.trim();
  return {
    ipLimit: Math.max(0, readControlNumber(home, "authfaillimit")),
    accountLimit: Math.max(0, readControlNumber(home, "authfailuserlimit")),
    lockSeconds: Math.max(1, readControlNumber(home, "authfaillock")),
    lockTrusted: trusted === undefined
      ? flagDefault("authfaillocktrusted")
      : trusted !== "" && trusted !== "0",
  };
}
