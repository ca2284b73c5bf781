/**
 * A fake clamd on loopback TCP and a Unix socket, speaking INSTREAM
 * (clamd(8)): `zINSTREAM\0` or `nINSTREAM\n`, length-framed chunks, a zero
 * length, one reply. It reports a virus when the stream holds the marker
 * (across chunk boundaries too), and can be told to hang (never answer),
 * close (hang up after the command) or enforce a StreamMaxLength (answer
 * `INSTREAM size limit exceeded. ERROR` and hang up, as clamd does).
 */

export const FAKE_VIRUS_MARKER = "QMD-FAKE-CLAMD-VIRUS-MARKER";
export const FAKE_VIRUS_NAME = "Qmd.Test.Marker";

export type FakeClamdMode = "scan" | "hang" | "close" | "limit";

export interface FakeClamdOptions {
  /** Also listen on this Unix socket path. */
  unixPath?: string;
  mode?: FakeClamdMode;
  /** StreamMaxLength for mode "limit", in bytes. */
  limitBytes?: number;
}

/** One INSTREAM conversation as the fake saw it. */
export interface FakeStream {
  command: string;
  bytes: number;
  chunks: number;
  /** Whether the zero-length end arrived. */
  ended: boolean;
  reply?: string;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();
/** A safety net for waits in tests, not a measured threshold. */
const WAIT_LIMIT_MS = 10_000;

export class FakeClamd {
  mode: FakeClamdMode;
  limitBytes: number;
  readonly streams: FakeStream[] = [];
  readonly #listeners: Deno.Listener[] = [];
  readonly #conns = new Set<Deno.Conn>();
  readonly #served: Promise<void>[] = [];
  #waiters: { bytes: number; resolve: () => void }[] = [];
  #total = 0;

  private constructor(options: FakeClamdOptions) {
    this.mode = options.mode ?? "scan";
    this.limitBytes = options.limitBytes ?? 1024 * 1024;
  }

  static start(options: FakeClamdOptions = {}): FakeClamd {
    const fake = new FakeClamd(options);
    fake.#listen(Deno.listen({ hostname: "127.0.0.1", port: 0 }));
    if (options.unixPath !== undefined) {
      fake.#listen(Deno.listen({ transport: "unix", path: options.unixPath }));
    }
    return fake;
  }

  /** The TCP port, for control/clamd's `127.0.0.1:PORT`. */
  get port(): number {
    return (this.#listeners[0].addr as Deno.NetAddr).port;
  }

  /** Resolves once the fake has received `bytes` stream bytes in all, over all streams. */
  receivedBytes(bytes: number): Promise<void> {
    if (this.#total >= bytes) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`fake clamd got ${this.#total} bytes, not ${bytes}`)),
        WAIT_LIMIT_MS,
      );
      this.#waiters.push({
        bytes,
        resolve: () => {
          clearTimeout(timer);
          resolve();
        },
      });
    });
  }

  async close(): Promise<void> {
    for (const listener of this.#listeners) listener.close();
    for (const conn of this.#conns) closeQuietly(conn);
    await Promise.allSettled(this.#served);
  }

  #listen(listener: Deno.Listener): void {
    this.#listeners.push(listener);
    this.#served.push((async () => {
      try {
        for await (const conn of listener) {
          this.#conns.add(conn);
          this.#served.push(
            this.#serve(conn).finally(() => {
              this.#conns.delete(conn);
              closeQuietly(conn);
            }),
          );
        }
      } catch {
        // Listener closed.
      }
    })());
  }

  async #serve(conn: Deno.Conn): Promise<void> {
    const input = new ByteReader(conn);
    const first = await input.take(1);
    if (first === undefined) return;
    const terminator = first[0] === 0x7a ? 0 : 0x0a; // 'z' or 'n'
    const rest = await input.until(terminator);
    if (rest === undefined) return;
    const stream: FakeStream = {
      command: decoder.decode(first) + decoder.decode(rest),
      bytes: 0,
      chunks: 0,
      ended: false,
    };
    this.streams.push(stream);
    const mode = this.mode;
    if (mode === "close") return;
    const marker = encoder.encode(FAKE_VIRUS_MARKER);
    let tail = new Uint8Array(0);
    let found = false;
    while (true) {
      const header = await input.take(4);
      if (header === undefined) return;
      const length = new DataView(header.buffer, header.byteOffset, 4).getUint32(0);
      if (length === 0) {
        stream.ended = true;
        break;
      }
      const data = await input.take(length);
      if (data === undefined) return;
      stream.chunks++;
      stream.bytes += length;
      this.#note(length);
      const window = new Uint8Array(tail.length + data.length);
      window.set(tail);
      window.set(data, tail.length);
      if (!found && indexOf(window, marker) >= 0) found = true;
      tail = window.subarray(Math.max(0, window.length - marker.length + 1)).slice();
      if (mode === "limit" && stream.bytes > this.limitBytes) {
        stream.reply = "INSTREAM size limit exceeded. ERROR";
        await conn.write(encoder.encode(`${stream.reply}\0`)).catch(() => 0);
        return;
      }
    }
    if (mode === "hang") {
      // Never answer; wait for the client to give up.
      await input.take(1);
      return;
    }
    stream.reply = found ? `stream: ${FAKE_VIRUS_NAME} FOUND` : "stream: OK";
    await conn.write(encoder.encode(`${stream.reply}${terminator === 0 ? "\0" : "\n"}`))
      .catch(() => 0);
  }

  #note(bytes: number): void {
    this.#total += bytes;
    const ready = this.#waiters.filter((waiter) => this.#total >= waiter.bytes);
    this.#waiters = this.#waiters.filter((waiter) => this.#total < waiter.bytes);
    for (const waiter of ready) waiter.resolve();
  }
}

/** Buffered exact reads from a connection. */
class ByteReader {
  readonly #conn: Deno.Conn;
  #buffer = new Uint8Array(0);

  constructor(conn: Deno.Conn) {
    this.#conn = conn;
  }

  /** Exactly `count` bytes, or undefined at EOF. */
  async take(count: number): Promise<Uint8Array | undefined> {
    while (this.#buffer.length < count) {
      if (!(await this.#fill())) return undefined;
    }
    const taken = this.#buffer.slice(0, count);
    this.#buffer = this.#buffer.subarray(count);
    return taken;
  }

  /** The bytes up to and including `byte`, or undefined at EOF. */
  async until(byte: number): Promise<Uint8Array | undefined> {
    while (true) {
      const at = this.#buffer.indexOf(byte);
      if (at >= 0) return this.take(at + 1);
      if (this.#buffer.length > 64 || !(await this.#fill())) return undefined;
    }
  }

  async #fill(): Promise<boolean> {
    const chunk = new Uint8Array(65536);
    let count: number | null;
    try {
      count = await this.#conn.read(chunk);
    } catch {
      return false;
    }
    if (count === null) return false;
    const next = new Uint8Array(this.#buffer.length + count);
    next.set(this.#buffer);
    next.set(chunk.subarray(0, count), this.#buffer.length);
    this.#buffer = next;
    return true;
  }
}

function indexOf(haystack: Uint8Array, needle: Uint8Array): number {
  outer: for (let i = 0; i + needle.length <= haystack.length; i++) {
    for (let j = 0; j < needle.length; j++) if (haystack[i + j] !== needle[j]) continue outer;
    return i;
  }
  return -1;
}

function closeQuietly(conn: Deno.Conn): void {
  try {
    conn.close();
  } catch {
    // Closed already.
  }
}
