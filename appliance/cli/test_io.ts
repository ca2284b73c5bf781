/**
 * Test helpers for the admin commands: stdin from a string, console output
 * captured. Used by tests only.
 */

/** A stream that yields `text` as UTF-8 in small chunks, to exercise chunk boundaries. */
export function streamOf(text: string, chunk = 7): ReadableStream<Uint8Array> {
  const bytes = new TextEncoder().encode(text);
  let offset = 0;
  return new ReadableStream({
    pull(controller) {
      if (offset >= bytes.length) return controller.close();
      controller.enqueue(bytes.slice(offset, offset + chunk));
      offset += chunk;
    },
  });
}

/** A writable stream and a function returning what was written to it, as text. */
export function collector(): { stream: WritableStream<Uint8Array>; text: () => string } {
  const chunks: Uint8Array[] = [];
  return {
    stream: new WritableStream<Uint8Array>({ write: (chunk) => void chunks.push(chunk) }),
    text: () => new TextDecoder().decode(new Uint8Array(chunks.flatMap((chunk) => [...chunk]))),
  };
}

/** Runs `fn` with console.log and console.error captured, one string per call. */
export async function captureConsole<T>(
  fn: () => Promise<T>,
): Promise<{ result: T; out: string[]; err: string[] }> {
  const out: string[] = [];
  const err: string[] = [];
  const { log, error } = console;
  console.log = (...args: unknown[]) => void out.push(args.join(" "));
  console.error = (...args: unknown[]) => void err.push(args.join(" "));
  try {
    return { result: await fn(), out, err };
  } finally {
    console.log = log;
    console.error = error;
  }
}
