/**
 * The live side of transcript runs: a loopback listener that hands its one
 * connection to a connection driver, the client end over a real socket
 * (plain, STARTTLS/STLS or TLS from the first byte, with a real
 * certificate), and the driver's pauses recorded where they fall in the
 * byte stream instead of waited for.
 */
import net from "node:net";
import tls from "node:tls";
import type { TlsStartOptions, Transport } from "../appliance/net/smtp_connection.ts";
import { createSelfSignedCertificate } from "../appliance/tls/self_signed.ts";
import type { ServerItem, TranscriptClient } from "./transcript_play.ts";

/** How long the client waits for the server's next line or its close. */
const LINE_WAIT_MS = 10_000;

/** The host name the test certificate is for. */
export const TLS_SERVER_NAME = "mx.example.net";

/** Made once when this module loads (WebCrypto signing is asynchronous). */
const certificate = await createSelfSignedCertificate({ commonName: TLS_SERVER_NAME });
let serverTls: TlsStartOptions | undefined;

function testCertificate(): { certPem: string; keyPem: string } {
  return certificate;
}

/** The server's TLS settings: a self-signed certificate for TLS_SERVER_NAME, made once. */
export function testTlsOptions(): TlsStartOptions {
  const { certPem, keyPem } = testCertificate();
  serverTls ??= {
    secureContext: tls.createSecureContext({ cert: certPem, key: keyPem }),
    requestCert: false,
  };
  return serverTls;
}

/**
 * The driver's pauses on a live connection: each is recorded at the count of
 * bytes the driver had written before it (the drivers write out what they
 * queued before they pause), so the client reads it in its place.
 */
export class PauseRecorder {
  readonly pauses: Array<{ offset: number; seconds: number }> = [];
  #written = 0;

  /** The transport, counting the bytes the driver writes. */
  wrap(inner: Transport): Transport {
    return {
      read: () => inner.read(),
      write: (bytes) => {
        this.#written += bytes.length;
        return inner.write(bytes);
      },
      close: () => inner.close(),
      startTls: inner.startTls?.bind(inner),
    };
  }

  /** The driver's `sleep`: recorded, not waited for. */
  readonly sleep = (seconds: number): Promise<void> => {
    this.pauses.push({ offset: this.#written, seconds });
    return Promise.resolve();
  };
}

/** A loopback listener for one run: every connection goes to `serve`. */
export class LoopbackServer {
  readonly #server: net.Server;
  readonly #sessions: Promise<void>[] = [];

  private constructor(server: net.Server) {
    this.#server = server;
  }

  static async listen(serve: (socket: net.Socket) => Promise<void>): Promise<LoopbackServer> {
    const server = net.createServer();
    const loopback = new LoopbackServer(server);
    server.on("connection", (socket) => {
      socket.on("error", () => {});
      loopback.#sessions.push(serve(socket));
    });
    await new Promise<void>((resolve) => server.listen({ host: "127.0.0.1", port: 0 }, resolve));
    return loopback;
  }

  get port(): number {
    return (this.#server.address() as net.AddressInfo).port;
  }

  /** Waits for the sessions to end and stops listening. */
  async close(): Promise<void> {
    await Promise.allSettled(this.#sessions);
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }
}

/** The client end over a loopback socket. */
export class SocketClient implements TranscriptClient {
  #socket: net.Socket;
  #buffer: Uint8Array = new Uint8Array(0);
  /** Bytes of the server's output read as lines so far. */
  #consumed = 0;
  #ended = false;
  #wakers: Array<() => void> = [];
  /** Chunks received so far (data or the close since a wait began wakes it). */
  #received = 0;
  #recorder: PauseRecorder;
  #pausesRead = 0;
  #decoder = new TextDecoder();
  readonly #onData = (chunk: Uint8Array) => {
    const joined = new Uint8Array(this.#buffer.length + chunk.length);
    joined.set(this.#buffer);
    joined.set(chunk, this.#buffer.length);
    this.#buffer = joined;
    this.#received++;
    this.#wake();
  };
  readonly #onEnd = () => {
    this.#ended = true;
    this.#wake();
  };

  private constructor(socket: net.Socket, recorder: PauseRecorder) {
    this.#socket = socket;
    this.#recorder = recorder;
    this.#attach(socket);
  }

  /** Connects to the port, with TLS from the first byte when `implicitTls`. */
  static async connect(
    port: number,
    recorder: PauseRecorder,
    implicitTls = false,
  ): Promise<SocketClient> {
    const socket = implicitTls
      ? tls.connect({ host: "127.0.0.1", port, ...clientTlsOptions() })
      : net.connect({ host: "127.0.0.1", port });
    socket.on("error", () => {});
    await new Promise<void>((resolve, reject) => {
      socket.once(implicitTls ? "secureConnect" : "connect", () => resolve());
      socket.once("error", reject);
    });
    return new SocketClient(socket, recorder);
  }

  send(bytes: Uint8Array): Promise<void> {
    if (!this.#ended && this.#socket.writable) this.#socket.write(bytes);
    return Promise.resolve();
  }

  async next(): Promise<ServerItem | undefined> {
    const deadline = Date.now() + LINE_WAIT_MS;
    for (;;) {
      const pause = this.#recorder.pauses[this.#pausesRead];
      if (pause !== undefined && pause.offset <= this.#consumed) {
        this.#pausesRead++;
        return { kind: "pause", seconds: pause.seconds };
      }
      const end = findCrlf(this.#buffer);
      if (end >= 0) {
        const text = this.#decoder.decode(this.#buffer.subarray(0, end));
        this.#buffer = this.#buffer.slice(end + 2);
        this.#consumed += end + 2;
        return { kind: "line", text };
      }
      if (this.#ended) return undefined;
      await this.#wait(deadline);
    }
  }

  closed(): Promise<boolean> {
    return Promise.resolve(this.#ended);
  }

  async startTls(): Promise<void> {
    const plain = this.#socket;
    this.#detach(plain);
    const secure = tls.connect({ socket: plain, ...clientTlsOptions() });
    secure.on("error", () => {});
    await new Promise<void>((resolve, reject) => {
      secure.once("secureConnect", () => resolve());
      secure.once("error", reject);
    });
    this.#socket = secure;
    this.#attach(secure);
  }

  async hangUp(): Promise<ServerItem[]> {
    this.#socket.end();
    const deadline = Date.now() + LINE_WAIT_MS;
    while (!this.#ended) await this.#wait(deadline);
    const unread: ServerItem[] = [];
    for (let item = await this.next(); item !== undefined; item = await this.next()) {
      unread.push(item);
    }
    if (this.#buffer.length > 0) {
      unread.push({ kind: "line", text: this.#decoder.decode(this.#buffer) });
    }
    this.#socket.destroy();
    return unread;
  }

  /** Drops the connection at once (a run that failed half-way). */
  destroy(): void {
    this.#socket.destroy();
  }

  #attach(socket: net.Socket): void {
    socket.on("data", this.#onData);
    socket.on("end", this.#onEnd);
    socket.on("close", this.#onEnd);
  }

  #detach(socket: net.Socket): void {
    socket.off("data", this.#onData);
    socket.off("end", this.#onEnd);
    socket.off("close", this.#onEnd);
  }

  /** Waits for more data or the close, at most until the deadline. */
  async #wait(deadline: number): Promise<void> {
    if (Date.now() >= deadline) {
      throw new Error(`no server line and no close within ${LINE_WAIT_MS} ms`);
    }
    const seen = this.#received;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, Math.max(0, deadline - Date.now()));
      this.#wakers.push(() => {
        clearTimeout(timer);
        resolve();
      });
      // Data may have come while the timer was set up (see memory_connection.ts).
      if (this.#received !== seen || this.#ended) this.#wake();
    });
  }

  #wake(): void {
    for (const waker of this.#wakers.splice(0)) waker();
  }
}

/** The client trusts the test certificate only, and checks the name on it. */
function clientTlsOptions(): tls.ConnectionOptions {
  return { ca: testCertificate().certPem, servername: TLS_SERVER_NAME };
}

function findCrlf(bytes: Uint8Array): number {
  for (let lf = bytes.indexOf(0x0a); lf >= 0; lf = bytes.indexOf(0x0a, lf + 1)) {
    if (lf > 0 && bytes[lf - 1] === 0x0d) return lf - 1;
  }
  return -1;
}
