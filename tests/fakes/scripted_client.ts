/**
 * A scripted client as a connection driver's Transport, for tests: chunks
 * handed to the driver one per read, each after its pause; what the driver
 * wrote; and, for a client that does not read its replies, writes that
 * never finish until unblock(). Test only.
 */
import type { Transport } from "../../appliance/net/smtp_connection.ts";

const decoder = new TextDecoder();

/** A client: scripted chunks, each after its pause; what the server wrote. */
export class ScriptedClient implements Transport {
  readonly written: Uint8Array[] = [];
  reads = 0;
  closed = false;
  #script: Array<{ pauseMs: number; bytes: Uint8Array }>;
  /** Writes after this many never finish until unblock(); Infinity = none blocks. */
  #blockAfter: number;
  #release: Array<() => void> = [];

  constructor(script: Array<{ pauseMs?: number; text: string }>, blockAfter = Infinity) {
    // One byte per character, as a client's bytes are logged (Latin-1).
    this.#script = script.map((step) => ({
      pauseMs: step.pauseMs ?? 0,
      bytes: Uint8Array.from(step.text, (ch) => ch.charCodeAt(0)),
    }));
    this.#blockAfter = blockAfter;
  }

  async read(): Promise<Uint8Array | undefined> {
    this.reads++;
    const next = this.#script.shift();
    if (next === undefined) return undefined;
    if (next.pauseMs > 0) await new Promise((resolve) => setTimeout(resolve, next.pauseMs));
    return next.bytes;
  }

  write(bytes: Uint8Array): Promise<void> {
    // A copy: a driver may reuse its buffer once the write has finished.
    this.written.push(bytes.slice());
    if (this.written.length <= this.#blockAfter) return Promise.resolve();
    // A client that does not read: the socket's buffers are full.
    return new Promise((resolve) => this.#release.push(resolve));
  }

  /** The client starts reading again and has nothing more to say. */
  unblock(): void {
    this.#blockAfter = Infinity;
    this.#script = [];
    for (const resolve of this.#release.splice(0)) resolve();
  }

  close(): void {
    this.closed = true;
  }

  text(): string {
    return this.written.map((bytes) => decoder.decode(bytes)).join("");
  }
}

/** One byte of `text` per read, `pauseMs` apart. */
export function trickle(text: string, pauseMs: number): Array<{ pauseMs: number; text: string }> {
  return [...text].map((ch) => ({ pauseMs, text: ch }));
}
