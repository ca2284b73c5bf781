/**
 * Builds one POP3 connection's options from the controls and what is known
 * of the client, the same way for the appliance's sockets and for `qmd
 * pop3d` under tcpserver.
 */
import type { Pop3dControls } from "../../config/pop3d.ts";
import { newSaslChallenge } from "../auth/challenge.ts";
import {
  type ChallengeAuthSupport,
  mechanismsFromMask,
  usableMechanisms,
} from "../auth/mechanisms.ts";
import type { Credentials, VerifyResult } from "../auth/sasl_server.ts";
import type { ServerTls } from "../tls/server_tls.ts";
import { authFailureDelaySeconds, type AuthFailures } from "./auth_failures.ts";
import { authFailureGuard } from "./credentials_check.ts";
import { isLoopback } from "../loopback.ts";
import type { Pop3ConnectionOptions } from "./pop3_connection.ts";
import type { ConnectionStress } from "./client_wait.ts";

export interface Pop3Client {
  /** The greeting's host name (qmail-popup's HOSTNAME argument, else control/me). */
  hostname: string;
  remoteIp: string;
  sessionId: string;
  /** POP3S: TLS from the first byte. */
  implicitTls: boolean;
  verify: (credentials: Credentials) => Promise<VerifyResult>;
  /** The shared failed-login table (the appliance); absent under tcpserver. */
  authFailures?: AuthFailures;
  /** Which challenge mechanisms can succeed; undefined = unknown (the masks apply). */
  challengeAuth?: ChallengeAuthSupport;
  /** The Maildir's name inside the home (default Maildir). */
  maildirName?: string;
  /** Stress mode's shorter waits (the appliance); absent under tcpserver. */
  stress?: ConnectionStress;
}

export function buildPop3Options(
  controls: Pop3dControls,
  serverTls: ServerTls,
  client: Pop3Client,
): Pop3ConnectionOptions {
  const newChallenge = () => newSaslChallenge(client.hostname);
  return {
    session: {
      hostname: client.hostname,
      // The APOP banner (RFC 1939 §7), fixed for the session.
      timestamp: newChallenge().challenge,
      tls: { offered: serverTls.context() !== undefined, active: client.implicitTls },
      // Plain-text passwords: over TLS (the session's rule), from loopback, or by control/pop3plaintext.
      plaintextAllowed: controls.plaintext || isLoopback(client.remoteIp),
      // pop3clientcert: a login needs TLS, and TLS a client certificate (clientCertificate below).
      loginNeedsTls: controls.clientCert,
      mechanisms: usableMechanisms(mechanismsFromMask(controls.authPop3), client.challengeAuth),
      mechanismsTls: usableMechanisms(mechanismsFromMask(controls.authSpop3), client.challengeAuth),
      newChallenge,
      failureDelay: authFailureDelaySeconds,
    },
    timeoutSeconds: controls.timeoutSeconds,
    commandSeconds: controls.commandTimeoutSeconds,
    stress: client.stress,
    maxLineLength: 1024,
    sessionId: client.sessionId,
    remoteIp: client.remoteIp,
    verify: client.verify,
    maildirName: client.maildirName,
    // POP3 has no tcp.smtp: only loopback is exempt (unless authfaillocktrusted).
    authFailures: authFailureGuard(client.authFailures, controls.authFailures, client),
    // Client certificates are asked for only with pop3clientcert, and then required.
    tls: () => serverTls.startOptions(controls.clientCert),
    implicitTls: client.implicitTls,
    ...(controls.clientCert
      ? { clientCertificate: (socket) => serverTls.clientCertificate(socket) }
      : {}),
    log: controls.log,
  };
}
