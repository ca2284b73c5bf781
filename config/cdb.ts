/**
 * Constant databases in D. J. Bernstein's cdb format (docs/queue-format.md §10.3),
 * byte for byte as cdbmake and qmail-newu write them, so qmd reads files made
 * by qmail's tools and qmail's tools read files made by qmd: `users/cdb`,
 * `control/morercpthosts.cdb`, tcprules files.
 *
 * Layout: a 2048-byte header of 256 (tablepos, slots) pairs, the records
 * (keylen, datalen, key, data) from byte 2048 in insertion order, then 256
 * hash tables of (hash, recordpos) slots, each twice as long as the number of
 * records in its bucket. All integers are 32-bit little-endian.
 *
 * This module is a leaf (config/): the builder and reader are pure;
 * readCdbFile is the only I/O. Writing a cdb file is the commands' job
 * (qmd newu: appliance/durable_file.ts's replaceFile).
 */
import { MailError } from "./mail_error.ts";

/** One key/data pair. Keys may repeat; the first-inserted one is found first. */
export interface CdbRecord {
  key: Uint8Array;
  data: Uint8Array;
}

const HEADER_BYTES = 2048;
const MAX_OFFSET = 0xffffffff;

/** cdb's hash: h = 5381; h = ((h << 5) + h) ^ c for each byte, modulo 2^32. */
export function cdbHash(key: Uint8Array): number {
  let h = 5381;
  for (const c of key) h = (((h << 5) + h) ^ c) >>> 0;
  return h >>> 0;
}

function toBytes(key: Uint8Array | string): Uint8Array {
  if (key instanceof Uint8Array) return key;
  const bytes = new Uint8Array(key.length);
  for (let i = 0; i < key.length; i++) {
    const code = key.charCodeAt(i);
    if (code > 255) return new TextEncoder().encode(key);
    bytes[i] = code;
  }
  return bytes;
}

/**
 * Builds a whole cdb file in memory. Records keep their order; each hash table
 * is filled in insertion order by linear probing from (hash >> 8) mod slots,
 * exactly as cdb_make does, so duplicate keys are found oldest first.
 */
export function buildCdb(records: readonly CdbRecord[]): Uint8Array {
  let recordBytes = 0;
  for (const { key, data } of records) recordBytes += 8 + key.length + data.length;
  const tableBytes = records.length * 2 * 8;
  const total = HEADER_BYTES + recordBytes + tableBytes;
  if (total > MAX_OFFSET) throw new RangeError("cdb would exceed 4 GiB");

  const out = new Uint8Array(total);
  const view = new DataView(out.buffer);
  const buckets: { hash: number; position: number }[][] = Array.from({ length: 256 }, () => []);

  let position = HEADER_BYTES;
  for (const { key, data } of records) {
    const hash = cdbHash(key);
    buckets[hash & 255].push({ hash, position });
    view.setUint32(position, key.length, true);
    view.setUint32(position + 4, data.length, true);
    out.set(key, position + 8);
    out.set(data, position + 8 + key.length);
    position += 8 + key.length + data.length;
  }

  for (let i = 0; i < 256; i++) {
    const bucket = buckets[i];
    const slots = bucket.length * 2;
    view.setUint32(i * 8, position, true);
    view.setUint32(i * 8 + 4, slots, true);
    const table = new Array<{ hash: number; position: number } | undefined>(slots);
    for (const entry of bucket) {
      let slot = (entry.hash >>> 8) % slots;
      while (table[slot] !== undefined) slot = (slot + 1) % slots;
      table[slot] = entry;
    }
    for (let s = 0; s < slots; s++) {
      const entry = table[s];
      view.setUint32(position + s * 8, entry?.hash ?? 0, true);
      view.setUint32(position + s * 8 + 4, entry?.position ?? 0, true);
    }
    position += slots * 8;
  }
  return out;
}

/** A malformed cdb file (a pointer past the end, a short header); temporary, as qmail's cdb errors are. */
export class CdbFormatError extends MailError {
  constructor(message: string) {
    super(message, { temporary: true });
    this.name = "CdbFormatError";
  }
}

/** Lookups in a cdb held in memory, following cdb_find's probe sequence. */
export class CdbReader {
  readonly #bytes: Uint8Array;
  readonly #view: DataView;

  constructor(bytes: Uint8Array) {
    if (bytes.length < HEADER_BYTES) throw new CdbFormatError("cdb file shorter than its header");
    this.#bytes = bytes;
    this.#view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  /** The data of the first record with this key, or undefined. */
  get(key: Uint8Array | string): Uint8Array | undefined {
    for (const data of this.#find(toBytes(key))) return data;
    return undefined;
  }

  /** The data of every record with this key, in insertion order. */
  getAll(key: Uint8Array | string): Uint8Array[] {
    return [...this.#find(toBytes(key))];
  }

  /** Every record in file order (cdbdump's walk). */
  records(): CdbRecord[] {
    return readCdbRecords(this.#bytes);
  }

  #u32(position: number): number {
    if (position + 4 > this.#bytes.length) {
      throw new CdbFormatError(`cdb pointer ${position} past end of file`);
    }
    return this.#view.getUint32(position, true);
  }

  *#find(key: Uint8Array): Generator<Uint8Array> {
    const hash = cdbHash(key);
    const tablePosition = this.#u32((hash & 255) * 8);
    const slots = this.#u32((hash & 255) * 8 + 4);
    if (slots === 0) return;
    let slot = (hash >>> 8) % slots;
    for (let probe = 0; probe < slots; probe++) {
      const slotPosition = tablePosition + slot * 8;
      const slotHash = this.#u32(slotPosition);
      const recordPosition = this.#u32(slotPosition + 4);
      if (recordPosition === 0) return;
      if (slotHash === hash) {
        const keyLength = this.#u32(recordPosition);
        const dataLength = this.#u32(recordPosition + 4);
        const keyStart = recordPosition + 8;
        const dataEnd = keyStart + keyLength + dataLength;
        if (dataEnd > this.#bytes.length) {
          throw new CdbFormatError(`cdb record at ${recordPosition} runs past end of file`);
        }
        if (keyLength === key.length && sameBytes(this.#bytes, keyStart, key)) {
          yield this.#bytes.slice(keyStart + keyLength, dataEnd);
        }
      }
      slot = (slot + 1) % slots;
    }
  }
}

/**
 * Every record of a cdb in file order, checking that each pointer stays inside
 * the file. The records run from byte 2048 up to the first hash table.
 */
export function readCdbRecords(bytes: Uint8Array): CdbRecord[] {
  if (bytes.length < 2048) throw new CdbFormatError("cdb file shorter than its header");
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let end = bytes.length;
  for (let i = 0; i < 256; i++) {
    const position = view.getUint32(i * 8, true);
    const slots = view.getUint32(i * 8 + 4, true);
    if (position < 2048 || position + slots * 8 > bytes.length) {
      throw new CdbFormatError(`cdb hash table ${i} lies outside the file`);
    }
    end = Math.min(end, position);
  }
  const records: CdbRecord[] = [];
  let position = 2048;
  while (position < end) {
    if (position + 8 > end) throw new CdbFormatError(`cdb record at ${position} is cut short`);
    const keyLength = view.getUint32(position, true);
    const dataLength = view.getUint32(position + 4, true);
    const keyStart = position + 8;
    const dataEnd = keyStart + keyLength + dataLength;
    if (dataEnd > end) throw new CdbFormatError(`cdb record at ${position} runs past the records`);
    records.push({
      key: bytes.slice(keyStart, keyStart + keyLength),
      data: bytes.slice(keyStart + keyLength, dataEnd),
    });
    position = dataEnd;
  }
  return records;
}

function sameBytes(haystack: Uint8Array, start: number, needle: Uint8Array): boolean {
  for (let i = 0; i < needle.length; i++) if (haystack[start + i] !== needle[i]) return false;
  return true;
}

/** Reads a cdb file into memory; undefined when it does not exist (qmail-lspawn's ENOENT case). */
export async function readCdbFile(path: string): Promise<CdbReader | undefined> {
  try {
    return new CdbReader(await Deno.readFile(path));
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return undefined;
    throw error;
  }
}
