/**
 * qmail-remove's search (seed 004, docs/patches.md): the queued messages
 * whose mess/ID contains a pattern, byte for byte, optionally within the
 * first N bytes. Read-only.
 */
import type { QueueLayout } from "./layout.ts";

/** The largest chunk read at a time. */
const CHUNK = 65536;

/**
 * The committed messages (in info/ or todo/) whose mess/ID contains
 * `pattern` within its first `limit` bytes (all of it when undefined); every
 * committed message when `pattern` is undefined. Ascending.
 */
export function findMatchingMessages(
  layout: QueueLayout,
  pattern: Uint8Array | undefined,
  limit?: number,
): bigint[] {
  const ids = [...new Set([...layout.listIds("info"), ...layout.listIds("todo")])]
    .sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  if (pattern === undefined) return ids;
  return ids.filter((id) => fileContains(layout.mess(id), pattern, limit ?? Infinity));
}

/** Whether the first `limit` bytes of the file at `path` contain `pattern`; false when unreadable. */
export function fileContains(path: string, pattern: Uint8Array, limit: number): boolean {
  let file: Deno.FsFile;
  try {
    file = Deno.openSync(path, { read: true });
  } catch {
    return false;
  }
  try {
    // The tail of the previous chunk is kept, so a match across chunks is found.
    let carry = new Uint8Array(0);
    let read = 0;
    const buffer = new Uint8Array(CHUNK);
    while (read < limit) {
      const n = file.readSync(buffer.subarray(0, Math.min(CHUNK, limit - read)));
      if (n === null || n === 0) return false;
      read += n;
      const window = new Uint8Array(carry.length + n);
      window.set(carry);
      window.set(buffer.subarray(0, n), carry.length);
      if (indexOf(window, pattern) >= 0) return true;
      carry = window.slice(Math.max(0, window.length - pattern.length + 1));
    }
    return false;
  } finally {
    file.close();
  }
}

/** The first index of `needle` in `haystack`, or -1. */
function indexOf(haystack: Uint8Array, needle: Uint8Array): number {
  const first = needle[0];
  for (
    let i = haystack.indexOf(first);
    i >= 0 && i + needle.length <= haystack.length;
    i = haystack.indexOf(first, i + 1)
  ) {
    let j = 1;
    while (j < needle.length && haystack[i + j] === needle[j]) j++;
    if (j === needle.length) return i;
  }
  return -1;
}
