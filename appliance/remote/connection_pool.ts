/**
 * Client connections for remote delivery and their pool.
 *
 * ClientSocket wraps a node:net socket (bound to a chosen local address when
 * outgoingip/senderip/bindroutes ask for one) with reply reading, writes that
 * wait for the kernel, per-operation timeouts (timeoutremote), and the client
 * side of STARTTLS: node:tls `tls.connect({socket})` over the plain socket.
 *
 * ConnectionPool keeps idle connections per (ip, port, tls, auth user) so
 * several messages to one host share a connection (RSET between them, done
 * by the driver), closes idle ones after a bounded time (10 s by default),
 * and bounds the connections per destination (ip:port): a burst to one
 * domain waits for a slot instead of opening a connection per message.
 * Beyond qmail, which opens one connection per qmail-remote.
 */
import net from "node:net";
import tls from "node:tls";
import { byteString as latin1, byteStringBytes as latin1Bytes } from "../../config/byte_string.ts";

/** Why a connection or an operation on it failed. */
export type ClientFailure = "timeout" | "refused" | "bind" | "closed" | "tls" | "other";

export class ClientSocketError extends Error {
  readonly kind: ClientFailure;
  readonly temporary = true;
  constructor(kind: ClientFailure, message: string, options?: ErrorOptions) {
    super(message, options);
    this.kind = kind;
  }
}

export interface ConnectOptions {
  ip: string;
  port: number;
  /** Local address to bind (outgoingip, senderip, bindroutes). */
  localAddress?: string;
  timeoutMs: number;
}

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
}

/** Replies longer than this (all lines together) count as a broken connection. */
const MAX_REPLY_BYTES = 64 * 1024;

function sleepTimer(ms: number, onTimeout: () => void): () => void {
  const timer = setTimeout(onTimeout, ms);
  return () => clearTimeout(timer);
}

/** Opens a TCP connection as a ClientSocket; rejects with ClientSocketError. */
export async function connectClient(options: ConnectOptions): Promise<ClientSocket> {
  return new ClientSocket(await openSocket(options), options.ip, options.port);
}

/**
 * Opens a TCP connection (SMTP here, QMTP in qmtp_client.ts); rejects with
 * ClientSocketError (timeout, refused, bind, other).
 */
export function openSocket(options: ConnectOptions): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({
      host: options.ip,
      port: options.port,
      localAddress: options.localAddress,
    });
    let settled = false;
    const cancel = sleepTimer(options.timeoutMs, () => {
      if (settled) return;
      settled = true;
      socket.destroy();
      reject(new ClientSocketError("timeout", `Connection to ${options.ip} timed out`));
    });
    socket.once("error", (error: Error & { code?: string }) => {
      if (settled) return;
      settled = true;
      cancel();
      socket.destroy();
      const kind: ClientFailure = error.code === "ECONNREFUSED"
        ? "refused"
        : error.code === "EADDRNOTAVAIL" || error.code === "EINVAL"
        ? "bind"
        : error.code === "ETIMEDOUT"
        ? "timeout"
        : "other";
      reject(new ClientSocketError(kind, error.message, { cause: error }));
    });
    socket.once("connect", () => {
      if (settled) return;
      settled = true;
      cancel();
      resolve(socket);
    });
  });
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
    const servername = options.servername && net.isIP(options.servername) === 0
      ? options.servername
      : undefined;
    const secure = tls.connect({
      socket: plain,
      servername,
      ca: options.ca,
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

// --- The pool ---

/** What the pool needs of a connection. */
export interface Poolable {
  readonly closed: boolean;
  /** Closes an idle connection (QUIT, then close). */
  retire(): void;
}

export interface PoolOptions {
  /** Idle connections close after this long (default 10 s). */
  idleMs?: number;
  /** Connections (busy or being opened) per destination ip:port (default 10). */
  maxPerDestination?: number;
}

/** The identity of a reusable connection. */
export function poolKey(ip: string, port: number, tls: boolean, user?: string): string {
  return `${ip}|${port}|${tls ? "tls" : "plain"}|${user ?? ""}`;
}

interface IdleEntry<C> {
  connection: C;
  timer: ReturnType<typeof setTimeout>;
}

/** A held place for one connection to a destination; release exactly once. */
export type Slot = { release(): void };

export class ConnectionPool<C extends Poolable> {
  readonly #idleMs: number;
  readonly #maxPerDestination: number;
  readonly #idle = new Map<string, IdleEntry<C>[]>();
  readonly #busy = new Map<string, number>();
  readonly #waiting = new Map<string, (() => void)[]>();
  #closed = false;

  constructor(options: PoolOptions = {}) {
    this.#idleMs = options.idleMs ?? 10_000;
    this.#maxPerDestination = Math.max(1, options.maxPerDestination ?? 10);
  }

  /** Waits for a free place for one more connection to ip:port. */
  async acquire(destination: string): Promise<Slot> {
    for (;;) {
      const busy = this.#busy.get(destination) ?? 0;
      if (busy < this.#maxPerDestination) {
        this.#busy.set(destination, busy + 1);
        let released = false;
        return {
          release: () => {
            if (released) return;
            released = true;
            this.#releaseSlot(destination);
          },
        };
      }
      await new Promise<void>((resolve) => {
        const queue = this.#waiting.get(destination) ?? [];
        queue.push(resolve);
        this.#waiting.set(destination, queue);
      });
    }
  }

  #releaseSlot(destination: string): void {
    const busy = (this.#busy.get(destination) ?? 1) - 1;
    if (busy <= 0) this.#busy.delete(destination);
    else this.#busy.set(destination, busy);
    const queue = this.#waiting.get(destination);
    const next = queue?.shift();
    if (queue !== undefined && queue.length === 0) this.#waiting.delete(destination);
    next?.();
  }

  /** An idle connection for key that is still open, or undefined. */
  take(key: string): C | undefined {
    const entries = this.#idle.get(key);
    while (entries !== undefined && entries.length > 0) {
      const entry = entries.pop()!;
      clearTimeout(entry.timer);
      if (!entry.connection.closed) {
        if (entries.length === 0) this.#idle.delete(key);
        return entry.connection;
      }
    }
    this.#idle.delete(key);
    return undefined;
  }

  /** Parks a connection that finished a message cleanly (after RSET). */
  put(key: string, connection: C): void {
    if (this.#closed || connection.closed) {
      connection.retire();
      return;
    }
    const entries = this.#idle.get(key) ?? [];
    if (entries.length >= this.#maxPerDestination) {
      connection.retire();
      return;
    }
    const entry: IdleEntry<C> = {
      connection,
      timer: setTimeout(() => {
        const list = this.#idle.get(key);
        const index = list?.indexOf(entry) ?? -1;
        if (list !== undefined && index >= 0) {
          list.splice(index, 1);
          if (list.length === 0) this.#idle.delete(key);
        }
        connection.retire();
      }, this.#idleMs),
    };
    entries.push(entry);
    this.#idle.set(key, entries);
  }

  /** Idle connections per key (tests, status). */
  idleCount(key?: string): number {
    if (key !== undefined) return this.#idle.get(key)?.length ?? 0;
    let total = 0;
    for (const list of this.#idle.values()) total += list.length;
    return total;
  }

  /** Connections in use or being opened to a destination. */
  busyCount(destination: string): number {
    return this.#busy.get(destination) ?? 0;
  }

  /** Closes every idle connection and refuses to park more (drain). */
  close(): void {
    this.#closed = true;
    for (const list of this.#idle.values()) {
      for (const entry of list) {
        clearTimeout(entry.timer);
        entry.connection.retire();
      }
    }
    this.#idle.clear();
  }
}
