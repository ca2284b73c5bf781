/**
 * The DATA section of one SMTP session, for the connection driver
 * (smtp_connection.ts): the body streams from the client through DataReader
 * into a new queue message and, piece by piece, into every content scan
 * (config/content_modules.ts: clamd, signatures), never held whole. A
 * complete body is handed back uncommitted, with the scans' verdicts, for
 * the session's end-of-DATA checks; the driver then commits it
 * (commitMessage) or drops it. Anything but a clean CRLF.CRLF end within
 * the limits aborts the queue message and the scans, so nothing
 * half-written is ever queued.
 *
 * When a scan edits the message's head (the Authentication-Results scan,
 * whose header must come first but is known only at the end), the body
 * goes to a spool in queue/pid instead and reaches the queue at the commit
 * (message_spool.ts), with the scans' edit applied.
 */
import type { ContentScan, FilterRequest, MessageEdit, ScanContext } from "../filters/filter.ts";
import {
  CONTENT_MODULES,
  type ContentControls,
  type ContentModule,
} from "../policy/content_modules.ts";
import type { DataOutcome, ScanResult, SmtpDataEffect } from "../smtp/session.ts";
import { REPLY_SCAN_FAILED } from "../smtp/replies.ts";
import { DataReader } from "../smtp/data.ts";
import { qmailCloseText, QueueError } from "../queue/qmail_queue.ts";
import { QUEUE_EXIT } from "../exit_codes.ts";
import type { LineBuffer } from "./line_buffer.ts";
import { logEvent } from "../log.ts";
import { SpooledMessage } from "./message_spool.ts";
import { HeaderSniff } from "./message_id.ts";

/** Where a message goes: the built-in queue (QueueMessage) or a QMAILQUEUE program. */
export interface MessageSink {
  readonly qp: string;
  /** The queue id when the built-in queue took it. */
  readonly id?: bigint;
  write(chunk: Uint8Array): Promise<void>;
  commit(sender: Uint8Array, recipients: Uint8Array[]): Promise<void>;
  abort(): Promise<void>;
}

/** What receiveBody needs of the connection's options. */
export interface BodyOptions {
  openQueue: (request: FilterRequest) => Promise<MessageSink>;
  sessionId: string;
  /** The content checks' controls (loadContentControls), in `contentModules` order. */
  contentControls?: ContentControls;
  /** Default CONTENT_MODULES. */
  contentModules?: readonly ContentModule[];
  /** What the scans may use besides the request (the resolver, the session's lookups). */
  scanContext?: ScanContext;
  /**
   * Where a message is spooled while a scan that edits its head decides
   * (message_spool.ts): queue/pid. Without it such scans are not begun.
   */
  spoolDirectory?: string;
}

/** A body in, uncommitted: the message, the scans' verdicts and its Message-ID. */
export interface ReceivedBody {
  kind: "complete";
  message: MessageSink;
  scans: ScanResult[];
  messageId?: string;
}

const encoder = new TextEncoder();

/** One content scan of this message, by its check's name; `failed` once it threw. */
interface NamedScan {
  check: string;
  /** Undefined when begin() threw. */
  scan?: ContentScan;
  failed?: string;
}

/**
 * The scans of one message, each with its check's name for the trace
 * (content_modules.ts beginScans, keeping the names). A check whose begin()
 * throws is a scan that failed.
 */
function beginNamedScans(
  controls: ContentControls,
  request: FilterRequest,
  modules: readonly ContentModule[],
  options: BodyOptions,
): NamedScan[] {
  const scans: NamedScan[] = [];
  modules.forEach((module, i) => {
    try {
      const scan = module.begin(controls[i], request, options.scanContext);
      if (scan?.edit !== undefined && options.spoolDirectory === undefined) {
        scan.abort().catch(() => {});
        return;
      }
      if (scan !== undefined) scans.push({ check: module.name, scan });
    } catch (error) {
      scans.push({ check: module.name, failed: (error as Error).message });
    }
  });
  return scans;
}

/** The edits of the scans that change the message's head, as one. */
function mergedEdit(scans: readonly NamedScan[]): MessageEdit | undefined {
  const edits = scans.flatMap((named) =>
    named.failed === undefined && named.scan?.edit !== undefined ? [named.scan.edit()] : []
  );
  if (edits.length === 0) return undefined;
  return {
    prepend: edits.flatMap((edit) => edit.prepend),
    drops: (field) => edits.some((edit) => edit.drops(field)),
  };
}

/** Every scan's verdict; a scan that threw is a temporary failure (451). */
async function finishScans(scans: NamedScan[], sessionId: string): Promise<ScanResult[]> {
  const results: ScanResult[] = [];
  for (const named of scans) {
    if (named.failed === undefined && named.scan !== undefined) {
      try {
        results.push({ check: named.check, verdict: await named.scan.finish() });
        continue;
      } catch (error) {
        named.failed = (error as Error).message;
      }
    }
    logEvent("smtp_scan_error", `smtpd ${sessionId}: ${named.check} scan failed: ${named.failed}`, {
      session: sessionId,
      check: named.check,
    });
    results.push({
      check: named.check,
      verdict: {
        kind: "refuse",
        reply: [REPLY_SCAN_FAILED],
        rule: { check: named.check, entry: named.failed },
      },
    });
  }
  return results;
}

async function abortScans(scans: NamedScan[]): Promise<void> {
  for (const named of scans) {
    if (named.failed === undefined) await named.scan?.abort().catch(() => {});
  }
}

/**
 * Streams the DATA section into a new queue message and the content scans.
 * Returns the complete body, or the outcome that ends DATA without it.
 */
export async function receiveBody(
  data: SmtpDataEffect,
  lines: LineBuffer,
  read: () => Promise<Uint8Array | undefined>,
  options: BodyOptions,
): Promise<ReceivedBody | { kind: "outcome"; outcome: DataOutcome }> {
  // Body chunks are written before the next push, so the reader may reuse one buffer.
  const reader = new DataReader({
    databytes: data.databytes,
    maxHops: data.maxHops,
    reuseBuffer: true,
  });
  const scans = beginNamedScans(
    options.contentControls ?? [],
    // The session id, for the lines a scan logs itself (clamd's CLAMD:).
    { ...data.request, sessionId: options.sessionId },
    options.contentModules ?? CONTENT_MODULES,
    options,
  );
  let message: MessageSink | undefined;
  let queueError: QueueError | undefined;
  try {
    // The checks' header lines go above qmail-smtpd's Received line.
    const headers = data.headers.map((line) => `${line}\n`).join("");
    const prefix = encoder.encode(headers + data.received);
    if (scans.some((named) => named.scan?.edit !== undefined)) {
      // A scan's lines must go first: the body waits in a spool until the commit.
      message = SpooledMessage.open(
        options.spoolDirectory!,
        () => options.openQueue(data.request),
        prefix,
      );
    } else {
      message = await options.openQueue(data.request);
      await message.write(prefix);
    }
  } catch (error) {
    queueError = asQueueError(error, options.sessionId);
  }
  const sniff = new HeaderSniff();
  const drop = async <T>(result: T): Promise<T> => {
    await message?.abort();
    await abortScans(scans);
    return result;
  };
  let chunk: Uint8Array | undefined = lines.take();
  try {
    while (true) {
      if (chunk !== undefined && chunk.length > 0) {
        const step = reader.push(chunk);
        const writing = !reader.tooBig && !reader.tooManyHops;
        for (const piece of writing ? step.body : []) {
          if (message !== undefined && queueError === undefined) {
            try {
              await message.write(piece);
            } catch (error) {
              queueError = asQueueError(error, options.sessionId);
            }
          }
          for (const named of scans) {
            if (named.failed !== undefined || named.scan === undefined) continue;
            await named.scan.write(piece).catch((error) => named.failed = error.message);
          }
          sniff.push(piece);
        }
        if (step.bareLf) return await drop({ kind: "outcome", outcome: { kind: "barelf" } });
        if (step.done) {
          if (step.rest !== null && step.rest.length > 0) lines.push(step.rest);
          break;
        }
      }
      chunk = await read();
      if (chunk === undefined) {
        throw Object.assign(new Error("connection closed during DATA"), { code: "ECONNRESET" });
      }
    }
  } catch (error) {
    await drop(undefined);
    throw error;
  }
  if (queueError !== undefined || message === undefined) {
    return await drop({
      kind: "outcome",
      outcome: { kind: "queue-error", text: queueErrorText(queueError) },
    });
  }
  if (reader.tooManyHops) return await drop({ kind: "outcome", outcome: { kind: "hops" } });
  if (reader.tooBig) return await drop({ kind: "outcome", outcome: { kind: "toobig" } });
  const results = await finishScans(scans, options.sessionId);
  if (message instanceof SpooledMessage) message.setEdit(mergedEdit(scans));
  return {
    kind: "complete",
    message,
    scans: results,
    messageId: sniff.messageId(),
  };
}

/**
 * Commits a complete body to the queue: qmail's promise, "250 ok" only
 * after this returned `queued`.
 */
export async function commitMessage(
  message: MessageSink,
  data: SmtpDataEffect,
  options: { sessionId: string; now?: () => Date },
): Promise<DataOutcome> {
  try {
    await message.commit(data.sender, data.recipients);
  } catch (error) {
    await message.abort().catch(() => {});
    return { kind: "queue-error", text: queueErrorText(asQueueError(error, options.sessionId)) };
  }
  // qmail-smtpd's "ok TIME qp PID": the session's clock, like its Received date.
  const now = options.now?.() ?? new Date();
  return { kind: "queued", time: Math.floor(now.getTime() / 1000), qp: message.qp };
}

/** qmail_close's text, or a QMAILQUEUE program's own `D…`/`Z…` line (docs/patches.md seed 001). */
function queueErrorText(error: QueueError | undefined): string {
  return error?.replyText ?? qmailCloseText(QUEUE_EXIT.write);
}

/** Tell the client little, log everything: the reason, errno and path go to the log. */
function asQueueError(error: unknown, sessionId: string): QueueError {
  const queueError = error instanceof QueueError
    ? error
    : new QueueError(QUEUE_EXIT.write, (error as Error).message);
  const cause = (error as Error).cause instanceof Error
    ? `: ${((error as Error).cause as Error).message}`
    : "";
  logEvent(
    "queue_error",
    `smtpd ${sessionId}: queue trouble (exit ${queueError.exitCode}): ${queueError.logReason}${cause}`,
    { session: sessionId, exitCode: queueError.exitCode },
  );
  return queueError;
}
