/**
 * The server side of TLS for STARTTLS and SMTPS, from the control files of
 * qmail-smtpd's TLS patch (seed 001):
 *
 * - control/servercert.pem: the private key and the certificate chain in one
 *   PEM file (the server's certificate first, then intermediates; the key
 *   anywhere). Absent: no STARTTLS.
 * - control/tlsserverciphers: OpenSSL cipher list for TLS 1.2; lines are
 *   joined with ":" as the patch does.
 * - control/clientca.pem: CAs for client certificates; control/tlsclients:
 *   the e-mail addresses of client certificates that may relay. With both,
 *   clients are asked for a certificate (never required).
 * - control/clientcrl.pem: CRLs for the CAs in clientca.pem.
 *
 * TLS 1.2 is the minimum and TLS 1.3 is offered. The dh512.pem, dh1024.pem
 * and rsa512.pem files of the patch are not read: the TLS layer uses ECDHE
 * only, and export RSA no longer exists.
 *
 * context() is called for each new session. It stats the files (cheap) and
 * rebuilds the context when one changed (inode, size, mtime or ctime), so a
 * replaced certificate is used by the next session without a restart or
 * SIGHUP. A broken new file is reported through onError (never with key
 * material) and the last good files stay in use.
 */
import crypto from "node:crypto";
import tls from "node:tls";
import { ControlError, readControlList, readControlText } from "../../config/control.ts";
import { parseRevocationList, type RevocationList } from "./certificate.ts";
import {
  checkClientCertificate,
  type ClientCertificateCheck,
  type ClientTrust,
} from "./client_certificate.ts";
import { parsePemBlocks, PemError } from "./pem.ts";

export interface ServerTlsOptions {
  /** A file could not be used; the message names it and says what stays in force. */
  onError?: (message: string) => void;
}

/** A control file for TLS that exists but cannot be used. */
export class TlsFileError extends Error {
  /** The operator has to fix the file; until then qmd keeps what it had. */
  readonly temporary = true;
  constructor(readonly file: string, readonly reason: string) {
    super(`${file}: ${reason}`);
    this.name = "TlsFileError";
  }
}

const SERVER_FILES = ["servercert.pem", "tlsserverciphers"];
const CLIENT_FILES = ["clientca.pem", "clientcrl.pem", "tlsclients"];
const KEY_LABELS = new Set(["PRIVATE KEY", "RSA PRIVATE KEY", "EC PRIVATE KEY"]);

interface ServerFiles {
  /** PKCS#8 PEM. */
  key: string;
  /** The certificates, PEM, server's first. */
  chain: string;
  ciphers?: string;
}

interface ClientFiles {
  trust: ClientTrust;
  caPem?: string;
  crlPem?: string;
}

const NO_CLIENT_FILES: ClientFiles = { trust: { authorities: [], addresses: [] } };

export class ServerTls {
  readonly #home: string;
  readonly #onError: (message: string) => void;
  #serverStamp?: string;
  #clientStamp?: string;
  #server?: ServerFiles;
  #client: ClientFiles = NO_CLIENT_FILES;
  #clientLoaded = false;
  #context?: tls.SecureContext;

  constructor(home: string, options: ServerTlsOptions = {}) {
    this.#home = home;
    this.#onError = options.onError ?? (() => {});
    this.#refresh();
  }

  /**
   * The SecureContext for a new session, or undefined when there is no
   * usable control/servercert.pem (then STARTTLS is not offered).
   */
  context(): tls.SecureContext | undefined {
    this.#refresh();
    return this.#context;
  }

  /**
   * Ask clients for a certificate: clientca.pem has a CA and tlsclients an
   * address (qmail asks only then). The session never requires one; pass
   * rejectUnauthorized: false and decide with clientCertificate().
   */
  /**
   * What a new session's handshake needs: the current context, and whether to
   * ask for a client certificate (never for POP3); undefined without one.
   */
  startOptions(
    clientCertificates: boolean,
  ): { secureContext: tls.SecureContext; requestCert: boolean } | undefined {
    const secureContext = this.context();
    if (secureContext === undefined) return undefined;
    return { secureContext, requestCert: clientCertificates && this.requestClientCert };
  }

  get requestClientCert(): boolean {
    const { trust } = this.#client;
    return this.#context !== undefined && trust.authorities.length > 0 &&
      trust.addresses.length > 0;
  }

  /** control/tlsclients as last loaded. */
  clientAddresses(): string[] {
    return [...this.#client.trust.addresses];
  }

  /**
   * The client certificate on `socket` checked against clientca.pem,
   * clientcrl.pem and tlsclients (qmail's tls_verify). A failure's reason
   * is what qmail appends to "no valid cert for gatewaying: ".
   */
  clientCertificate(socket: tls.TLSSocket, now: Date = new Date()): ClientCertificateCheck {
    const chain = peerChain(socket);
    if (chain.length === 0 || this.#client.trust.authorities.length === 0) return { ok: false };
    return checkClientCertificate(chain, this.#client.trust, now);
  }

  /** The e-mail address of a verified client certificate listed in tlsclients, else undefined. */
  clientCertificateEmail(socket: tls.TLSSocket): string | undefined {
    const check = this.clientCertificate(socket);
    return check.ok ? check.email : undefined;
  }

  #refresh(): void {
    const serverStamp = this.#stamp(SERVER_FILES);
    const clientStamp = this.#stamp(CLIENT_FILES);
    if (serverStamp === this.#serverStamp && clientStamp === this.#clientStamp) return;
    let server = this.#server;
    let client = this.#client;
    if (serverStamp !== this.#serverStamp) {
      this.#serverStamp = serverStamp;
      try {
        server = loadServerFiles(this.#home);
      } catch (error) {
        this.#report(
          error,
          this.#server
            ? "still using the previous certificate"
            : "STARTTLS is off until it is fixed",
        );
      }
    }
    if (clientStamp !== this.#clientStamp) {
      this.#clientStamp = clientStamp;
      try {
        client = loadClientFiles(this.#home);
      } catch (error) {
        this.#report(
          error,
          this.#clientLoaded
            ? "still using the previous client certificate settings"
            : "client certificates do not allow relaying until it is fixed",
        );
      }
    }
    if (server === this.#server && client === this.#client) return;
    let context: tls.SecureContext | undefined;
    if (server !== undefined) {
      try {
        context = tls.createSecureContext({
          key: server.key,
          cert: server.chain,
          ciphers: server.ciphers,
          minVersion: "TLSv1.2",
          ca: client.caPem,
          crl: client.crlPem,
        });
      } catch (error) {
        const file = `${this.#home}/control/servercert.pem`;
        this.#report(
          new TlsFileError(file, `cannot build a TLS context: ${(error as Error).message}`),
          this.#context
            ? "still using the previous certificate"
            : "STARTTLS is off until it is fixed",
        );
        return;
      }
    }
    if (client !== this.#client) this.#clientLoaded = true;
    this.#server = server;
    this.#client = client;
    this.#context = context;
  }

  #report(error: unknown, consequence: string): void {
    const message = error instanceof TlsFileError || error instanceof ControlError
      ? error.message
      : `TLS files: ${(error as Error).message}`;
    this.#onError(`${message}; ${consequence}`);
  }

  /** What identifies the files' current contents without reading them. */
  #stamp(names: string[]): string {
    return names.map((name) => {
      try {
        const info = Deno.statSync(`${this.#home}/control/${name}`);
        return `${info.ino}/${info.size}/${info.mtime?.getTime()}/${info.ctime?.getTime()}`;
      } catch (error) {
        return error instanceof Deno.errors.NotFound ? "-" : `error ${(error as Error).name}`;
      }
    }).join(" ");
  }
}

/** servercert.pem (and tlsserverciphers); undefined when servercert.pem is absent. */
function loadServerFiles(home: string): ServerFiles | undefined {
  const file = `${home}/control/servercert.pem`;
  const text = readControlText(home, "servercert.pem");
  if (text === undefined) return undefined;
  const blocks = parsePem(file, text);
  if (
    blocks.some((block) =>
      block.label === "ENCRYPTED PRIVATE KEY" ||
      (KEY_LABELS.has(block.label) && /ENCRYPTED/.test(block.headers["proc-type"] ?? ""))
    )
  ) {
    throw new TlsFileError(file, "the private key is encrypted; qmd needs it without a passphrase");
  }
  const keys = blocks.filter((block) => KEY_LABELS.has(block.label));
  if (keys.length === 0) throw new TlsFileError(file, "no private key");
  if (keys.length > 1) throw new TlsFileError(file, "more than one private key");
  const certificates = blocks.filter((block) => block.label === "CERTIFICATE");
  if (certificates.length === 0) throw new TlsFileError(file, "no certificate");

  let key: crypto.KeyObject;
  try {
    key = crypto.createPrivateKey(keys[0].text);
  } catch {
    throw new TlsFileError(file, `the ${keys[0].label} block is not a usable private key`);
  }
  const x509 = certificates.map((block, index) => {
    try {
      return new crypto.X509Certificate(block.der);
    } catch {
      throw new TlsFileError(file, `certificate ${index + 1} is not a valid X.509 certificate`);
    }
  });
  if (!x509[0].checkPrivateKey(key)) {
    throw new TlsFileError(
      file,
      x509.some((certificate) => certificate.checkPrivateKey(key))
        ? "the certificate for the private key must come before the other certificates"
        : "the private key does not belong to the certificate",
    );
  }
  const ciphers = readControlList(home, "tlsserverciphers")?.map((entry) => entry.value).join(":");
  return {
    key: String(key.export({ type: "pkcs8", format: "pem" })),
    chain: certificates.map((block) => block.text).join(""),
    ciphers: ciphers === undefined || ciphers === "" ? undefined : ciphers,
  };
}

/** clientca.pem, clientcrl.pem and tlsclients. */
function loadClientFiles(home: string): ClientFiles {
  const addresses = (readControlList(home, "tlsclients") ?? []).map((entry) => entry.value);
  const caFile = `${home}/control/clientca.pem`;
  const caText = readControlText(home, "clientca.pem");
  const caBlocks = caText === undefined
    ? []
    : parsePem(caFile, caText).filter((block) => block.label === "CERTIFICATE");
  if (caText !== undefined && caBlocks.length === 0) {
    throw new TlsFileError(caFile, "no certificate");
  }
  const authorities = caBlocks.map((block, index) => {
    try {
      return new crypto.X509Certificate(block.der);
    } catch {
      throw new TlsFileError(caFile, `certificate ${index + 1} is not a valid X.509 certificate`);
    }
  });

  const crlFile = `${home}/control/clientcrl.pem`;
  const crlText = readControlText(home, "clientcrl.pem");
  let revocationLists: RevocationList[] | undefined;
  let crlPem: string | undefined;
  if (crlText !== undefined) {
    const crlBlocks = parsePem(crlFile, crlText).filter((block) => block.label === "X509 CRL");
    if (crlBlocks.length === 0) throw new TlsFileError(crlFile, "no X509 CRL block");
    revocationLists = crlBlocks.map((block, index) => {
      try {
        return parseRevocationList(block.der);
      } catch {
        throw new TlsFileError(crlFile, `CRL ${index + 1} is not a valid X.509 CRL`);
      }
    });
    crlPem = crlBlocks.map((block) => block.text).join("");
  }
  return {
    trust: { authorities, revocationLists, addresses },
    caPem: caBlocks.length === 0 ? undefined : caBlocks.map((block) => block.text).join(""),
    crlPem,
  };
}

function parsePem(file: string, text: string) {
  try {
    return parsePemBlocks(text);
  } catch (error) {
    if (error instanceof PemError) throw new TlsFileError(file, error.message);
    throw error;
  }
}

/** The client's certificate and the intermediates it sent, DER, from a TLS socket. */
function peerChain(socket: tls.TLSSocket): Uint8Array[] {
  const chain: Uint8Array[] = [];
  let certificate: tls.DetailedPeerCertificate | undefined = socket.getPeerCertificate(true);
  while (certificate?.raw !== undefined && chain.length < 10) {
    const der = new Uint8Array(certificate.raw);
    if (chain.some((seen) => seen.length === der.length && seen.every((b, i) => b === der[i]))) {
      break; // a self-signed root points at itself
    }
    chain.push(der);
    certificate = certificate.issuerCertificate;
  }
  return chain;
}
