/**
 * The Message-ID of a message coming in through DATA, for the decision trace
 * (trace/store.ts). Only the header is kept, and only until its end (the
 * first empty line) is seen: most messages need a few hundred bytes, not a
 * buffer the size of the limit, and the header is turned into text once.
 */

/** How much of the header is looked at for the Message-ID. */
export const HEADER_SNIFF_BYTES = 64 * 1024;

/** The first buffer; it doubles up to HEADER_SNIFF_BYTES for a longer header. */
const FIRST_BUFFER_BYTES = 4096;

const LF = 10;
const CR = 13;

/** Collects the head of a message, piece by piece, until the empty line that ends its header. */
export class HeaderSniff {
  #bytes = new Uint8Array(FIRST_BUFFER_BYTES);
  #length = 0;
  /** The header's length once its end was seen; the search resumes at #searched. */
  #headerLength: number | undefined;
  #searched = 0;

  /** Takes the next piece of the body (LF or CRLF line ends); ignored once the header ended. */
  push(piece: Uint8Array): void {
    if (this.#headerLength !== undefined || this.#length === HEADER_SNIFF_BYTES) return;
    const room = Math.min(piece.length, HEADER_SNIFF_BYTES - this.#length);
    if (this.#length + room > this.#bytes.length) {
      let size = this.#bytes.length * 2;
      while (size < this.#length + room) size *= 2;
      const grown = new Uint8Array(Math.min(size, HEADER_SNIFF_BYTES));
      grown.set(this.#bytes.subarray(0, this.#length));
      this.#bytes = grown;
    }
    this.#bytes.set(piece.subarray(0, room), this.#length);
    this.#length += room;
    this.#findHeaderEnd();
  }

  /** Bytes kept: the header, and at most the piece in which it ended. */
  get size(): number {
    return this.#length;
  }

  /** The Message-ID header's value, unfolded and trimmed, if the header has one. */
  messageId(): string | undefined {
    return findMessageId(this.#bytes.subarray(0, this.#headerLength ?? this.#length));
  }

  /** Looks for LF (CR) LF from where the last search stopped. */
  #findHeaderEnd(): void {
    const bytes = this.#bytes.subarray(0, this.#length);
    for (let at = bytes.indexOf(LF, this.#searched); at >= 0; at = bytes.indexOf(LF, at + 1)) {
      const next = bytes[at + 1] === CR ? at + 2 : at + 1;
      if (next >= bytes.length) {
        // The next piece tells whether this line end starts an empty line.
        this.#searched = at;
        return;
      }
      if (bytes[next] === LF) {
        this.#headerLength = at > 0 && bytes[at - 1] === CR ? at - 1 : at;
        return;
      }
    }
    this.#searched = bytes.length;
  }
}

/**
 * The Message-ID header's value in the first bytes of a message, if any.
 * Lines end in LF or CRLF; each byte is one character (U+0000 to U+00FF).
 */
export function findMessageId(head: Uint8Array): string | undefined {
  const text = byteText(head);
  const end = text.search(/\r?\n\r?\n/);
  const lines = (end < 0 ? text : text.slice(0, end)).split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const match = /^message-id:(.*)$/i.exec(lines[i]);
    if (match === null) continue;
    let value = match[1];
    for (let j = i + 1; j < lines.length && /^[ \t]/.test(lines[j]); j++) value += lines[j];
    const trimmed = value.trim();
    return trimmed === "" ? undefined : trimmed;
  }
  return undefined;
}

/** One character per byte, in slices (String.fromCharCode takes them as arguments). */
function byteText(bytes: Uint8Array): string {
  const SLICE = 8192;
  let text = "";
  for (let at = 0; at < bytes.length; at += SLICE) {
    text += String.fromCharCode(...bytes.subarray(at, at + SLICE));
  }
  return text;
}
