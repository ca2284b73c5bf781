/**
 * Drives one SMTP connection: bytes in, the pure session core deciding, the
 * DATA byte machine streaming the body into the queue, replies out. Transport
 * neutral, so the same driver serves a node:net socket in the appliance and
 * stdin/stdout under tcpserver.
 *
 * qmail's promise is kept here: "250 ok" is written only after
 * QueueMessage.commit() returned, i.e. after todo/ID was linked and fsynced.
 */
import {
  type DataOutcome,
  SmtpSession,
  type SmtpSessionOptions,
  type SmtpStep,
} from "../smtp/session.ts";
import { DataReader } from "../smtp/data.ts";
import {
  openQueueMessage,
  qmailCloseText,
  QueueError,
  type QueueMessage,
} from "../queue/inject.ts";
import type { QueueLayout } from "../queue/layout.ts";
import { LineBuffer } from "./line_buffer.ts";
import { logEvent } from "../log.ts";

/** What the driver needs from a connection. */
export interface Transport {
  /** Reads the next chunk; undefined at EOF. */
  read(): Promise<Uint8Array | undefined>;
  write(bytes: Uint8Array): Promise<void>;
  close(): void;
}

export interface SmtpConnectionOptions {
  session: SmtpSessionOptions;
  layout: QueueLayout;
  /** Seconds allowed for each read and write (control/timeoutsmtpd). */
  timeoutSeconds: number;
  /** Longest command line accepted, in bytes. */
  maxLineLength: number;
  /** Session id for log lines. */
  sessionId: string;
  /** Called after a message was committed to the queue. */
  onQueued?: (id: bigint) => void;
  now?: () => Date;
}

const encoder = new TextEncoder();
const CRLF = "\r\n";

class ReadTimeout extends Error {}

function withTimeout<T>(promise: Promise<T>, seconds: number): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new ReadTimeout()), seconds * 1000);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** Serves one SMTP session to its end. Never throws for client behaviour. */
export async function serveSmtpConnection(
  transport: Transport,
  options: SmtpConnectionOptions,
): Promise<void> {
  const now = options.now ?? (() => new Date());
  const session = new SmtpSession(options.session);
  const lines = new LineBuffer(options.maxLineLength);
  let output: string[] = [];

  const flush = async () => {
    if (output.length === 0) return;
    const bytes = encoder.encode(output.join(""));
    output = [];
    await withTimeout(transport.write(bytes), options.timeoutSeconds);
  };
  /** Queues a step's replies; returns whether the session is over. */
  const apply = (step: SmtpStep): boolean => {
    for (const reply of step.replies) output.push(reply + CRLF);
    return step.close;
  };
  const read = async (): Promise<Uint8Array | undefined> => {
    await flush();
    return await withTimeout(transport.read(), options.timeoutSeconds);
  };

  try {
    if (apply(session.greet())) return;
    while (true) {
      const result = lines.next();
      if (result === undefined) {
        const chunk = await read();
        if (chunk === undefined) return;
        lines.push(chunk);
        continue;
      }
      const step = result.kind === "too-long"
        ? session.lineTooLong()
        : session.receiveLine(result.line, now());
      if (apply(step)) return;
      const data = step.effects.find((effect) => effect.kind === "data");
      if (data === undefined) continue;
      await flush();
      const outcome = await receiveMessage(data, lines, read, options);
      if (apply(session.dataFinished(outcome))) return;
    }
  } catch (error) {
    if (error instanceof ReadTimeout) {
      apply(session.timeout());
      logEvent("smtp_timeout", `smtpd ${options.sessionId}: timeout`, {
        session: options.sessionId,
      });
    } else if (!isDisconnect(error)) {
      logEvent("smtp_error", `smtpd ${options.sessionId}: ${(error as Error).message}`, {
        session: options.sessionId,
      });
    }
  } finally {
    try {
      await flush();
    } catch {
      // the client is gone; nothing more to say to it
    }
    transport.close();
  }
}

function isDisconnect(error: unknown): boolean {
  const code = (error as { code?: string })?.code;
  return code === "ECONNRESET" || code === "EPIPE" || error instanceof Deno.errors.BrokenPipe ||
    error instanceof Deno.errors.ConnectionReset;
}

/**
 * Streams the DATA section from the client into a new queue message and
 * commits it. Anything but a clean CRLF.CRLF end with the limits respected
 * aborts the queue message, so nothing half-written is ever queued.
 */
async function receiveMessage(
  data: { sender: Uint8Array; recipients: Uint8Array[]; received: string },
  lines: LineBuffer,
  read: () => Promise<Uint8Array | undefined>,
  options: SmtpConnectionOptions,
): Promise<DataOutcome> {
  // Body chunks are written before the next push, so the reader may reuse one buffer.
  const reader = new DataReader({ databytes: options.session.databytes, reuseBuffer: true });
  let message: QueueMessage | undefined;
  let queueError: QueueError | undefined;
  try {
    message = await openQueueMessage(options.layout, { who: "from network" });
    await message.write(encoder.encode(data.received));
  } catch (error) {
    queueError = asQueueError(error, options.sessionId);
  }
  let chunk: Uint8Array | undefined = lines.take();
  try {
    while (true) {
      if (chunk !== undefined && chunk.length > 0) {
        const step = reader.push(chunk);
        if (
          message !== undefined && queueError === undefined && !reader.tooBig && !reader.tooManyHops
        ) {
          try {
            for (const piece of step.body) await message.write(piece);
          } catch (error) {
            queueError = asQueueError(error, options.sessionId);
          }
        }
        if (step.bareLf) {
          await message?.abort();
          return { kind: "barelf" };
        }
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
    await message?.abort();
    throw error;
  }
  if (queueError !== undefined || message === undefined) {
    await message?.abort();
    return { kind: "queue-error", text: qmailCloseText(queueError?.exitCode ?? 53) };
  }
  if (reader.tooManyHops) {
    await message.abort();
    return { kind: "hops" };
  }
  if (reader.tooBig) {
    await message.abort();
    return { kind: "toobig" };
  }
  try {
    await message.commit(data.sender, data.recipients);
  } catch (error) {
    await message.abort().catch(() => {});
    return {
      kind: "queue-error",
      text: qmailCloseText(asQueueError(error, options.sessionId).exitCode),
    };
  }
  options.onQueued?.(message.id);
  return { kind: "queued", time: Math.floor(Date.now() / 1000), qp: message.qp };
}

/** Tell the client little, log everything: the reason, errno and path go to the log. */
function asQueueError(error: unknown, sessionId: string): QueueError {
  const queueError = error instanceof QueueError
    ? error
    : new QueueError(53, (error as Error).message);
  const cause = (error as Error).cause instanceof Error
    ? `: ${((error as Error).cause as Error).message}`
    : "";
  logEvent(
    "queue_error",
    `smtpd ${sessionId}: queue trouble (exit ${queueError.exitCode}): ${queueError.message}${cause}`,
    { session: sessionId, exitCode: queueError.exitCode },
  );
  return queueError;
}
