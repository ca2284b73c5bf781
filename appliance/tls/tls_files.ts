/**
 * The TLS control files of qmail-smtpd's TLS patch (docs/patches.md seed 001), read and
 * checked, with the last good set kept:
 *
 * - control/servercert.pem: the private key and the certificate chain in one
 *   PEM file (the server's certificate first, then intermediates; the key
 *   anywhere). Absent: no STARTTLS.
 * - control/tlsserverciphers: OpenSSL cipher list for TLS 1.2; lines are
 *   joined with ":" as the patch does.
 * - control/clientca.pem: CAs for client certificates; control/tlsclients:
 *   the e-mail addresses of client certificates that may relay.
 * - control/clientcrl.pem: CRLs for the CAs in clientca.pem.
 *
 * The dh512.pem, dh1024.pem and rsa512.pem files of the patch are not read:
 * the TLS layer uses ECDHE only, and export RSA no longer exists.
 *
 * TlsFilesReader notices a change by the files' stamps (inode, size, mtime,
 * ctime), so checking costs a few stat calls. A broken new file is reported
 * (never with key material) and the last good files stay in force. In the
 * appliance one reader, in the supervisor, decides for every isolate
 * (TlsFiles is plain data that crosses postMessage), so all of them serve
 * the same certificate; `qmd smtpd` under tcpserver reads for itself.
 */
import crypto from "node:crypto";
import tls from "node:tls";
import { ControlError, readControlList, readControlText } from "../../config/control.ts";
import type { ClientTrust } from "./client_certificate.ts";
import { parsePemBlocks, PemError } from "./pem.ts";
import { MailError } from "../mail_error.ts";

/** servercert.pem and tlsserverciphers, checked. */
export interface ServerFiles {
  /** PKCS#8 PEM. */
  key: string;
  /** The certificates, PEM, server's first. */
  chain: string;
  ciphers?: string;
}

/** clientca.pem, clientcrl.pem and tlsclients, checked. */
export interface ClientFiles {
  caPem?: string;
  crlPem?: string;
  addresses: string[];
}

/** Every TLS control file a server needs, as plain data; no server = no STARTTLS. */
export interface TlsFiles {
  server?: ServerFiles;
  client: ClientFiles;
}

export const NO_TLS_FILES: TlsFiles = { client: { addresses: [] } };

/** TlsFiles turned into what a handshake and a client-certificate check use. */
export interface LoadedTls {
  files: TlsFiles;
  /** Undefined without a server certificate. */
  context?: tls.SecureContext;
  trust: ClientTrust;
}

/** A control file for TLS that exists but cannot be used. */
/** Temporary: the operator has to fix the file; until then qmd keeps what it had. */
export class TlsFileError extends MailError {
  constructor(readonly file: string, readonly reason: string) {
    super(`${file}: ${reason}`, { temporary: true });
    this.name = "TlsFileError";
  }
}

const SERVER_FILES = ["servercert.pem", "tlsserverciphers"];
const CLIENT_FILES = ["clientca.pem", "clientcrl.pem", "tlsclients"];
const KEY_LABELS = new Set(["PRIVATE KEY", "RSA PRIVATE KEY", "EC PRIVATE KEY"]);

/**
 * Builds the secure context and the client trust from files. Throws
 * TlsFileError when the TLS layer refuses them (e.g. a bad cipher list).
 */
export function loadTls(files: TlsFiles, home = "HOME"): LoadedTls {
  const trust = parseClientTrust(files.client, home);
  if (files.server === undefined) return { files, trust };
  try {
    const context = tls.createSecureContext({
      key: files.server.key,
      cert: files.server.chain,
      ciphers: files.server.ciphers,
      minVersion: "TLSv1.2",
      ca: files.client.caPem,
      crl: files.client.crlPem,
    });
    return { files, context, trust };
  } catch (error) {
    throw new TlsFileError(
      `${home}/control/servercert.pem`,
      `cannot build a TLS context: ${(error as Error).message}`,
    );
  }
}

/** Reads the TLS control files of one home when they change, keeping the last good ones. */
export class TlsFilesReader {
  readonly #home: string;
  #serverStamp?: string;
  #clientStamp?: string;
  #clientLoaded = false;
  #loaded: LoadedTls;
  #generation = 0;

  constructor(home: string) {
    this.#home = home;
    this.#loaded = loadTls(NO_TLS_FILES, home);
  }

  /** The files in force: the last good ones. */
  get loaded(): LoadedTls {
    return this.#loaded;
  }

  /** Counts the changes of `loaded`. */
  get generation(): number {
    return this.#generation;
  }

  /**
   * Re-reads the files whose stamps changed (every file when `force`, as on
   * SIGHUP). Returns one message per broken file, each saying what stays in
   * force; the message never holds key material.
   */
  refresh(force = false): string[] {
    const serverStamp = this.#stamp(SERVER_FILES);
    const clientStamp = this.#stamp(CLIENT_FILES);
    const serverChanged = force || serverStamp !== this.#serverStamp;
    const clientChanged = force || clientStamp !== this.#clientStamp;
    if (!serverChanged && !clientChanged) return [];
    const errors: string[] = [];
    const current = this.#loaded.files;
    let server = current.server;
    let client = current.client;
    if (serverChanged) {
      this.#serverStamp = serverStamp;
      try {
        server = loadServerFiles(this.#home);
      } catch (error) {
        errors.push(report(error, current.server ? PREVIOUS_CERTIFICATE : STARTTLS_OFF));
      }
    }
    let clientRead = false;
    if (clientChanged) {
      this.#clientStamp = clientStamp;
      try {
        client = loadClientFiles(this.#home);
        clientRead = true;
      } catch (error) {
        errors.push(report(
          error,
          this.#clientLoaded
            ? "still using the previous client certificate settings"
            : "client certificates do not allow relaying until it is fixed",
        ));
      }
    }
    const next = { server, client };
    if (JSON.stringify(next) !== JSON.stringify(current)) {
      try {
        this.#loaded = loadTls(next, this.#home);
      } catch (error) {
        errors.push(report(error, current.server ? PREVIOUS_CERTIFICATE : STARTTLS_OFF));
        return errors;
      }
      this.#generation++;
    }
    if (clientRead) this.#clientLoaded = true;
    return errors;
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

const PREVIOUS_CERTIFICATE = "still using the previous certificate";
const STARTTLS_OFF = "STARTTLS is off until it is fixed";

function report(error: unknown, consequence: string): string {
  const message = error instanceof TlsFileError || error instanceof ControlError
    ? error.message
    : `TLS files: ${(error as Error).message}`;
  return `${message}; ${consequence}`;
}

/** What the banner and showctl say about the certificate served. */
export type CertificateSummary =
  | { kind: "none" }
  | { kind: "self-signed"; commonName: string; expires: Date }
  | { kind: "issued"; commonName: string; issuer: string; expires: Date };

/** Describes the server certificate of `files` (its subject, issuer and expiry). */
export function summarizeServerCertificate(files: TlsFiles): CertificateSummary {
  if (files.server === undefined) return { kind: "none" };
  const [first] = parsePemBlocks(files.server.chain);
  const certificate = new crypto.X509Certificate(first.der);
  const commonName = nameField(certificate.subject, "CN") ?? certificate.subject;
  const expires = new Date(certificate.validTo);
  const selfSigned = certificate.subject === certificate.issuer &&
    certificate.verify(certificate.publicKey);
  if (selfSigned) return { kind: "self-signed", commonName, expires };
  const issuer = nameField(certificate.issuer, "CN") ?? nameField(certificate.issuer, "O") ??
    certificate.issuer;
  return { kind: "issued", commonName, issuer, expires };
}

/** One attribute of node:crypto's multi-line distinguished name text. */
function nameField(name: string, field: string): string | undefined {
  const line = name.split("\n").find((entry) => entry.startsWith(`${field}=`));
  return line?.slice(field.length + 1);
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
    ...(ciphers === undefined || ciphers === "" ? {} : { ciphers }),
  };
}

/** clientca.pem, clientcrl.pem and tlsclients, checked by parsing them. */
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
  const crlFile = `${home}/control/clientcrl.pem`;
  const crlText = readControlText(home, "clientcrl.pem");
  const crlBlocks = crlText === undefined
    ? []
    : parsePem(crlFile, crlText).filter((block) => block.label === "X509 CRL");
  if (crlText !== undefined && crlBlocks.length === 0) {
    throw new TlsFileError(crlFile, "no X509 CRL block");
  }
  const files: ClientFiles = {
    addresses,
    ...(caBlocks.length === 0 ? {} : { caPem: caBlocks.map((block) => block.text).join("") }),
    ...(crlBlocks.length === 0 ? {} : { crlPem: crlBlocks.map((block) => block.text).join("") }),
  };
  parseClientTrust(files, home);
  // Checked with the TLS layer's own CRL reader, which reads clientcrl.pem into
  // the secure context anyway (loadTls). @peculiar/x509 reads the CRLs only
  // when a client sends a certificate (checkClientCertificate), so neither the
  // supervisor's start nor a `qmd smtpd` session without one pays for loading it.
  crlBlocks.forEach((block, index) => {
    try {
      tls.createSecureContext({ crl: block.text });
    } catch {
      throw new TlsFileError(crlFile, `CRL ${index + 1} is not a valid X.509 CRL`);
    }
  });
  return files;
}

/**
 * The parsed CAs and the CRLs (DER, read when a client first sends a
 * certificate) of checked client files. Throws TlsFileError.
 */
function parseClientTrust(client: ClientFiles, home: string): ClientTrust {
  const caFile = `${home}/control/clientca.pem`;
  const authorities = client.caPem === undefined ? [] : parsePem(caFile, client.caPem).map(
    (block, index) => {
      try {
        return new crypto.X509Certificate(block.der);
      } catch {
        throw new TlsFileError(caFile, `certificate ${index + 1} is not a valid X.509 certificate`);
      }
    },
  );
  const revocationLists = client.crlPem === undefined
    ? undefined
    : parsePem(`${home}/control/clientcrl.pem`, client.crlPem).map((block) => block.der);
  return { authorities, revocationLists, addresses: client.addresses };
}

function parsePem(file: string, text: string) {
  try {
    return parsePemBlocks(text);
  } catch (error) {
    if (error instanceof PemError) throw new TlsFileError(file, error.message);
    throw error;
  }
}
