/**
 * Byte strings: one JavaScript char per byte (0–255), the way qmail's C code
 * sees addresses, envelopes and control files. Not TextDecoder("latin1"),
 * which is windows-1252 in Deno and maps 0x80–0x9f elsewhere.
 */

/** Bytes as a byte string. */
export function byteString(bytes: Uint8Array): string {
  let text = "";
  for (let i = 0; i < bytes.length; i += 8192) {
    text += String.fromCharCode(...bytes.subarray(i, i + 8192));
  }
  return text;
}

/** A byte string back to its bytes (each char's low 8 bits). */
export function byteStringBytes(text: string): Uint8Array {
  const bytes = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) bytes[i] = text.charCodeAt(i) & 0xff;
  return bytes;
}
