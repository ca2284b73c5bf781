/**
 * The POP3 controls (docs/patches.md seed 000: control/auth/pop3 and auth/spop3, the log
 * switches; qmd's own control/pop3plaintext and pop3clientcert), read once per reload as plain
 * data. Connection limits are smtpd's (concurrencyincoming,
 * concurrencyperip), counted separately for POP3.
 */
import { readControlLine, readControlList, readControlNumber } from "./control.ts";
import { type AuthFailurePolicy, loadAuthFailurePolicy } from "./auth_limits.ts";
import { flagDefault } from "./controls.ts";
import { loadStressControls, type StressControls } from "./stress.ts";

export interface Pop3dControls {
  me: string;
  /** AUTH mechanisms before TLS (control/auth/pop3, default 60). */
  authPop3: number;
  /** AUTH mechanisms with TLS (control/auth/spop3, default 63). */
  authSpop3: number;
  /**
   * qmd's control/pop3plaintext: 1 lets USER/PASS and AUTH PLAIN/LOGIN run
   * without TLS for every client; default 0 = only over TLS or from loopback.
   */
  plaintext: boolean;
  /**
   * qmd's control/pop3clientcert (docs/patches.md seed 003's stunnel with client certificates):
   * every TLS handshake must bring a certificate that clientca.pem and tlsclients accept, else
   * the session ends; before TLS no login is taken. Default 0.
   */
  clientCert: boolean;
  /** Seconds per read and write (qmail-popup's and qmail-pop3d's 1200). */
  timeoutSeconds: number;
  /** qmd's: seconds from a command line's first byte to its LF (control/timeoutcommand); 0 = none. */
  commandTimeoutSeconds: number;
  concurrencyIncoming: number;
  concurrencyPerIp: number;
  /** qmd's stress mode: concurrencyperipstress, timeoutstress, dataratestress (config/stress.ts). */
  stress: StressControls;
  /** qmd's failed-login limits, shared with SMTP AUTH (config/auth_limits.ts). */
  authFailures: AuthFailurePolicy;
  log: { pop3In: boolean; pop3Out: boolean };
}

/** Set and not "0" (an empty file is off); absent gives the table's default. */
function flag(home: string, name: string): boolean {
  const line = readControlLine(home, name)?.trim();
  if (line === undefined) return flagDefault(name);
  return line !== "" && line !== "0";
}

export function loadPop3dControls(home: string): Pop3dControls {
  const timeout = readControlNumber(home, "timeoutpop3d");
  return {
    me: readControlLine(home, "me")?.trim() || "localhost",
    authPop3: readControlNumber(home, "auth/pop3"),
    authSpop3: readControlNumber(home, "auth/spop3"),
    plaintext: flag(home, "pop3plaintext"),
    clientCert: flag(home, "pop3clientcert"),
    timeoutSeconds: timeout <= 0 ? 1 : timeout,
    commandTimeoutSeconds: readControlNumber(home, "timeoutcommand"),
    concurrencyIncoming: readControlNumber(home, "concurrencyincoming"),
    concurrencyPerIp: readControlNumber(home, "concurrencyperip"),
    stress: loadStressControls(home),
    authFailures: loadAuthFailurePolicy(home),
    log: { pop3In: flag(home, "log/pop3_in"), pop3Out: flag(home, "log/pop3_out") },
  };
}

/**
 * control/pop3homes (qmd's): the directories under which checkpassword users'
 * homes lie (/home, /var/vpopmail/domains), which pop3d may read and write;
 * lines that are not absolute paths are skipped. Absent: none.
 */
export function readPop3Homes(home: string): string[] {
  return (readControlList(home, "pop3homes") ?? []).map((entry) => entry.value.trim())
    .filter((path) => path.startsWith("/"));
}
