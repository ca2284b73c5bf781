/**
 * The DATA byte machine: qmail-smtpd's blast() as a streaming, pure state
 * machine (docs/queue-format.md §8.7). Bytes from the client go in, chunks for the
 * queue file come out; memory stays bounded by the chunk size for any message
 * size.
 *
 * - CRLF becomes LF; a CR not followed by LF is kept.
 * - Only CRLF `.` CRLF ends the data (the start of the data counts as after a
 *   CRLF). A leading dot is removed (`..x` → `.x`, `.x` → `x`); a line start of
 *   `.` CR followed by anything but LF keeps the dot and the CR, as in blast().
 * - Any bare LF (one not preceded by CR) stops the machine with `bareLf`: the
 *   role answers 451 smtplf and disconnects, and nothing is queued. This is
 *   what closes SMTP smuggling (docs/reliability.md S1).
 * - Hops: in the header (up to the first line that begins with CRLF), each
 *   line whose first 8 bytes spell `received` or first 9 spell `delivered`, in
 *   any case, counts one (no colon needed, so `Received-SPF:` counts too).
 * - Size: bytes after CRLF→LF and dot removal; exactly `databytes` is fine.
 */
import type { DataOutcome } from "./session.ts";

const LF = 0x0a;
const CR = 0x0d;
const DOT = 0x2e;

/** qmail-smtpd's MAXHOPS. */
export const DEFAULT_MAX_HOPS = 100;

export interface DataReaderOptions {
  /** Largest message accepted, in bytes after conversion; 0 = unlimited. */
  databytes: number;
  /** Hop count at which the message is refused as looping; default 100. */
  maxHops?: number;
  /**
   * Write body chunks into one scratch buffer owned by the reader instead of
   * a new array per push: no garbage per chunk, so memory stays flat while a
   * large message streams. The chunks are then valid only until the next push.
   */
  reuseBuffer?: boolean;
}

export interface DataChunk {
  /** Bytes to append to the queue file, in order (possibly none). */
  body: Uint8Array[];
  /** The data section ended: at CRLF.CRLF, or at a bare LF (see bareLf). */
  done: boolean;
  /** After a clean end: the bytes that followed the terminator (pipelined commands). */
  rest: Uint8Array | null;
  /** A bare LF was seen: reply 451 smtplf, disconnect, queue nothing. */
  bareLf: boolean;
}

/**
 * blast()'s states: after CRLF (or at the start), after CRLF `.`, after
 * CRLF `.` CR, inside a line, and after a CR whose fate is not known yet.
 */
const IN_LINE = 0;
const LINE_START = 1;
const DOT_SEEN = 2;
const DOT_CR = 3;
const CR_SEEN = 4;
type State = typeof IN_LINE | typeof LINE_START | typeof DOT_SEEN | typeof DOT_CR | typeof CR_SEEN;

const RECEIVED_LOWER = "received";
const RECEIVED_UPPER = "RECEIVED";
const DELIVERED_LOWER = "delivered";
const DELIVERED_UPPER = "DELIVERED";

export class DataReader {
  readonly #databytes: number;
  readonly #maxHops: number;
  #state: State = LINE_START;
  #bytes = 0;
  #hops = 0;
  #inHeader = true;
  /** Bytes since the last LF while in the header, capped at 9 (only 0–8 matter). */
  #position = 0;
  #maybeReceived = true;
  #maybeDelivered = true;
  #maybeBlankLine = true;
  #done = false;
  #bareLf = false;
  readonly #reuseBuffer: boolean;
  #scratch = new Uint8Array(0);

  constructor(options: DataReaderOptions) {
    this.#databytes = options.databytes;
    this.#maxHops = options.maxHops ?? DEFAULT_MAX_HOPS;
    this.#reuseBuffer = options.reuseBuffer ?? false;
  }

  #output(size: number): Uint8Array {
    if (!this.#reuseBuffer) return new Uint8Array(size);
    if (this.#scratch.length < size) this.#scratch = new Uint8Array(Math.max(size, 65536 + 2));
    return this.#scratch;
  }

  /** Message bytes produced so far (after conversion), including any beyond databytes. */
  get bytes(): number {
    return this.#bytes;
  }

  /** Received/Delivered header lines counted so far. */
  get hops(): number {
    return this.#hops;
  }

  get tooBig(): boolean {
    return this.#databytes > 0 && this.#bytes > this.#databytes;
  }

  get tooManyHops(): boolean {
    return this.#hops >= this.#maxHops;
  }

  get bareLf(): boolean {
    return this.#bareLf;
  }

  get done(): boolean {
    return this.#done;
  }

  /**
   * Feeds the next bytes from the client; chunks may split anywhere. Once the
   * message is too big or looping, body stops (the bytes are still consumed
   * to the terminator). After the end, further input is returned as `rest`.
   */
  push(chunk: Uint8Array): DataChunk {
    if (this.#done) {
      return { body: [], done: true, rest: this.#bareLf ? null : chunk, bareLf: this.#bareLf };
    }
    const out = this.#output(chunk.length + 2);
    let length = 0;
    const put = (byte: number) => {
      this.#bytes++;
      if (!this.tooBig && !this.tooManyHops) out[length++] = byte;
    };
    const finish = (rest: Uint8Array | null): DataChunk => ({
      body: length > 0 ? [out.subarray(0, length)] : [],
      done: this.#done,
      rest,
      bareLf: this.#bareLf,
    });

    for (let i = 0; i < chunk.length; i++) {
      const byte = chunk[i];
      if (this.#inHeader) this.#countHops(byte);
      switch (this.#state) {
        case IN_LINE:
          if (byte === LF) return this.#strayNewline(finish);
          if (byte === CR) {
            this.#state = CR_SEEN;
            continue;
          }
          break;
        case LINE_START:
          if (byte === LF) return this.#strayNewline(finish);
          if (byte === DOT) {
            this.#state = DOT_SEEN;
            continue;
          }
          if (byte === CR) {
            this.#state = CR_SEEN;
            continue;
          }
          this.#state = IN_LINE;
          break;
        case DOT_SEEN:
          if (byte === LF) return this.#strayNewline(finish);
          if (byte === CR) {
            this.#state = DOT_CR;
            continue;
          }
          this.#state = IN_LINE;
          break;
        case DOT_CR:
          if (byte === LF) {
            this.#done = true;
            return finish(chunk.subarray(i + 1));
          }
          put(DOT);
          put(CR);
          if (byte === CR) {
            this.#state = CR_SEEN;
            continue;
          }
          this.#state = IN_LINE;
          break;
        case CR_SEEN:
          if (byte === LF) {
            this.#state = LINE_START;
            break;
          }
          if (byte !== CR) {
            put(CR);
            this.#state = IN_LINE;
          }
          // A second CR: the first one is written now, the new one waits.
          break;
      }
      put(byte);
    }
    return finish(null);
  }

  #strayNewline(finish: (rest: Uint8Array | null) => DataChunk): DataChunk {
    this.#done = true;
    this.#bareLf = true;
    return finish(null);
  }

  /** blast()'s header scan, byte by byte on the raw input. */
  #countHops(byte: number): void {
    const position = this.#position;
    if (position < 9) {
      if (
        byte !== DELIVERED_LOWER.charCodeAt(position) &&
        byte !== DELIVERED_UPPER.charCodeAt(position)
      ) {
        this.#maybeDelivered = false;
      }
      if (this.#maybeDelivered && position === 8) this.#hops++;
      if (position < 8) {
        if (
          byte !== RECEIVED_LOWER.charCodeAt(position) &&
          byte !== RECEIVED_UPPER.charCodeAt(position)
        ) {
          this.#maybeReceived = false;
        }
      }
      if (this.#maybeReceived && position === 7) this.#hops++;
      if (position < 2 && byte !== (position === 0 ? CR : LF)) this.#maybeBlankLine = false;
      if (this.#maybeBlankLine && position === 1) this.#inHeader = false;
      this.#position = position + 1;
    }
    if (byte === LF) {
      this.#position = 0;
      this.#maybeReceived = true;
      this.#maybeDelivered = true;
      this.#maybeBlankLine = true;
    }
  }
}

/**
 * What the session must answer when the data itself is refused, in qmail's
 * order of checks (§8.3): bare LF, then hops, then size. null means the
 * message is good and the role should commit it to the queue.
 */
export function rejectedDataOutcome(reader: DataReader): DataOutcome | null {
  if (reader.bareLf) return { kind: "barelf" };
  if (reader.tooManyHops) return { kind: "hops" };
  if (reader.tooBig) return { kind: "toobig" };
  return null;
}
