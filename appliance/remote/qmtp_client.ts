/**
 * The QMTP client for qmtproutes (http://cr.yp.to/proto/qmtp.txt; docs/patches.md seed 000's
 * qmail-1.03-qmtpc patch): one message per connection, as qmail-remote's
 * qmtp() sends it.
 *
 * The client sends, for one message, three netstrings back to back:
 *   netstring("\n" + message)   the "\n" says the message's lines end in LF;
 *                               the message is the mess/ file as is (no dot-
 *                               stuffing, no CRLF, a partial last line is fine);
 *   netstring(sender)           the envelope sender ("" = null sender);
 *   netstring(netstring(r1) + netstring(r2) + ...)   the recipients.
 * The server answers one netstring per recipient, in order, whose first byte
 * is K (accepted), Z (temporary failure) or D (permanent failure), followed by
 * a human-readable text. The client then closes the connection.
 *
 * The answers become qmail-remote records (docs/queue-format.md §5.7), keeping
 * the SMTP wording so reports read alike:
 *   K → r ""                                          per recipient
 *   Z → s "IP does not like recipient.\nRemote host said: TEXT\n"
 *   D → h "IP does not like recipient.\nRemote host said: TEXT\n"
 *   then, when some recipient got K:  K "IP accepted message.\nRemote host said: TEXT\n"
 *        (TEXT of the last K answer), else D "Giving up on IP.\n".
 * Failures after connecting:
 *   Z "Connected to IP but connection died. (#4.4.2)\n" (with "Possible duplicate! "
 *     before "(#4.4.2)" once the whole message was sent), also on a timeout;
 *   Z "Connected to IP but the QMTP answer was malformed. (#4.3.0)\n" (not a
 *     netstring, empty, a first byte other than K/Z/D, or longer than 64 KiB);
 *   Z "Unable to read message. (#4.3.0)\n" (the mess/ file could not be read).
 * Addresses are byte strings (one char per byte, appliance/bytes.ts)
 * and are sent as those bytes, unquoted.
 */
import type net from "node:net";
import { formatRemoteHostSaid, REMOTE_TEXTS, type RemoteRecord } from "../send/remote_report.ts";
import { type ClientFailure, ClientSocketError, openSocket } from "./open_socket.ts";
import { byteString, byteStringBytes as stringBytes } from "../../config/byte_string.ts";

/** The QMTP port (qmtp.txt). */
export const QMTP_PORT = 209;

/** The longest answer accepted (qmtp.txt sets no limit; a sane bound). */
export const MAX_QMTP_ANSWER = 64 * 1024;

/** Bytes read from the message file per write (bounded memory). */
const CHUNK = 64 * 1024;

/** A byte string as a netstring ("LEN:" + bytes + ","). */
export function formatNetstring(bytes: string): string {
  return `${bytes.length}:${bytes},`;
}

/** The start of the message netstring for a message of `size` bytes: "LEN:\n". */
export function formatQmtpMessageHead(size: number): string {
  return `${size + 1}:\n`;
}

/** What follows the message bytes: "," then the sender and recipient netstrings. */
export function formatQmtpEnvelope(sender: string, recipients: string[]): string {
  return "," + formatNetstring(sender) +
    formatNetstring(recipients.map((recipient) => formatNetstring(recipient)).join(""));
}

/** One answer: the status byte and the text after it (byte string). */
export interface QmtpAnswer {
  status: "K" | "Z" | "D";
  text: string;
}

/**
 * Incremental parser of the server's answers (pure): push() bytes as they
 * arrive, then read `answers`; `malformed` is set for good on a protocol error.
 */
export class QmtpAnswerParser {
  readonly answers: QmtpAnswer[] = [];
  malformed = false;
  #buffer = "";

  push(chunk: Uint8Array): void {
    if (this.malformed) return;
    this.#buffer += byteString(chunk);
    for (;;) {
      const colon = this.#buffer.indexOf(":");
      if (colon < 0) {
        if (!/^\d{0,6}$/.test(this.#buffer)) this.malformed = true;
        return;
      }
      const head = this.#buffer.slice(0, colon);
      if (!/^\d{1,6}$/.test(head)) {
        this.malformed = true;
        return;
      }
      const length = Number(head);
      if (length === 0 || length > MAX_QMTP_ANSWER) {
        this.malformed = true;
        return;
      }
      const end = colon + 1 + length;
      if (this.#buffer.length <= end) return; // wait for the rest and the ","
      const status = this.#buffer[colon + 1];
      if (this.#buffer[end] !== "," || (status !== "K" && status !== "Z" && status !== "D")) {
        this.malformed = true;
        return;
      }
      this.answers.push({ status, text: this.#buffer.slice(colon + 2, end) });
      this.#buffer = this.#buffer.slice(end + 1);
    }
  }
}

/** "Remote host said: TEXT\n" for an answer text (CR removed, one line per LF). */
function said(text: string): string {
  const lines = text.replace(/\n$/, "").split("\n");
  return formatRemoteHostSaid(lines);
}

/** The qmail-remote records for the answers, one per recipient (see the module comment). */
export function formatQmtpRecords(ip: string, answers: QmtpAnswer[]): RemoteRecord[] {
  const records: RemoteRecord[] = [];
  let accepted: QmtpAnswer | undefined;
  for (const answer of answers) {
    if (answer.status === "K") {
      accepted = answer;
      records.push({ kind: "r", text: "" });
    } else {
      records.push({
        kind: answer.status === "D" ? "h" : "s",
        text: `${ip} does not like recipient.\n${said(answer.text)}`,
      });
    }
  }
  records.push(
    accepted === undefined
      ? { kind: "D", text: `Giving up on ${ip}.\n` }
      : { kind: "K", text: `${ip} accepted message.\n${said(accepted.text)}` },
  );
  return records;
}

export interface QmtpDelivery {
  ip: string;
  port: number;
  /** Local address to bind (outgoingip, senderip, bindroutes). */
  localAddress?: string;
  connectTimeoutMs: number;
  /** Per write and per wait for an answer (timeoutremote). */
  timeoutMs: number;
  /** The open mess/ file (read from its start) and its size. */
  file: Pick<Deno.FsFile, "read" | "seek">;
  size: number;
  sender: string;
  /** At least one. */
  recipients: string[];
}

export type QmtpOutcome =
  /** No connection: the driver records tcpto and tries the next address. */
  | { kind: "unconnected"; failure: ClientFailure; reason: string }
  /** Connected: the records (r/h/s per recipient, then K/Z/D). */
  | { kind: "done"; records: RemoteRecord[] };

/** One connected QMTP exchange: writes with timeouts, answers through the parser. */
class QmtpConnection {
  readonly #socket: net.Socket;
  readonly #parser = new QmtpAnswerParser();
  #ended = false;
  #wake: (() => void) | undefined;

  constructor(socket: net.Socket) {
    this.#socket = socket;
    socket.setNoDelay(true);
    socket.on("data", (chunk: Uint8Array) => {
      this.#parser.push(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength));
      this.#wake?.();
    });
    const end = () => {
      this.#ended = true;
      this.#wake?.();
    };
    socket.on("end", end);
    socket.on("close", end);
    socket.on("error", end);
  }

  write(bytes: Uint8Array, timeoutMs: number): Promise<void> {
    if (this.#ended || this.#socket.destroyed) {
      return Promise.reject(new ClientSocketError("closed", "Connection closed"));
    }
    return new Promise((resolve, reject) => {
      let done = false;
      const timer = setTimeout(() => {
        if (done) return;
        done = true;
        this.#socket.destroy();
        reject(new ClientSocketError("timeout", "Timed out writing"));
      }, timeoutMs);
      this.#socket.write(bytes, (error) => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        if (error) reject(new ClientSocketError("closed", error.message, { cause: error }));
        else resolve();
      });
    });
  }

  /**
   * Waits for `count` answers. Resolves with them, or with "malformed", or
   * rejects (ClientSocketError) when the connection ends or is silent for timeoutMs.
   */
  async answers(count: number, timeoutMs: number): Promise<QmtpAnswer[] | "malformed"> {
    // Each round sees at least one more byte or the end; the parser gives up past
    // MAX_QMTP_ANSWER per answer, which bounds the rounds.
    const rounds = count * (MAX_QMTP_ANSWER + 16);
    for (let round = 0; round < rounds; round++) {
      if (this.#parser.malformed) return "malformed";
      if (this.#parser.answers.length >= count) return this.#parser.answers.slice(0, count);
      if (this.#ended) throw new ClientSocketError("closed", "Connection closed");
      let timedOut = false;
      const timer = setTimeout(() => {
        timedOut = true;
        this.#wake?.();
      }, timeoutMs);
      await new Promise<void>((resolve) => this.#wake = resolve);
      this.#wake = undefined;
      clearTimeout(timer);
      if (timedOut) {
        this.#socket.destroy();
        throw new ClientSocketError("timeout", "Timed out waiting for an answer");
      }
    }
    return "malformed";
  }

  close(): void {
    this.#socket.end();
    const socket = this.#socket;
    const timer = setTimeout(() => socket.destroy(), 1000);
    socket.once("close", () => clearTimeout(timer));
  }

  destroy(): void {
    this.#socket.destroy();
  }
}

/**
 * Delivers one message over QMTP (see the module comment). Never throws for
 * network trouble: an unconnected outcome or records.
 */
export async function deliverQmtp(options: QmtpDelivery): Promise<QmtpOutcome> {
  if (options.recipients.length === 0) throw new Error("A message needs a recipient");
  let socket: net.Socket;
  try {
    socket = await openSocket({
      ip: options.ip,
      port: options.port,
      localAddress: options.localAddress,
      timeoutMs: options.connectTimeoutMs,
    });
  } catch (error) {
    if (!(error instanceof ClientSocketError)) throw error;
    return { kind: "unconnected", failure: error.kind, reason: error.message };
  }
  const connection = new QmtpConnection(socket);
  const { ip, timeoutMs } = options;
  let sent = false;
  try {
    await options.file.seek(0, Deno.SeekMode.Start);
    await connection.write(stringBytes(formatQmtpMessageHead(options.size)), timeoutMs);
    const buffer = new Uint8Array(CHUNK);
    let remaining = options.size;
    while (remaining > 0) {
      let count: number | null;
      try {
        count = await options.file.read(buffer.subarray(0, Math.min(CHUNK, remaining)));
      } catch {
        count = null;
      }
      if (count === null) {
        // The netstring cannot be completed: drop the connection, the server discards it.
        connection.destroy();
        return { kind: "done", records: [REMOTE_TEXTS.unreadable] };
      }
      await connection.write(buffer.slice(0, count), timeoutMs);
      remaining -= count;
    }
    await connection.write(
      stringBytes(formatQmtpEnvelope(options.sender, options.recipients)),
      timeoutMs,
    );
    sent = true;
    const answers = await connection.answers(options.recipients.length, timeoutMs);
    connection.close();
    if (answers === "malformed") {
      return {
        kind: "done",
        records: [{
          kind: "Z",
          text: `Connected to ${ip} but the QMTP answer was malformed. (#4.3.0)\n`,
        }],
      };
    }
    return { kind: "done", records: formatQmtpRecords(ip, answers) };
  } catch (error) {
    if (!(error instanceof ClientSocketError)) throw error;
    connection.destroy();
    return {
      kind: "done",
      records: [{
        kind: "Z",
        text: `Connected to ${ip} but connection died. ${
          sent ? "Possible duplicate! " : ""
        }(#4.4.2)\n`,
      }],
    };
  }
}
