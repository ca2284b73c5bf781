/** What the role tells the POP3 session core (session.ts) about its connection. */
import type { MechanismName } from "../auth/mechanisms.ts";

export interface Pop3SessionOptions {
  /** control/me: the DIGEST-MD5 realm and digest-uri host. */
  hostname: string;
  /** The APOP banner timestamp `<pid.time@host>`, brackets included, made by the caller. */
  timestamp: string;
  /** STLS offered (a certificate exists) / TLS already active (POP3S). */
  tls: { offered: boolean; active: boolean };
  /**
   * Plain-text passwords (USER/PASS, AUTH PLAIN and LOGIN) allowed on this
   * connection before TLS: the role decides (loopback client or
   * control/pop3plaintext). Once TLS is active they always are.
   */
  plaintextAllowed: boolean;
  /**
   * No login of any kind before TLS (control/pop3clientcert: the driver ends a TLS session
   * without a valid client certificate, so a login over TLS has one). Default false.
   */
  loginNeedsTls?: boolean;
  /** AUTH mechanisms before TLS (control/auth/pop3, default 60). */
  mechanisms: MechanismName[];
  /** AUTH mechanisms with TLS (control/auth/spop3, default 63). */
  mechanismsTls: MechanismName[];
  /** A fresh CRAM challenge and DIGEST-MD5 nonce for each AUTH. */
  newChallenge(): { challenge: string; nonce: string };
  /** The CAPA IMPLEMENTATION text (default `qmd`). */
  implementation?: string;
  /** Seconds to pause before a failed login's reply (control/auth/delay); default 0. */
  failDelaySeconds?: number;
  /** The pause after the Nth recent failure from this address, from the base delay. */
  failureDelay?: (failures: number, baseSeconds: number) => number;
}
