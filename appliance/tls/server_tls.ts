/**
 * The server side of TLS for STARTTLS and SMTPS: the secure context a new
 * session's handshake uses, and the check of a client's certificate, from
 * the files of tls_files.ts. TLS 1.2 is the minimum and TLS 1.3 is offered.
 *
 * Built on a home (`qmd smtpd` and `qmd pop3d` under tcpserver: one process
 * per session, as qmail-smtpd reads its files), context() stats the files
 * for each new session and rebuilds the context when one changed, so a
 * replaced certificate is used by the next session without a restart; a
 * broken new file is reported through onError and the last good files stay
 * in use. Built on TlsFiles (the appliance's isolates), it serves exactly
 * what the supervisor read and checked, and update() replaces it, so every
 * isolate serves the same certificate.
 */
import type tls from "node:tls";
import { checkClientCertificate, type ClientCertificateCheck } from "./client_certificate.ts";
import { type LoadedTls, loadTls, type TlsFiles, TlsFilesReader } from "./tls_files.ts";

export { TlsFileError } from "./tls_files.ts";

export interface ServerTlsOptions {
  /** A file could not be used; the message names it and says what stays in force. */
  onError?: (message: string) => void;
}

export class ServerTls {
  readonly #reader?: TlsFilesReader;
  readonly #onError: (message: string) => void;
  #loaded: LoadedTls;

  /** `source`: a home whose files are read here, or files the supervisor read. */
  constructor(source: string | TlsFiles, options: ServerTlsOptions = {}) {
    this.#onError = options.onError ?? (() => {});
    if (typeof source === "string") {
      this.#reader = new TlsFilesReader(source);
      this.#loaded = this.#reader.loaded;
      this.#refresh();
    } else {
      this.#loaded = loadTls({ client: { addresses: [] } });
      this.update(source);
    }
  }

  /** Serves `files` from the next session on (the appliance's isolates). */
  update(files: TlsFiles): void {
    try {
      this.#loaded = loadTls(files);
    } catch (error) {
      this.#onError(`${(error as Error).message}; still using the previous certificate`);
    }
  }

  /**
   * The SecureContext for a new session, or undefined when there is no
   * usable control/servercert.pem (then STARTTLS is not offered).
   */
  context(): tls.SecureContext | undefined {
    this.#refresh();
    return this.#loaded.context;
  }

  /**
   * What a new session's handshake needs: the current context, and whether to
   * ask for a client certificate (SMTP; POP3 with pop3clientcert); undefined without one.
   * The session never requires a certificate: it passes rejectUnauthorized:
   * false and decides with clientCertificate().
   */
  startOptions(
    clientCertificates: boolean,
  ): { secureContext: tls.SecureContext; requestCert: boolean } | undefined {
    const secureContext = this.context();
    if (secureContext === undefined) return undefined;
    return { secureContext, requestCert: clientCertificates && this.requestClientCert };
  }

  /**
   * Ask clients for a certificate: clientca.pem has a CA and tlsclients an
   * address (qmail asks only then).
   */
  get requestClientCert(): boolean {
    const { trust, context } = this.#loaded;
    return context !== undefined && trust.authorities.length > 0 && trust.addresses.length > 0;
  }

  /** control/tlsclients as last loaded. */
  clientAddresses(): string[] {
    return [...this.#loaded.trust.addresses];
  }

  /**
   * The client certificate on `socket` checked against clientca.pem,
   * clientcrl.pem and tlsclients (qmail's tls_verify). A failure's reason
   * is what qmail appends to "no valid cert for gatewaying: ".
   */
  clientCertificate(
    socket: tls.TLSSocket,
    now: Date = new Date(),
  ): Promise<ClientCertificateCheck> {
    const chain = peerChain(socket);
    const { trust } = this.#loaded;
    if (chain.length === 0 || trust.authorities.length === 0) return Promise.resolve({ ok: false });
    return checkClientCertificate(chain, trust, now);
  }

  /** The e-mail address of a verified client certificate listed in tlsclients, else undefined. */
  async clientCertificateEmail(socket: tls.TLSSocket): Promise<string | undefined> {
    const check = await this.clientCertificate(socket);
    return check.ok ? check.email : undefined;
  }

  #refresh(): void {
    if (this.#reader === undefined) return;
    for (const message of this.#reader.refresh()) this.#onError(message);
    this.#loaded = this.#reader.loaded;
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
