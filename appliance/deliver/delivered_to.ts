/**
 * qmail-local's loop check (docs/queue-format.md §6.1): is any header line
 * byte-for-byte our Delivered-To line (DTLINE)? A message that already has
 * it has been here before.
 */

/** The loop check's scan over the header, fed in chunks. */
class DeliveredToScan {
  readonly #dtline: Uint8Array;
  #lineLength = 0;
  #matching = true;

  constructor(dtline: Uint8Array) {
    this.#dtline = dtline;
  }

  /** true: found; false: the header ended without it; undefined: feed more. */
  feed(chunk: Uint8Array, count = chunk.length): boolean | undefined {
    const dtline = this.#dtline;
    for (let i = 0; i < count; i++) {
      const byte = chunk[i];
      if (
        this.#matching && (this.#lineLength >= dtline.length || dtline[this.#lineLength] !== byte)
      ) {
        this.#matching = false;
      }
      this.#lineLength++;
      if (byte !== 0x0a) continue;
      if (this.#lineLength <= 1) return false;
      if (this.#matching && this.#lineLength === dtline.length) return true;
      this.#lineLength = 0;
      this.#matching = true;
    }
    return undefined;
  }
}

/**
 * The loop check (§6.1) on the message file. Reads the header only, keeping
 * at most one DTLINE's worth of a line in memory.
 */
export async function hasDeliveredToLine(
  messagePath: string,
  dtline: Uint8Array,
): Promise<boolean> {
  const file = await Deno.open(messagePath, { read: true });
  try {
    const buffer = new Uint8Array(64 * 1024);
    const scan = new DeliveredToScan(dtline);
    for (;;) {
      const count = await file.read(buffer);
      if (count === null) return false; // a last line without LF ends the header
      const found = scan.feed(buffer, count);
      if (found !== undefined) return found;
    }
  } finally {
    file.close();
  }
}

/** The loop check (§6.1) on a message already in memory. */
export function messageHasDeliveredToLine(message: Uint8Array, dtline: Uint8Array): boolean {
  return new DeliveredToScan(dtline).feed(message) ?? false;
}
