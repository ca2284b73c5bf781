/**
 * What MAIL FROM says about a queued message before it is sent
 * (appliance/smtp/client_envelope.ts writes the parameters):
 *
 * - SIZE= (RFC 1870 §3: the size "including CR LF pairs, but not the SMTP DATA
 *   command's terminating dot or doubled quoting dots"): the bytes as
 *   body_encoder.ts's DataEncoder sends them, so an LF, or a lone CR, counts two
 *   bytes (CR LF) and a CR LF already in the file counts two;
 * - BODY=8BITMIME (RFC 6152 §3): whether any byte has the high bit set.
 *
 * The mess/ file is read once, in bounded chunks. Pure counting in
 * WireMeasure; measureMessage does the reading.
 */

const LF = 0x0a;
const CR = 0x0d;

/** SIZE= and BODY= facts of one message. */
export interface WireFacts {
  /** Bytes as sent after DATA, line ends as CR LF, without dot-stuffing and the final dot. */
  size: number;
  /** Some byte is 0x80 or above. */
  eightBit: boolean;
}

/** Counts a message's wire size and 8-bit bytes chunk by chunk (pure). */
export class WireMeasure {
  #size = 0;
  #eightBit = false;
  /** The last byte seen was a CR whose line end is not counted yet. */
  #afterCr = false;

  push(chunk: Uint8Array): void {
    let size = this.#size + chunk.length;
    let afterCr = this.#afterCr;
    let eightBit = this.#eightBit;
    for (const byte of chunk) {
      if (byte === LF) {
        if (!afterCr) size++; // LF → CR LF
        afterCr = false;
      } else if (byte === CR) {
        if (afterCr) size++; // the CR before was lone: CR → CR LF
        afterCr = true;
      } else {
        if (afterCr) size++;
        afterCr = false;
        if (byte >= 0x80) eightBit = true;
      }
    }
    this.#size = size;
    this.#afterCr = afterCr;
    this.#eightBit = eightBit;
  }

  get facts(): WireFacts {
    return { size: this.#size + (this.#afterCr ? 1 : 0), eightBit: this.#eightBit };
  }
}

const CHUNK = 64 * 1024;

/** Reads `file` from its start; the facts, or undefined when it could not be read. */
export async function measureMessage(
  file: Pick<Deno.FsFile, "read" | "seek">,
): Promise<WireFacts | undefined> {
  const measure = new WireMeasure();
  const buffer = new Uint8Array(CHUNK);
  try {
    await file.seek(0, Deno.SeekMode.Start);
    for (;;) {
      const count = await file.read(buffer);
      if (count === null) break;
      measure.push(buffer.subarray(0, count));
    }
  } catch {
    return undefined;
  }
  return measure.facts;
}
