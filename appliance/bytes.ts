/**
 * Byte helpers shared across folders: joining arrays, and the "byte strings"
 * (one char, code 0–255, per byte) that addresses and header text are held
 * in, so that any byte but NUL survives exactly. Pure.
 */

/** The parts joined into one array. */
export function concatBytes(parts: readonly Uint8Array[]): Uint8Array {
  const bytes = new Uint8Array(parts.reduce((sum, part) => sum + part.length, 0));
  let offset = 0;
  for (const part of parts) {
    bytes.set(part, offset);
    offset += part.length;
  }
  return bytes;
}

/** Bytes to a string with one char (code 0–255) per byte. */
export function bytesToString(bytes: Uint8Array): string {
  let text = "";
  for (let i = 0; i < bytes.length; i += 8192) {
    text += String.fromCharCode(...bytes.subarray(i, i + 8192));
  }
  return text;
}

/**
 * A string to bytes: one byte per char when every char code is at most 255
 * (the inverse of bytesToString); otherwise the whole string as UTF-8.
 */
export function stringToBytes(text: string): Uint8Array {
  const bytes = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code > 255) return new TextEncoder().encode(text);
    bytes[i] = code;
  }
  return bytes;
}

/**
 * A JS string (e.g. a control file value, decoded from UTF-8) as the byte
 * string of its UTF-8 bytes, so that it compares with address bytes the way
 * qmail's byte-wise code does.
 */
export function utf8ByteString(text: string): string {
  return bytesToString(new TextEncoder().encode(text));
}

/**
 * A byte string (an address as the queue holds it) as JS text, its bytes read as UTF-8 (bytes that
 * are not UTF-8 become U+FFFD); ASCII comes back unchanged. The inverse of utf8ByteString.
 */
export function byteStringText(text: string): string {
  // ASCII (nearly every address) is the same in both.
  for (let i = 0; i < text.length; i++) {
    if (text.charCodeAt(i) > 0x7f) return new TextDecoder().decode(stringToBytes(text));
  }
  return text;
}

const strictUtf8 = new TextDecoder("utf-8", { fatal: true });

/** Whether a byte string is well-formed UTF-8 (RFC 3629: no overlongs, no surrogates). */
export function isUtf8ByteString(text: string): boolean {
  try {
    strictUtf8.decode(stringToBytes(text));
    return true;
  } catch {
    return false;
  }
}

/** Whether a byte string (or bytes) holds a byte at or above 0x80. */
export function hasEightBit(value: string | Uint8Array): boolean {
  if (typeof value === "string") return /[\x80-\uffff]/.test(value);
  return value.some((byte) => byte >= 0x80);
}
