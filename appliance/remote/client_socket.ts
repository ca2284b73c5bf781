/**
 * The remote SMTP client's connection: a socket from openSocket
 * (open_socket.ts) with reply reading, writes that wait for the kernel,
 * per-operation timeouts (timeoutremote), and the client side of STARTTLS:
 * node:tls `tls.connect({socket})` over the plain socket.
 */
import net from "node:net";
import tls from "node:tls";
import { byteString as latin1, byteStringBytes as latin1Bytes } from "../../config/byte_string.ts";
import { ClientSocketError, type ConnectOptions, openSocket, sleepTimer } from "./open_socket.ts";

export interface StartTlsOptions {
  /** SNI and the name checked against the certificate (tlshosts/<FQDN>.pem). */
  servername?: string;
  /** Trusted CA(s) in PEM: when set, the server certificate must verify and match servername. */
  ca?: string;
  /** Client certificate and key in PEM (control/clientcert.pem holds both). */
  cert?: string;
  key?: string;
  /** OpenSSL cipher list (control/tlsclientciphers). */
  ciphers?: string;
  timeoutMs: number;
  /**
   * Verification without a pin (MTA-STS, RFC 8461 §4.2): the chain must lead
   * to one of `ca` (the system roots plus control/remoteca.pem) and name
   * `servername`. "require" fails the handshake otherwise; "report" goes on
   * and keeps the reason in verifyError.
   */
  verify?: { ca: string[]; mode: "require" | "report" };
  /**
   * DANE (RFC 7672): the presented chain (DER, the server's certificate
   * first) is checked by this; a text is the reason it fails the handshake.
   */
  checkChain?: (chain: Uint8Array[]) => string | undefined;
}

/** The presented chain, DER, the server's certificate first (node:tls's linked list). */
function peerChain(secure: tls.TLSSocket): Uint8Array[] {
  const chain: Uint8Array[] = [];
  let certificate: tls.DetailedPeerCertificate | undefined = secure.getPeerCertificate(true);
  while (certificate?.raw !== undefined && chain.length < 16) {
    chain.push(new Uint8Array(certificate.raw));
    const next: tls.DetailedPeerCertificate | undefined = certificate.issuerCertificate;
    if (next === undefined || next === certificate) break;
    certificate = next;
  }
  return chain;
}

/** Why the server's certificate does not verify for `servername` (undefined: it does). */
function verificationFailure(secure: tls.TLSSocket, servername: string): string | undefined {
  if (!secure.authorized) return String(secure.authorizationError ?? "certificate not verified");
  const mismatch = tls.checkServerIdentity(servername, secure.getPeerCertificate());
  return mismatch === undefined ? undefined : mismatch.message;
}

/** A verification failure as the error the session is told of (starttls.ts reads the code). */
function verifyError(reason: string): Error {
  return Object.assign(new Error(reason), { code: "ERR_TLS_CERT_VERIFY" });
}

/** Replies longer than this (all lines together) count as a broken connection. */
const MAX_REPLY_BYTES = 64 * 1024;

/** The system's trust anchors (PEM), for verified TLS without a pin (MTA-STS). */
export function systemRootCertificates(): string[] {
  return [...tls.rootCertificates];
}

/** Opens a TCP connection as a ClientSocket; rejects with ClientSocketError. */
export async function connectClient(options: ConnectOptions): Promise<ClientSocket> {
  return new ClientSocket(await openSocket(options), options.ip, options.port);
}

/** One client connection: replies in, commands and body out. */
export class ClientSocket {
  readonly ip: string;
  readonly port: number;
  #stream: net.Socket | tls.TLSSocket;
  #chunks: Uint8Array[] = [];
  #buffered = new Uint8Array(0);
  #ended = false;
  #failure: Error | undefined;
  #wake: (() => void) | undefined;
  #tls = false;
  #verifyError: string | undefined;
  readonly #onData = (chunk: Uint8Array) => {
    this.#chunks.push(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength));
    this.#wake?.();
  };
  readonly #onEnd = () => {
    this.#ended = true;
    this.#wake?.();
  };
  readonly #onError = (error: Error) => {
    this.#failure ??= error;
    this.#ended = true;
    this.#wake?.();
  };

  constructor(socket: net.Socket, ip: string, port: number) {
    this.ip = ip;
    this.port = port;
    this.#stream = socket;
    socket.setNoDelay(true);
    this.#attach(socket);
  }

  #attach(stream: net.Socket): void {
    this.#stream = stream;
    stream.on("data", this.#onData);
    stream.on("end", this.#onEnd);
    stream.on("close", this.#onEnd);
    stream.on("error", this.#onError);
  }

  #detach(): void {
    this.#stream.off("data", this.#onData);
    this.#stream.off("end", this.#onEnd);
    this.#stream.off("close", this.#onEnd);
    this.#stream.off("error", this.#onError);
  }

  /** Whether the connection is encrypted. */
  get tls(): boolean {
    return this.#tls;
  }

  /** With verify "report": why the server's certificate did not verify (undefined: it did). */
  get verifyError(): string | undefined {
    return this.#verifyError;
  }

  /** Whether the peer closed or the connection failed. */
  get closed(): boolean {
    return this.#ended || this.#stream.destroyed;
  }

  /** The local address the connection came from. */
  get localAddress(): string | undefined {
    return this.#stream.localAddress;
  }

  /** Whether bytes the server sent are waiting unread (an idle server should send none). */
  get hasPendingInput(): boolean {
    return this.#buffered.length > 0 || this.#chunks.length > 0;
  }

  async #fill(timeoutMs: number): Promise<void> {
    if (this.#chunks.length === 0) {
      if (this.#ended) {
        throw new ClientSocketError("closed", "Connection closed", { cause: this.#failure });
      }
      let timedOut = false;
      const cancel = sleepTimer(timeoutMs, () => {
        timedOut = true;
        this.#wake?.();
      });
      try {
        while (this.#chunks.length === 0 && !this.#ended && !timedOut) {
          await new Promise<void>((resolve) => this.#wake = resolve);
          this.#wake = undefined;
        }
      } finally {
        cancel();
      }
      if (this.#chunks.length === 0) {
        if (timedOut) {
          this.destroy();
          throw new ClientSocketError("timeout", "Timed out waiting for a reply");
        }
        throw new ClientSocketError("closed", "Connection closed", { cause: this.#failure });
      }
    }
    const joined = new Uint8Array(
      this.#buffered.length + this.#chunks.reduce((n, c) => n + c.length, 0),
    );
    joined.set(this.#buffered);
    let offset = this.#buffered.length;
    for (const chunk of this.#chunks) {
      joined.set(chunk, offset);
      offset += chunk.length;
    }
    this.#chunks = [];
    this.#buffered = joined;
  }

  /**
   * Reads one whole reply: every line (CR and LF removed, bytes as Latin-1)
   * up to the first whose fourth character is not "-".
   */
  async readReply(timeoutMs: number): Promise<string[]> {
    const lines: string[] = [];
    let total = 0;
    for (;;) {
      const lf = this.#buffered.indexOf(0x0a);
      if (lf < 0) {
        if (this.#buffered.length > MAX_REPLY_BYTES) {
          this.destroy();
          throw new ClientSocketError("other", "Reply too long");
        }
        await this.#fill(timeoutMs);
        continue;
      }
      let end = lf;
      if (end > 0 && this.#buffered[end - 1] === 0x0d) end--;
      const line = latin1(this.#buffered.subarray(0, end));
      this.#buffered = this.#buffered.subarray(lf + 1);
      total += line.length;
      if (total > MAX_REPLY_BYTES) {
        this.destroy();
        throw new ClientSocketError("other", "Reply too long");
      }
      lines.push(line);
      if (line.length < 4 || line[3] !== "-") return lines;
    }
  }

  /** Writes and waits until the bytes are handed to the kernel. */
  write(data: Uint8Array | string, timeoutMs: number): Promise<void> {
    if (this.closed) {
      return Promise.reject(new ClientSocketError("closed", "Connection closed"));
    }
    const bytes = typeof data === "string" ? latin1Bytes(data) : data;
    return new Promise((resolve, reject) => {
      let done = false;
      const cancel = sleepTimer(timeoutMs, () => {
        if (done) return;
        done = true;
        this.destroy();
        reject(new ClientSocketError("timeout", "Timed out writing"));
      });
      this.#stream.write(bytes, (error) => {
        if (done) return;
        done = true;
        cancel();
        if (error) reject(new ClientSocketError("closed", error.message, { cause: error }));
        else resolve();
      });
    });
  }

  /**
   * The client side of STARTTLS (RFC 3207) after the server's 220. With `ca`
   * the certificate must verify against it and match `servername`; a failure
   * rejects with kind "tls" and the connection is destroyed (never plain).
   */
  startTls(options: StartTlsOptions): Promise<void> {
    const plain = this.#stream as net.Socket;
    this.#detach();
    this.#chunks = [];
    this.#buffered = new Uint8Array(0);
    const pinned = options.ca !== undefined;
    const verify = pinned ? undefined : options.verify;
    const servername = options.servername && net.isIP(options.servername) === 0
      ? options.servername
      : undefined;
    const secure = tls.connect({
      socket: plain,
      servername,
      ca: options.ca ?? verify?.ca,
      cert: options.cert,
      key: options.key,
      ciphers: options.ciphers,
      minVersion: "TLSv1.2",
      rejectUnauthorized: pinned,
      checkServerIdentity: pinned
        ? (_host, certificate) =>
          tls.checkServerIdentity(options.servername ?? this.ip, certificate)
        : () => undefined,
    });
    return new Promise((resolve, reject) => {
      let done = false;
      const fail = (error: Error) => {
        if (done) return;
        done = true;
        cancel();
        secure.destroy();
        plain.destroy();
        this.#ended = true;
        reject(new ClientSocketError("tls", error.message, { cause: error }));
      };
      const cancel = sleepTimer(
        options.timeoutMs,
        () => fail(new Error("TLS handshake timed out")),
      );
      secure.once("error", fail);
      secure.once("close", () => fail(new Error("Connection closed during the TLS handshake")));
      secure.once("secureConnect", () => {
        if (done) return;
        if (pinned && !secure.authorized) {
          fail(new Error(String(secure.authorizationError ?? "certificate not verified")));
          return;
        }
        if (verify !== undefined) {
          const failure = verificationFailure(secure, options.servername ?? this.ip);
          if (failure !== undefined && verify.mode === "require") {
            fail(verifyError(failure));
            return;
          }
          this.#verifyError = failure;
        }
        const refused = options.checkChain?.(peerChain(secure));
        if (refused !== undefined) {
          fail(verifyError(refused));
          return;
        }
        done = true;
        cancel();
        secure.removeAllListeners("error");
        secure.removeAllListeners("close");
        this.#tls = true;
        this.#attach(secure);
        resolve();
      });
    });
  }

  /**
   * The next bytes the peer sent (at most what is buffered), or undefined at
   * the end of the stream; for the MTA-STS policy fetch (mta_sts_fetch.ts).
   */
  async readSome(timeoutMs: number): Promise<Uint8Array | undefined> {
    if (this.#buffered.length === 0) {
      try {
        await this.#fill(timeoutMs);
      } catch (error) {
        if (error instanceof ClientSocketError && error.kind === "closed") return undefined;
        throw error;
      }
    }
    const bytes = this.#buffered;
    this.#buffered = new Uint8Array(0);
    return bytes;
  }

  /** Ends politely (after QUIT) and destroys shortly after. */
  close(): void {
    this.#stream.end();
    const stream = this.#stream;
    const timer = setTimeout(() => stream.destroy(), 1000);
    stream.once("close", () => clearTimeout(timer));
  }

  destroy(): void {
    this.#ended = true;
    this.#stream.destroy();
  }
}
