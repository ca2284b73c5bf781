/**
 * A node stream (a node:net socket, or stdin/stdout wrapped as a Duplex) as
 * a Transport for the connection drivers, with the server side of STARTTLS:
 * node:tls TLSSocket over the existing stream, since Deno.startTls is
 * client-only. Reading is event-based so the plain stream can be handed to
 * TLS mid-session; input the client sent before the handshake is dropped
 * (RFC 3207 §4.2, CVE-2011-0411).
 */
import net from "node:net";
import tls from "node:tls";
import type { Duplex } from "node:stream";
import type { TlsStarted, TlsStartOptions, Transport } from "./smtp_connection.ts";

/** Stop reading from the socket while this much input waits for the session. */
const HIGH_WATER = 256 * 1024;

export function socketTransport(socket: net.Socket | Duplex): Transport {
  // Replies go out as soon as they are written: with Nagle's algorithm a
  // reply that follows another unacknowledged one (a pipelined RCPT answered
  // after a lookup) waits for the client's delayed ACK, 40 ms on Linux
  // (issue 13's benchmark: 41 ms per RCPT with realrcptto on).
  if ("setNoDelay" in socket) socket.setNoDelay(true);
  let stream: Duplex = socket;
  let queue: Uint8Array[] = [];
  let queued = 0;
  let ended = false;
  let failure: Error | undefined;
  let wake: (() => void) | undefined;
  /** A server TLSSocket whose handshake has not finished yet. */
  let handshaking: tls.TLSSocket | undefined;

  const onData = (chunk: Uint8Array) => {
    // A view, not a copy: node streams hand out a fresh Buffer per chunk.
    queue.push(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength));
    queued += chunk.byteLength;
    if (queued > HIGH_WATER) stream.pause();
    wake?.();
  };
  const onEnd = () => {
    ended = true;
    wake?.();
  };
  const onError = (error: Error) => {
    failure = error;
    ended = true;
    wake?.();
  };
  const attach = (next: Duplex) => {
    stream = next;
    next.on("data", onData);
    next.on("end", onEnd);
    next.on("close", onEnd);
    next.on("error", onError);
  };
  const detach = () => {
    stream.off("data", onData);
    stream.off("end", onEnd);
    stream.off("close", onEnd);
    stream.off("error", onError);
  };
  attach(socket);

  return {
    async read() {
      while (queue.length === 0) {
        if (ended) {
          if (failure !== undefined) throw failure;
          return undefined;
        }
        await new Promise<void>((resolve) => wake = resolve);
        wake = undefined;
      }
      const chunk = queue.shift()!;
      queued -= chunk.byteLength;
      if (queued <= HIGH_WATER && stream.isPaused()) stream.resume();
      return chunk;
    },
    write: (bytes) =>
      new Promise((resolve, reject) =>
        stream.write(bytes, (error) => (error ? reject(error) : resolve()))
      ),
    close() {
      // A handshake cut short (deadline, or the session ended) goes at once.
      if (handshaking !== undefined) {
        handshaking.destroy();
        stream.destroy();
        return;
      }
      // Plain TCP with every reply handed to the kernel and no input waiting:
      // closed at once, as qmail-smtpd's exit and Postfix's close do. The
      // kernel still sends what is queued, then the FIN. Waiting for the
      // client to close first would, with a client that resets after the
      // 221 (smtp-source does), cost node's read-error path: an Error and
      // its stack text per connection, about 5 % of smtpd's CPU (README,
      // issue 16). Input not yet read would make the close a reset, so that
      // case, and TLS (whose close_notify goes with end()), wait as before.
      if (
        stream === socket && socket instanceof net.Socket && queue.length === 0 &&
        socket.writableLength === 0
      ) {
        socket.destroy();
        return;
      }
      stream.end();
      destroyLater(stream);
    },
    startTls(options: TlsStartOptions): Promise<TlsStarted> {
      detach();
      queue = [];
      queued = 0;
      // The client may already have gone (SMTPS: while tcprules were looked up).
      if (ended || stream.destroyed) return Promise.reject(closedDuringHandshake());
      const plain = stream;
      const secure = new tls.TLSSocket(plain as net.Socket, {
        isServer: true,
        secureContext: options.secureContext,
        requestCert: options.requestCert,
        rejectUnauthorized: false,
      });
      handshaking = secure;
      return new Promise((resolve, reject) => {
        // A client that closes before or during the handshake makes the
        // TLSSocket emit close (not error): that ends the session too.
        const fail = (error: Error) => {
          settle();
          secure.destroy();
          plain.destroy();
          reject(error);
        };
        const closed = () => fail(closedDuringHandshake());
        const settle = () => {
          handshaking = undefined;
          secure.off("error", fail);
          secure.off("close", closed);
          plain.off("close", closed);
        };
        secure.once("error", fail);
        secure.once("close", closed);
        plain.once("close", closed);
        secure.once("secure", () => {
          settle();
          attach(secure);
          resolve({ socket: secure });
        });
      });
    },
  };
}

/** How long a client has to close its side after the server's FIN. */
const CLOSE_GRACE_MS = 1000;
/** Streams whose end was sent and whose client has not closed yet: when to destroy each. */
const closing = new Map<Duplex, number>();
/** One sweep for all of them, running only while there are some. */
let sweeper: ReturnType<typeof setInterval> | undefined;

/**
 * Destroys `stream` (its end already sent) if its client has not closed
 * within CLOSE_GRACE_MS. One shared timer instead of one per connection: a
 * node timer costs tens of microseconds of CPU to make and fire (README,
 * issue 16), and nearly every client closes first. The listeners use it too
 * for the connections they turn away, many at once in a flood.
 */
export function destroyLater(stream: Duplex): void {
  if (stream.destroyed) return;
  closing.set(stream, Date.now() + CLOSE_GRACE_MS);
  stream.once("close", () => closing.delete(stream));
  if (sweeper === undefined) {
    sweeper = setInterval(sweep, CLOSE_GRACE_MS / 4);
    // Nothing to wait for on its own account: the sockets keep the isolate alive.
    Deno.unrefTimer(sweeper);
  }
}

/** Ended streams still waiting for their client to close (tests). */
export function closingStreams(): number {
  return closing.size;
}

function sweep(): void {
  const now = Date.now();
  for (const [stream, at] of closing) {
    if (now < at) continue;
    closing.delete(stream);
    stream.destroy();
  }
  if (closing.size === 0) {
    clearInterval(sweeper);
    sweeper = undefined;
  }
}

/** The client went away before its handshake finished (a reset, as isDisconnect reads it). */
function closedDuringHandshake(): Error {
  return Object.assign(new Error("connection closed during the TLS handshake"), {
    code: "ECONNRESET",
  });
}
