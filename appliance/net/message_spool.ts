/**
 * A message held in a spool file until the end of DATA, for the content
 * scans that change its head (filters/filter.ts MessageEdit: the
 * Authentication-Results header, scan/auth_results_scan.ts).
 *
 * Why a spool: qmail's mess file is written once, in order, and its first
 * lines must be our header, which is known only after the last body byte
 * (DKIM's body hash). Holding the body in memory would make memory grow
 * with the message (databytes may be 0, unlimited); so the body goes to a
 * file in queue/pid (the queue writer's own scratch directory, which smtpd
 * may write), unlinked as soon as it is created so that a crash leaves
 * nothing behind. At the commit the real queue message (or QMAILQUEUE
 * program) is opened and written in qmail's order: the scan's lines, the
 * checks' header lines and qmail-smtpd's Received line, the client's header
 * without the fields the scan drops, then the rest of the spool; then it is
 * committed as any other message (mess fsynced, intd fsynced, todo linked),
 * and only then does the client get its 250. A failure anywhere aborts the
 * queue message: a 451, nothing queued, nothing half-written.
 *
 * The cost is one more write and read of the message through the page
 * cache (the spool is never fsynced: it is not the durable copy).
 */
import { writeAllSync } from "../write_all.ts";
import { HeaderEnd, MAX_HEADER_BYTES, splitHeaderFields } from "../filters/auth_results.ts";
import type { MessageEdit } from "../filters/filter.ts";
import type { MessageSink } from "./smtp_message.ts";

const BUFFER_BYTES = 65536;
const encoder = new TextEncoder();

let spoolSequence = 0;

/** One char per byte: header fields as the scans read them. */
function byteText(bytes: Uint8Array): string {
  let text = "";
  for (let i = 0; i < bytes.length; i += 8192) {
    text += String.fromCharCode(...bytes.subarray(i, i + 8192));
  }
  return text;
}

export class SpooledMessage implements MessageSink {
  #file: Deno.FsFile | undefined;
  #open: () => Promise<MessageSink>;
  #prefix: Uint8Array;
  #real: MessageSink | undefined;
  #edit: MessageEdit | undefined;
  #buffer = new Uint8Array(BUFFER_BYTES);
  #buffered = 0;
  #size = 0;
  #header = new HeaderEnd();

  private constructor(file: Deno.FsFile, open: () => Promise<MessageSink>, prefix: Uint8Array) {
    this.#file = file;
    this.#open = open;
    this.#prefix = prefix;
  }

  /**
   * A spool in `directory` for a message that `open` will queue; `prefix`
   * (the checks' header lines and the Received line) goes after the edit's lines.
   */
  static open(
    directory: string,
    open: () => Promise<MessageSink>,
    prefix: Uint8Array,
  ): SpooledMessage {
    const path = `${directory}/spool.${Deno.pid}.${Date.now()}.${++spoolSequence}`;
    const file = Deno.openSync(path, { read: true, write: true, createNew: true, mode: 0o600 });
    try {
      Deno.removeSync(path);
    } catch (error) {
      file.close();
      throw error;
    }
    return new SpooledMessage(file, open, prefix);
  }

  /** The queue writer's pid, once the message went to the queue. */
  get qp(): string {
    return this.#real?.qp ?? "";
  }

  get id(): bigint | undefined {
    return this.#real?.id;
  }

  /** What the scans change; asked for after they finished. */
  setEdit(edit: MessageEdit | undefined): void {
    this.#edit = edit;
  }

  write(chunk: Uint8Array): Promise<void> {
    const file = this.#spool();
    this.#header.push(chunk);
    if (this.#buffered + chunk.length > BUFFER_BYTES) this.#flush(file);
    if (chunk.length >= BUFFER_BYTES) writeAllSync(file, chunk);
    else {
      this.#buffer.set(chunk, this.#buffered);
      this.#buffered += chunk.length;
    }
    this.#size += chunk.length;
    return Promise.resolve();
  }

  async commit(sender: Uint8Array, recipients: Uint8Array[]): Promise<void> {
    const file = this.#spool();
    this.#flush(file);
    const real = await this.#open();
    this.#real = real;
    try {
      const edit = this.#edit;
      const lines = (edit?.prepend ?? []).map((line) => `${line}\n`).join("");
      await real.write(encoder.encode(lines));
      await real.write(this.#prefix);
      const headerBytes = this.#header.end ?? this.#size;
      if (headerBytes > MAX_HEADER_BYTES + 1) {
        throw new Error(`header section of ${headerBytes} bytes, over ${MAX_HEADER_BYTES}`);
      }
      file.seekSync(0, Deno.SeekMode.Start);
      const section = this.#read(file, headerBytes);
      for (const field of splitHeaderFields(section)) {
        if (edit === undefined || !edit.drops(byteText(field))) await real.write(field);
      }
      for (let left = this.#size - headerBytes; left > 0;) {
        const piece = this.#read(file, Math.min(left, BUFFER_BYTES));
        await real.write(piece);
        left -= piece.length;
      }
      this.#close();
      await real.commit(sender, recipients);
    } catch (error) {
      await real.abort().catch(() => {});
      throw error;
    } finally {
      this.#close();
    }
  }

  async abort(): Promise<void> {
    this.#close();
    await this.#real?.abort();
  }

  #spool(): Deno.FsFile {
    if (this.#file === undefined) throw new Error("The spool was closed");
    return this.#file;
  }

  #flush(file: Deno.FsFile): void {
    if (this.#buffered === 0) return;
    writeAllSync(file, this.#buffer.subarray(0, this.#buffered));
    this.#buffered = 0;
  }

  /** Exactly `length` bytes from the spool's position. */
  #read(file: Deno.FsFile, length: number): Uint8Array {
    const bytes = new Uint8Array(length);
    for (let at = 0; at < length;) {
      const count = file.readSync(bytes.subarray(at));
      if (count === null || count === 0) throw new Error("The spool ended early");
      at += count;
    }
    return bytes;
  }

  #close(): void {
    this.#file?.close();
    this.#file = undefined;
  }
}
