/**
 * The client side of STARTTLS (RFC 3207) for remote delivery: the tlshosts
 * pin of a host (docs/patches.md seed 001: control/tlshosts/<FQDN>.pem; with one, the server
 * certificate must verify against it and match the host name, and the
 * message never goes in plain text), control/clientcert.pem as the client
 * certificate, control/tlsclientciphers, and which failure the session is
 * told of (the pin's verification or the handshake itself).
 */
import type { ClientStep } from "../smtp/client.ts";
import { ClientSocketError } from "./open_socket.ts";
import type { Target } from "./mx_choice.ts";
import type { SmtpConnection } from "./pooled_connection.ts";
import type { RemoteContext } from "./remote_context.ts";
import { logStsTesting, type TargetTls } from "./target_tls.ts";
import { noteTlsOutcome } from "./tls_session_report.ts";

/**
 * The tlshosts pin of a host (docs/patches.md seed 001): the file name used in texts and its PEM.
 */
export interface TlsPin {
  file: string;
  pem: string;
}

function readPem(path: string): string | undefined {
  try {
    // Most hosts have no pin: a stat by name first, since an open resolves every component of
    // the path for the permission check (README, issue 16's fifth round) and a stat does not.
    Deno.statSync(path);
    return Deno.readTextFileSync(path);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return undefined;
    throw error;
  }
}

/** control/tlshosts/<host>.pem when it exists. */
export function readTlsPin(home: string, host: string): TlsPin | undefined {
  const file = `control/tlshosts/${host}.pem`;
  const pem = readPem(`${home}/${file}`);
  return pem === undefined ? undefined : { file, pem };
}

/**
 * The client side of STARTTLS (RFC 3207) with the tlshosts pin when there is
 * one, or the verification MTA-STS or DANE ask for (target_tls.ts).
 */
export async function upgradeToTls(
  connection: SmtpConnection,
  target: Target,
  tls: TargetTls,
  ctx: RemoteContext,
): Promise<ClientStep> {
  const cert = readPem(`${ctx.home}/control/clientcert.pem`);
  const pin = tls.pin;
  try {
    await connection.socket.startTls({
      servername: target.host,
      ca: pin?.pem,
      cert,
      key: cert,
      ciphers: ctx.controls.tlsClientCiphers ?? undefined,
      timeoutMs: connection.timeoutMs,
      verify: tls.verify,
      checkChain: tls.checkChain,
    });
  } catch (error) {
    if (!(error instanceof ClientSocketError)) throw error;
    const reason = error.message.replace(/\.$/, "");
    // Only a check that can refuse (a pin, MTA-STS enforce, DANE) is told as a verification failure.
    const checked = pin !== undefined || tls.verify?.mode === "require" ||
      tls.checkChain !== undefined;
    if (tls.testing !== undefined) logStsTesting(tls.testing, target, `TLS failed: ${reason}`);
    const verify = checked && isVerifyFailure(error);
    noteTlsOutcome(tls.report, target, { ok: false, reason, verify });
    return connection.session.tlsFailed(verify ? "verify" : "handshake", reason);
  }
  const unverified = connection.socket.verifyError;
  noteTlsOutcome(tls.report, target, { ok: true, verifyError: unverified });
  if (tls.testing !== undefined && unverified !== undefined) {
    logStsTesting(tls.testing, target, `certificate not verified: ${unverified}`);
  }
  return connection.session.tlsStarted();
}

/** Whether a TLS failure is the pinned certificate's verification (not the handshake itself). */
function isVerifyFailure(error: ClientSocketError): boolean {
  const code = String((error.cause as { code?: unknown } | undefined)?.code ?? "");
  return /CERT|VERIFY|SELF_SIGNED|ALTNAME|ISSUER/.test(code) ||
    /certificate|verif|self[- ]signed|altname/i.test(error.message);
}
