/**
 * Connection-driver options for tests: an SMTP and a POP3 session for
 * mx.example.test with no queue and no mailboxes behind them, and a
 * self-signed certificate's TLS hooks for STARTTLS, STLS and the implicit-TLS
 * ports. (In tests/, not appliance/net/: only tests may build TLS contexts
 * outside appliance/tls/; see tests/architecture_test.ts.)
 */
import tls from "node:tls";
import { createSelfSignedCertificate } from "../appliance/tls/self_signed.ts";
import type { Pop3ConnectionOptions } from "../appliance/net/pop3_connection.ts";
import type { SmtpConnectionOptions } from "../appliance/net/smtp_connection.ts";

/** The `tls` hook of both drivers, serving a fresh self-signed certificate for mx.example.test. */
export async function selfSignedTlsHook(): Promise<SmtpConnectionOptions["tls"]> {
  const certificate = await createSelfSignedCertificate({ commonName: "mx.example.test" });
  const secureContext = tls.createSecureContext({
    cert: certificate.certPem,
    key: certificate.keyPem,
  });
  return () => ({ secureContext, requestCert: false });
}

/** An SMTP session from 127.0.0.1 that offers STARTTLS and whose queue cannot be opened. */
export function testSmtpOptions(overrides: Partial<SmtpConnectionOptions>): SmtpConnectionOptions {
  return {
    session: {
      greeting: ["mx.example.test"],
      localHost: "mx.example.test",
      remoteIp: "127.0.0.1",
      remoteHost: "localhost",
      rcptHosts: null,
      databytes: 0,
      tls: { offered: true, active: false },
    },
    openQueue: () => Promise.reject(new Error("no queue in this test")),
    timeoutSeconds: 30,
    commandSeconds: 120,
    dataSeconds: 1200,
    maxLineLength: 1000,
    sessionId: "t.1",
    ...overrides,
  };
}

/** A POP3 session that offers no mechanisms and accepts no password; `tlsOffered` says whether STLS is offered. */
export function testPop3Options(
  tlsOffered: boolean,
  overrides: Partial<Pop3ConnectionOptions>,
): Pop3ConnectionOptions {
  return {
    session: {
      hostname: "mx.example.test",
      timestamp: "<1.2@mx.example.test>",
      tls: { offered: tlsOffered, active: false },
      plaintextAllowed: false,
      mechanisms: [],
      mechanismsTls: [],
      newChallenge: () => ({ challenge: "<1.2@mx.example.test>", nonce: "n" }),
    },
    timeoutSeconds: 30,
    commandSeconds: 120,
    maxLineLength: 1000,
    sessionId: "p.1",
    remoteIp: "192.0.2.1",
    verify: () => Promise.resolve({ ok: false, temporary: false }),
    ...overrides,
  };
}
