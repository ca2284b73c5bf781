/**
 * Addresses are byte strings (one char per byte) as the queue holds them;
 * they become UTF-8 text only where the OS wants text (paths, environment),
 * and OS text becomes a byte string again for report texts.
 */
import { bytesToString, byteStringText } from "../bytes.ts";

const utf8Encoder = new TextEncoder();

/** JS text (paths, OS messages) → byte string for report texts. */
export function toByteString(text: string): string {
  return bytesToString(utf8Encoder.encode(text));
}

/** Byte string (an address) → JS text for paths, environment and lookups. */
export function fromByteString(text: string): string {
  return byteStringText(text);
}
