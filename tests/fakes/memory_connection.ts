/**
 * A connection held in memory, for running the real SMTP and POP3
 * connection drivers without a socket: the driver's end is a Transport, the
 * client's end a TranscriptClient. Test only.
 *
 * The client knows when the driver has dealt with everything sent so far:
 * the driver asks for more input (read() with nothing queued) or has closed,
 * and stays so across a turn of the event loop (the greeting's delay reads
 * early, before the greeting is written). So a transcript's client sends a
 * chunk only after the previous one was answered, and reads "the server is
 * waiting" exactly where it would.
 *
 * Pauses (`sleep`) are recorded in the server's output where they happen,
 * not waited for. STARTTLS drops what the client sent that the driver had
 * not read, as socket_transport.ts does, and hands the driver a stand-in
 * for the TLSSocket: the handshake is assumed.
 */
import type tls from "node:tls";
import type { TlsStarted, Transport } from "../../appliance/net/smtp_connection.ts";
import type { ServerItem, TranscriptClient } from "../transcript_play.ts";

/** How long the driver may take to ask for input or close before a run gives up. */
const SETTLE_MS = 10_000;

/**
 * The TLSSocket the driver gets from startTls(): the driver asks it only for
 * the protocol, for its log line (the runs pass no tlsClientRelays, which
 * would look at the peer certificate).
 */
const ASSUMED_TLS_SOCKET = { getProtocol: () => "TLSv1.3" } as unknown as tls.TLSSocket;

const CR = 0x0d;
const LF = 0x0a;

/** One connection: `transport` is the driver's end, the object itself the client's. */
export class MemoryConnection implements TranscriptClient {
  #input: Uint8Array[] = [];
  /** The driver's read() that waits for the client. */
  #waitingRead: ((chunk: Uint8Array | undefined) => void) | undefined;
  #hungUp = false;
  #closed = false;
  /** Reads, writes, pauses and closes so far: the driver is settled when this stops moving. */
  #activity = 0;
  #wakers: Array<() => void> = [];
  #partial: Uint8Array = new Uint8Array(0);
  #items: ServerItem[] = [];
  #decoder = new TextDecoder();
  /** How often the driver started TLS. */
  tlsStarts = 0;

  /** The driver's end. */
  readonly transport: Transport = {
    read: () => this.#read(),
    write: (bytes) => this.#write(bytes),
    close: () => this.#close(),
    startTls: () => this.#startTls(),
  };

  /** The driver's pause (its `sleep` option): recorded in the output, not waited for. */
  readonly sleep = (seconds: number): Promise<void> => {
    this.#touch();
    this.#items.push({ kind: "pause", seconds });
    return Promise.resolve();
  };

  /** Resolves once the driver waits for input or has closed, and stays so for a turn. */
  async settled(): Promise<void> {
    const deadline = Date.now() + SETTLE_MS;
    for (;;) {
      while (!this.#closed && this.#waitingRead === undefined) {
        if (Date.now() >= deadline) {
          throw new Error(`the session neither asked for input nor closed within ${SETTLE_MS} ms`);
        }
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, Math.max(0, deadline - Date.now()));
          this.#wakers.push(() => {
            clearTimeout(timer);
            resolve();
          });
          // The first setTimeout of a test may let the driver run on (a
          // microtask checkpoint): look again now that the waker is in place.
          if (this.#closed || this.#waitingRead !== undefined) this.#wake();
        });
      }
      const before = this.#activity;
      await new Promise((resolve) => setTimeout(resolve, 0));
      if (this.#activity === before && (this.#closed || this.#waitingRead !== undefined)) return;
    }
  }

  async send(bytes: Uint8Array): Promise<void> {
    await this.settled();
    if (this.#closed) return;
    this.#deliver(bytes);
  }

  async next(): Promise<ServerItem | undefined> {
    await this.settled();
    return this.#items.shift();
  }

  async closed(): Promise<boolean> {
    await this.settled();
    return this.#closed;
  }

  /** Nothing to do on the client's side: the handshake is assumed. */
  startTls(): Promise<void> {
    return Promise.resolve();
  }

  async hangUp(): Promise<ServerItem[]> {
    await this.settled();
    this.#hungUp = true;
    this.#deliver(undefined);
    await this.settled();
    const unread = this.#items.splice(0);
    if (this.#partial.length > 0) {
      unread.push({ kind: "line", text: this.#decoder.decode(this.#partial) });
    }
    return unread;
  }

  #read(): Promise<Uint8Array | undefined> {
    this.#touch();
    const chunk = this.#input.shift();
    if (chunk !== undefined) return Promise.resolve(chunk);
    if (this.#hungUp) return Promise.resolve(undefined);
    return new Promise((resolve) => {
      this.#waitingRead = resolve;
      this.#wake();
    });
  }

  #write(bytes: Uint8Array): Promise<void> {
    this.#touch();
    const joined = new Uint8Array(this.#partial.length + bytes.length);
    joined.set(this.#partial);
    joined.set(bytes, this.#partial.length);
    let start = 0;
    for (let lf = joined.indexOf(LF); lf >= 0; lf = joined.indexOf(LF, lf + 1)) {
      if (lf === 0 || joined[lf - 1] !== CR) continue;
      this.#items.push({
        kind: "line",
        text: this.#decoder.decode(joined.subarray(start, lf - 1)),
      });
      start = lf + 1;
    }
    this.#partial = joined.slice(start);
    return Promise.resolve();
  }

  #close(): void {
    this.#touch();
    this.#closed = true;
    this.#wake();
  }

  #startTls(): Promise<TlsStarted> {
    this.#touch();
    this.#input = [];
    this.tlsStarts++;
    return Promise.resolve({ socket: ASSUMED_TLS_SOCKET });
  }

  #deliver(chunk: Uint8Array | undefined): void {
    const waiting = this.#waitingRead;
    if (waiting !== undefined) {
      this.#waitingRead = undefined;
      this.#touch();
      waiting(chunk);
    } else if (chunk !== undefined) {
      this.#input.push(chunk);
    }
  }

  #touch(): void {
    this.#activity++;
  }

  #wake(): void {
    for (const waker of this.#wakers.splice(0)) waker();
  }
}
