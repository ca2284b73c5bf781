/**
 * The message body as an SMTP client sends it after DATA (docs/queue-format.md
 * §5.8 step 7): line ends and dot-stuffing by DataEncoder (pure), and
 * streamBody, which reads the mess/ file in bounded chunks through it and
 * ends with the final dot.
 */

const LF = 0x0a;
const CR = 0x0d;
const DOT = 0x2e;

/** Default read size: 64 KiB in, at most twice that out. */
export const DATA_CHUNK = 64 * 1024;

/**
 * Stateful line-end and dot-stuffing encoder (pure). RFC 5321 §2.3.8: a
 * client sends CR and LF only as CRLF, so no receiver, not even one that ends
 * lines at a bare CR or a bare LF, can read an end of data before ours:
 *
 * - LF becomes CRLF, as qmail-remote does (§5.8 step 7);
 * - CR LF in the queued message is one line end, sent as CRLF (notqmail's
 *   qmail-remote no longer sends CR CR LF);
 * - a lone CR (qmail-smtpd keeps one) is a line end too, sent as CRLF, as
 *   notqmail sends it; qmail 1.03 sent it as it was;
 * - a "." that starts a line, after any of these line ends, is doubled
 *   (notqmail does not double it after a lone CR, so `\r.\r` would still end
 *   the data there).
 *
 * A message without CR is sent byte for byte as before.
 *
 * With `dotStuffing: false` it gives the message as the receiver will read it
 * back (line ends only): what a DKIM signature is computed over
 * (dkim_sign.ts).
 */
export class DataEncoder {
  readonly #dotStuffing: boolean;
  #atLineStart = true;
  #empty = true;
  /** The previous chunk ended in a CR, already sent as CRLF: an LF first in this one belongs to it. */
  #afterCr = false;

  constructor(options: { dotStuffing?: boolean } = {}) {
    this.#dotStuffing = options.dotStuffing ?? true;
  }

  /** Encodes one chunk of the message. */
  push(chunk: Uint8Array): Uint8Array {
    if (chunk.length === 0) return chunk;
    this.#empty = false;
    // Worst case every byte is CR, LF or a line-leading ".": twice the input.
    const out = new Uint8Array(chunk.length * 2);
    let o = 0;
    let start = this.#afterCr && chunk[0] === LF ? 1 : 0;
    this.#afterCr = false;
    let atLineStart = this.#atLineStart;
    // The next LF and CR at or after `start` (-1: none left), each searched for again only once passed.
    let lf = chunk.indexOf(LF, start);
    let cr = chunk.indexOf(CR, start);
    while (start < chunk.length) {
      if (atLineStart && chunk[start] === DOT && this.#dotStuffing) out[o++] = DOT;
      if (lf >= 0 && lf < start) lf = chunk.indexOf(LF, start);
      if (cr >= 0 && cr < start) cr = chunk.indexOf(CR, start);
      const end = lf < 0 ? cr : cr < 0 ? lf : Math.min(lf, cr);
      if (end < 0) {
        out.set(chunk.subarray(start), o);
        o += chunk.length - start;
        atLineStart = false;
        break;
      }
      out.set(chunk.subarray(start, end), o);
      o += end - start;
      out[o++] = CR;
      out[o++] = LF;
      atLineStart = true;
      start = end + 1;
      if (end === cr) {
        if (start === chunk.length) this.#afterCr = true;
        else if (chunk[start] === LF) start++;
      }
    }
    this.#atLineStart = atLineStart;
    return out.subarray(0, o);
  }

  /** Whether the message ended inside a line, without LF or CR (qmail: #5.6.2 permanent failure). */
  get partialFinalLine(): boolean {
    return !this.#empty && !this.#atLineStart;
  }
}

/** The terminating ".\r\n". */
export const DATA_END = new Uint8Array([DOT, CR, LF]);

export type BodyResult = "sent" | "partial" | "unreadable";

/**
 * Streams a message from an open file through the encoder to `write`,
 * one bounded chunk at a time, and sends the final dot. Write errors
 * propagate (the connection died); read errors give "unreadable"; a last line
 * without LF gives "partial" and the final dot is NOT sent (qmail quits).
 */
export async function streamBody(
  file: Pick<Deno.FsFile, "read">,
  write: (bytes: Uint8Array) => Promise<void>,
  chunkSize = DATA_CHUNK,
): Promise<BodyResult> {
  const encoder = new DataEncoder();
  const buffer = new Uint8Array(chunkSize);
  // Each chunk is written when the next one is read, so the last one goes out
  // together with the final dot: one write for a small message.
  let pending: Uint8Array | undefined;
  for (;;) {
    let count: number | null;
    try {
      count = await file.read(buffer);
    } catch {
      return "unreadable";
    }
    if (count === null) break;
    if (count === 0) continue;
    if (pending !== undefined) await write(pending);
    pending = encoder.push(buffer.subarray(0, count));
  }
  if (encoder.partialFinalLine) return "partial";
  if (pending === undefined) {
    await write(DATA_END);
  } else {
    const last = new Uint8Array(pending.length + DATA_END.length);
    last.set(pending);
    last.set(DATA_END, pending.length);
    await write(last);
  }
  return "sent";
}
