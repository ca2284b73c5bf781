/**
 * The queue's envelope byte formats (docs/queue-format.md §3.1, §3.2 step 9, §4.3,
 * §4.5). Pure: bytes in, bytes or records out. Addresses are Uint8Array
 * because qmail lets them hold any byte but NUL.
 */
import { bytesToString, concatBytes, stringToBytes } from "../bytes.ts";
import { QUEUE_EXIT } from "../exit_codes.ts";
import { QueueError } from "./queue_error.ts";

/** The longest address qmail-queue accepts: 1002 bytes before the NUL (ADDR = 1003). */
export const MAX_ADDRESS_BYTES = 1002;

const F = 0x46;
const T = 0x54;
const D = 0x44;
const U = 0x75;
const P = 0x70;

/**
 * An envelope qmail-queue would refuse: a QueueError whose `exitCode` is
 * 11 (an address too long: permanent), 54 (early end) or 91 (a bad record
 * type), the last two temporary as qmail_close has them (§3.4).
 */
export class EnvelopeError extends QueueError {
  constructor(exitCode: number, message: string) {
    super(exitCode, message);
    this.name = "EnvelopeError";
  }
}

export interface Envelope {
  sender: Uint8Array;
  recipients: Uint8Array[];
}

/**
 * Parses what qmail-queue reads from fd 1: `F sender \0 (T rcpt \0)* \0`
 * (§3.1). Bytes after the terminating NUL are ignored, as qmail-queue never
 * reads them. Throws EnvelopeError: 91 for a bad record type, 11 for an
 * address of 1003 bytes or more, 54 for EOF before the end.
 */
export function parseEnvelope(bytes: Uint8Array): Envelope {
  const parser = new EnvelopeParser();
  return parser.push(bytes) ?? parser.finish();
}

/**
 * parseEnvelope for bytes that arrive in pieces: qmail-queue reads fd 1 a
 * byte at a time and stops at the terminating NUL or the first error, so
 * `push` returns the envelope as soon as it is complete and throws (91, 11)
 * as soon as it is wrong; `finish` is for EOF and throws 54.
 */
export class EnvelopeParser {
  #state: "first" | "type" | "address" | "done" = "first";
  #parts: Uint8Array[] = [];
  #length = 0;
  #sender: Uint8Array | undefined;
  #recipients: Uint8Array[] = [];

  /** Takes the next bytes; returns the envelope once its terminating NUL has been seen. */
  push(chunk: Uint8Array): Envelope | undefined {
    let position = 0;
    while (position < chunk.length && this.#state !== "done") {
      if (this.#state === "address") {
        const nul = chunk.indexOf(0, position);
        const end = nul < 0 ? chunk.length : nul;
        if (this.#length + (end - position) > MAX_ADDRESS_BYTES) {
          throw new EnvelopeError(
            QUEUE_EXIT.addressTooLong,
            `Envelope address longer than ${MAX_ADDRESS_BYTES} bytes`,
          );
        }
        this.#parts.push(chunk.slice(position, end));
        this.#length += end - position;
        position = end;
        if (nul >= 0) {
          position++;
          this.#endAddress();
        }
        continue;
      }
      const type = chunk[position++];
      if (this.#state === "first") {
        if (type !== F) {
          throw new EnvelopeError(QUEUE_EXIT.envelopeFormat, "Envelope does not start with F");
        }
        this.#state = "address";
      } else if (type === 0) {
        this.#state = "done";
      } else if (type === T) {
        this.#state = "address";
      } else {
        throw new EnvelopeError(QUEUE_EXIT.envelopeFormat, "Envelope record is not a T record");
      }
    }
    return this.#state === "done"
      ? { sender: this.#sender!, recipients: this.#recipients }
      : undefined;
  }

  /** EOF: returns the envelope if it was complete, else throws EnvelopeError 54. */
  finish(): Envelope {
    if (this.#state === "done") return { sender: this.#sender!, recipients: this.#recipients };
    throw new EnvelopeError(
      QUEUE_EXIT.read,
      this.#state === "first" ? "Envelope is empty" : "Envelope ended before its terminating NUL",
    );
  }

  #endAddress(): void {
    const address = this.#parts.length === 1 ? this.#parts[0] : concatBytes(this.#parts);
    if (this.#sender === undefined) this.#sender = address;
    else this.#recipients.push(address);
    this.#parts = [];
    this.#length = 0;
    this.#state = "type";
  }
}

/** The envelope a qmail-queue client writes to fd 1 (§3.5): `F…\0 T…\0 … \0`. */
export function formatEnvelope(sender: Uint8Array, recipients: Uint8Array[]): Uint8Array {
  return concatBytes([
    record(F, sender),
    ...recipients.map((recipient) => record(T, recipient)),
    new Uint8Array(1),
  ]);
}

/**
 * The intd/todo file (§3.2 step 9): `u<uid>\0p<pid>\0F<sender>\0T<rcpt>\0…`,
 * without the envelope's terminating extra NUL. QUEUE_EXTRA is empty, as in
 * vanilla qmail.
 */
export function formatIntd(
  uid: string,
  pid: string,
  sender: Uint8Array,
  recipients: Uint8Array[],
): Uint8Array {
  return concatBytes([
    record(U, stringToBytes(uid)),
    record(P, stringToBytes(pid)),
    record(F, sender),
    ...recipients.map((recipient) => record(T, recipient)),
  ]);
}

export interface TodoRecords {
  uid?: string;
  pid?: string;
  sender?: Uint8Array;
  recipients: Uint8Array[];
  /** A record with another first byte was found; qmail-send abandons such a todo file (§4.3). */
  unknown: boolean;
}

/**
 * Reads the NUL-terminated records of a todo file as qmail-send's
 * preprocessing does (§4.3 step 5). A trailing fragment without its NUL is
 * not a record (qmail-send stops at the first unmatched getln). Parsing stops
 * at the first unknown record.
 */
export function parseTodo(bytes: Uint8Array): TodoRecords {
  const result: TodoRecords = { recipients: [], unknown: false };
  for (const { start, end } of nulRecords(bytes)) {
    const value = bytes.slice(start + 1, end);
    switch (start < end ? bytes[start] : 0) {
      case U:
        result.uid = bytesToString(value);
        break;
      case P:
        result.pid = bytesToString(value);
        break;
      case F:
        result.sender = value;
        break;
      case T:
        result.recipients.push(value);
        break;
      default:
        result.unknown = true;
        return result;
    }
  }
  return result;
}

export interface ChannelRecord {
  /** Byte offset of the record's first byte, where a `D` is written to mark it done (§4.5). */
  offset: number;
  done: boolean;
  address: Uint8Array;
}

/**
 * Reads a local/NN/ID or remote/NN/ID file (§4.5): `T` (not done) and `D`
 * (done) records. Like qmail-send's pass, reading stops at the first record
 * of unknown type and ignores a trailing fragment without its NUL.
 */
export function parseChannelFile(bytes: Uint8Array): ChannelRecord[] {
  const records: ChannelRecord[] = [];
  for (const { start, end } of nulRecords(bytes)) {
    const type = start < end ? bytes[start] : 0;
    if (type !== T && type !== D) break;
    records.push({ offset: start, done: type === D, address: bytes.slice(start + 1, end) });
  }
  return records;
}

/** One not-yet-done channel record: `T` + address + `\0` (§4.5). */
export function formatChannelRecord(address: Uint8Array): Uint8Array {
  return record(T, address);
}

/**
 * The envelope sender of an info/NN/ID file (§4.5): the first NUL-terminated
 * record, which must start with `F`. Undefined when it does not.
 */
export function parseInfo(bytes: Uint8Array): Uint8Array | undefined {
  const end = bytes.indexOf(0);
  if (end < 1 || bytes[0] !== F) return undefined;
  return bytes.slice(1, end);
}

function record(type: number, value: Uint8Array): Uint8Array {
  const bytes = new Uint8Array(value.length + 2);
  bytes[0] = type;
  bytes.set(value, 1);
  return bytes;
}

function* nulRecords(bytes: Uint8Array): Generator<{ start: number; end: number }> {
  let start = 0;
  for (;;) {
    const end = bytes.indexOf(0, start);
    if (end < 0) return;
    yield { start, end };
    start = end + 1;
  }
}
