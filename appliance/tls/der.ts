/**
 * A small DER writer and reader (ITU-T X.690 §8 and §10), enough for X.509
 * certificates and CRLs (RFC 5280): definite lengths only, tag numbers below
 * 31, and the universal types certificates use.
 *
 * Pure: no I/O, no clock, no randomness.
 */
import { concatBytes } from "../bytes.ts";

/** Universal tags (X.690 §8.x), with the constructed bit for SEQUENCE and SET. */
export const DER_TAG = {
  boolean: 0x01,
  integer: 0x02,
  bitString: 0x03,
  octetString: 0x04,
  null: 0x05,
  objectIdentifier: 0x06,
  utf8String: 0x0c,
  printableString: 0x13,
  ia5String: 0x16,
  utcTime: 0x17,
  generalizedTime: 0x18,
  sequence: 0x30,
  set: 0x31,
} as const;

/** DER that cannot be parsed: a truncated, indefinite or otherwise invalid encoding. */
export class DerError extends Error {
  readonly temporary = false;
  constructor(reason: string) {
    super(reason);
    this.name = "DerError";
  }
}

function formatLength(length: number): Uint8Array {
  if (length < 0x80) return Uint8Array.of(length);
  const bytes: number[] = [];
  for (let rest = length; rest > 0; rest = Math.floor(rest / 256)) bytes.unshift(rest & 0xff);
  return Uint8Array.of(0x80 | bytes.length, ...bytes);
}

/** One element: identifier octet `tag`, the DER length, then `content` (X.690 §8.1). */
export function derElement(tag: number, content: Uint8Array): Uint8Array {
  if ((tag & 0x1f) === 0x1f) throw new DerError("Tag numbers above 30 are not supported");
  return concatBytes([Uint8Array.of(tag), formatLength(content.length), content]);
}

export function derSequence(...items: Uint8Array[]): Uint8Array {
  return derElement(DER_TAG.sequence, concatBytes(items));
}

/** SET OF: DER sorts the encodings in ascending order (X.690 §11.6). */
export function derSet(...items: Uint8Array[]): Uint8Array {
  return derElement(DER_TAG.set, concatBytes([...items].sort(compareBytes)));
}

function compareBytes(a: Uint8Array, b: Uint8Array): number {
  for (let i = 0; i < Math.min(a.length, b.length); i++) {
    if (a[i] !== b[i]) return a[i] - b[i];
  }
  return a.length - b.length;
}

export function derBoolean(value: boolean): Uint8Array {
  return derElement(DER_TAG.boolean, Uint8Array.of(value ? 0xff : 0x00));
}

export function derNull(): Uint8Array {
  return derElement(DER_TAG.null, new Uint8Array(0));
}

/**
 * INTEGER in the fewest octets, two's complement (X.690 §8.3). A Uint8Array is
 * read as an unsigned big-endian magnitude, so a serial number with its top bit
 * set gets the leading zero octet that keeps it positive.
 */
export function derInteger(value: number | bigint | Uint8Array): Uint8Array {
  let bytes: number[];
  if (value instanceof Uint8Array) {
    bytes = [...value];
    while (bytes.length > 1 && bytes[0] === 0) bytes.shift();
    if (bytes.length === 0) bytes = [0];
    if (bytes[0] & 0x80) bytes.unshift(0);
  } else {
    let rest = BigInt(value);
    bytes = [];
    for (;;) {
      bytes.unshift(Number(rest & 0xffn));
      rest >>= 8n;
      const sign = bytes[0] & 0x80;
      if ((rest === 0n && !sign) || (rest === -1n && sign)) break;
    }
  }
  return derElement(DER_TAG.integer, Uint8Array.from(bytes));
}

/** OBJECT IDENTIFIER from dotted text, e.g. "2.5.4.3" (X.690 §8.19). */
export function derObjectIdentifier(oid: string): Uint8Array {
  if (!/^[0-2]\.\d+(\.\d+)*$/.test(oid)) throw new DerError(`Invalid object identifier: ${oid}`);
  const arcs = oid.split(".").map(BigInt);
  const first = arcs[0] * 40n + arcs[1];
  const out: number[] = [];
  for (const arc of [first, ...arcs.slice(2)]) {
    const group = [Number(arc & 0x7fn)];
    for (let rest = arc >> 7n; rest > 0n; rest >>= 7n) group.unshift(Number(rest & 0x7fn) | 0x80);
    out.push(...group);
  }
  return derElement(DER_TAG.objectIdentifier, Uint8Array.from(out));
}

export function derUtf8String(text: string): Uint8Array {
  return derElement(DER_TAG.utf8String, new TextEncoder().encode(text));
}

/** PrintableString's alphabet (X.680 §41.4): letters, digits, space and '()+,-./:=? */
const PRINTABLE = /^[A-Za-z0-9 '()+,\-./:=?]*$/;

export function isPrintableString(text: string): boolean {
  return PRINTABLE.test(text);
}

export function derPrintableString(text: string): Uint8Array {
  if (!isPrintableString(text)) {
    throw new DerError(`Not a PrintableString: ${JSON.stringify(text)}`);
  }
  return derElement(DER_TAG.printableString, new TextEncoder().encode(text));
}

export function derIa5String(text: string): Uint8Array {
  // deno-lint-ignore no-control-regex
  if (!/^[\x00-\x7f]*$/.test(text)) throw new DerError(`Not an IA5String: ${JSON.stringify(text)}`);
  return derElement(DER_TAG.ia5String, new TextEncoder().encode(text));
}

export function derOctetString(bytes: Uint8Array): Uint8Array {
  return derElement(DER_TAG.octetString, bytes);
}

/** BIT STRING: the count of unused bits in the last octet, then the octets (X.690 §8.6). */
export function derBitString(bytes: Uint8Array, unusedBits = 0): Uint8Array {
  if (unusedBits < 0 || unusedBits > 7 || (bytes.length === 0 && unusedBits !== 0)) {
    throw new DerError(`Invalid unused bit count: ${unusedBits}`);
  }
  return derElement(DER_TAG.bitString, concatBytes([Uint8Array.of(unusedBits), bytes]));
}

/**
 * A named-bit BIT STRING such as keyUsage: bit 0 is the most significant bit
 * of the first octet, and DER drops trailing zero bits (X.690 §11.2.2).
 */
export function derNamedBits(bits: number[]): Uint8Array {
  if (bits.length === 0) return derBitString(new Uint8Array(0));
  const highest = Math.max(...bits);
  const bytes = new Uint8Array(Math.floor(highest / 8) + 1);
  for (const bit of bits) bytes[Math.floor(bit / 8)] |= 0x80 >> (bit % 8);
  return derBitString(bytes, 7 - (highest % 8));
}

function pad(value: number, width: number): string {
  return String(value).padStart(width, "0");
}

/**
 * A certificate or CRL time: UTCTime (YYMMDDHHMMSSZ) through 2049 and
 * GeneralizedTime (YYYYMMDDHHMMSSZ) from 2050, always UTC, seconds
 * present, no fraction (RFC 5280 §4.1.2.5.1 and §4.1.2.5.2).
 */
export function derTime(date: Date): Uint8Array {
  const year = date.getUTCFullYear();
  if (year < 1950 || year > 9999) throw new DerError(`Year out of range: ${year}`);
  const rest = pad(date.getUTCMonth() + 1, 2) + pad(date.getUTCDate(), 2) +
    pad(date.getUTCHours(), 2) + pad(date.getUTCMinutes(), 2) + pad(date.getUTCSeconds(), 2) + "Z";
  const encoder = new TextEncoder();
  return year < 2050
    ? derElement(DER_TAG.utcTime, encoder.encode(pad(year % 100, 2) + rest))
    : derElement(DER_TAG.generalizedTime, encoder.encode(pad(year, 4) + rest));
}

/** [number] EXPLICIT: a constructed context-specific tag around a whole element. */
export function derExplicit(number: number, element: Uint8Array): Uint8Array {
  return derElement(0xa0 | number, element);
}

/**
 * [number] IMPLICIT: the element's own tag replaced by a context-specific one
 * (keeping its constructed bit), e.g. dNSName [2] IA5String.
 */
export function derImplicit(number: number, element: Uint8Array): Uint8Array {
  const parsed = parseDer(element);
  return derElement(0x80 | (parsed.constructed ? 0x20 : 0) | number, parsed.content);
}

// ---------------------------------------------------------------------------
// Reading

export interface DerNode {
  /** The identifier octet as it appears, e.g. 0x30 for SEQUENCE, 0xa3 for [3]. */
  tag: number;
  tagClass: "universal" | "application" | "context" | "private";
  constructed: boolean;
  /** The tag number within its class. */
  number: number;
  content: Uint8Array;
  /** The whole element: identifier, length and content. */
  encoded: Uint8Array;
}

const CLASSES = ["universal", "application", "context", "private"] as const;

/** The element starting at `offset`. Throws DerError on an invalid encoding. */
export function parseDerAt(bytes: Uint8Array, offset: number): DerNode {
  if (offset + 2 > bytes.length) throw new DerError("Truncated DER element");
  const tag = bytes[offset];
  if ((tag & 0x1f) === 0x1f) throw new DerError("Tag numbers above 30 are not supported");
  let length = bytes[offset + 1];
  let header = 2;
  if (length === 0x80) throw new DerError("Indefinite length is not DER");
  if (length > 0x80) {
    const count = length & 0x7f;
    if (count > 4) throw new DerError("DER length too large");
    if (offset + 2 + count > bytes.length) throw new DerError("Truncated DER length");
    length = 0;
    for (let i = 0; i < count; i++) length = length * 256 + bytes[offset + 2 + i];
    if (length < 0x80 || bytes[offset + 2] === 0) throw new DerError("DER length not minimal");
    header += count;
  }
  const end = offset + header + length;
  if (end > bytes.length) throw new DerError("Truncated DER content");
  return {
    tag,
    tagClass: CLASSES[tag >> 6],
    constructed: (tag & 0x20) !== 0,
    number: tag & 0x1f,
    content: bytes.subarray(offset + header, end),
    encoded: bytes.subarray(offset, end),
  };
}

/** Exactly one element filling `bytes`. */
export function parseDer(bytes: Uint8Array): DerNode {
  const node = parseDerAt(bytes, 0);
  if (node.encoded.length !== bytes.length) throw new DerError("Trailing bytes after DER element");
  return node;
}

/** The elements inside a constructed element (SEQUENCE, SET, explicit tags). */
export function parseDerChildren(node: DerNode): DerNode[] {
  if (!node.constructed) throw new DerError("Expected a constructed DER element");
  const children: DerNode[] = [];
  for (let offset = 0; offset < node.content.length;) {
    const child = parseDerAt(node.content, offset);
    children.push(child);
    offset += child.encoded.length;
  }
  return children;
}

/** Checks a node's identifier octet, naming what was expected. */
export function expectDerTag(node: DerNode | undefined, tag: number, what: string): DerNode {
  if (node === undefined) throw new DerError(`Missing ${what}`);
  if (node.tag !== tag) {
    throw new DerError(
      `Expected ${what} (tag 0x${tag.toString(16)}), found 0x${node.tag.toString(16)}`,
    );
  }
  return node;
}

/** Dotted text of an OBJECT IDENTIFIER. */
export function parseDerObjectIdentifier(node: DerNode): string {
  expectDerTag(node, DER_TAG.objectIdentifier, "object identifier");
  const arcs: bigint[] = [];
  let value = 0n;
  for (const byte of node.content) {
    value = (value << 7n) | BigInt(byte & 0x7f);
    if ((byte & 0x80) === 0) {
      arcs.push(value);
      value = 0n;
    }
  }
  if (arcs.length === 0 || (node.content[node.content.length - 1] & 0x80) !== 0) {
    throw new DerError("Truncated object identifier");
  }
  const first = arcs[0] < 80n ? arcs[0] / 40n : 2n;
  return [first, arcs[0] - first * 40n, ...arcs.slice(1)].join(".");
}

/** An INTEGER's magnitude as upper-case hex without leading zeros ("0" for zero). */
export function parseDerIntegerHex(node: DerNode): string {
  expectDerTag(node, DER_TAG.integer, "integer");
  const hex = [...node.content].map((byte) => byte.toString(16).padStart(2, "0")).join("");
  return hex.replace(/^0+/, "").toUpperCase() || "0";
}

/** A small INTEGER as a number. */
export function parseDerInteger(node: DerNode): number {
  expectDerTag(node, DER_TAG.integer, "integer");
  if (node.content.length === 0 || node.content.length > 6) {
    throw new DerError("Integer out of range");
  }
  let value = node.content[0] & 0x80 ? -1 : 0;
  for (const byte of node.content) value = value * 256 + byte;
  return value;
}

/** UTCTime or GeneralizedTime in RFC 5280's form (§4.1.2.5) as a Date. */
export function parseDerTime(node: DerNode): Date {
  const text = new TextDecoder().decode(node.content);
  let match: RegExpMatchArray | null;
  let year: number;
  if (node.tag === DER_TAG.utcTime) {
    match = text.match(/^(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})Z$/);
    if (match === null) throw new DerError(`Invalid UTCTime: ${JSON.stringify(text)}`);
    const yy = Number(match[1]);
    year = yy >= 50 ? 1900 + yy : 2000 + yy;
  } else if (node.tag === DER_TAG.generalizedTime) {
    match = text.match(/^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})Z$/);
    if (match === null) throw new DerError(`Invalid GeneralizedTime: ${JSON.stringify(text)}`);
    year = Number(match[1]);
  } else {
    throw new DerError(`Expected a time, found tag 0x${node.tag.toString(16)}`);
  }
  const [month, day, hour, minute, second] = match.slice(2).map(Number);
  return new Date(Date.UTC(year, month - 1, day, hour, minute, second));
}

/** The text of a string type (UTF8String, PrintableString, IA5String, ...). */
export function parseDerString(node: DerNode): string {
  return new TextDecoder().decode(node.content);
}

/** A BIT STRING's octets (the unused-bit count must be zero for key and signature bits). */
export function parseDerBitString(node: DerNode): Uint8Array {
  expectDerTag(node, DER_TAG.bitString, "bit string");
  if (node.content.length === 0) throw new DerError("Empty bit string");
  return node.content.subarray(1);
}
