/**
 * Plays a transcript (tests/transcript.ts) against a server through a client
 * end, the same way whatever carries the bytes: an in-memory connection to
 * the real connection driver (tests/fakes/memory_connection.ts) or a
 * loopback socket (tests/transcript_socket.ts). Client events are sent; the
 * server's lines, pauses and close are read and checked in order; L lines go
 * to the server's reject log, Q/E/R groups to its last queued message, M
 * lines to its Maildir. At the end the client hangs up, and nothing the
 * server said may be left unread.
 */
import { TranscriptError, type TranscriptEvent } from "./transcript.ts";
import {
  checkLogLine,
  checkQueued,
  checksLogs,
  expectNoMoreLogs,
  type QueuedMessage,
  sameGroup,
} from "./transcript_expect.ts";

/** What the server sent, as the client sees it: a line without its CRLF, or a pause. */
export type ServerItem = { kind: "line"; text: string } | { kind: "pause"; seconds: number };

/** The client end of the connection a transcript is played through. */
export interface TranscriptClient {
  /**
   * Sends bytes once the server has dealt with everything sent before;
   * after the server closed they are lost, as on a socket.
   */
  send(bytes: Uint8Array): Promise<void>;
  /**
   * The server's next line or pause, once the server has dealt with
   * everything sent so far; undefined when it has nothing more to say (it
   * waits for the client, or it closed).
   */
  next(): Promise<ServerItem | undefined>;
  /** Whether the server has closed the connection. */
  closed(): Promise<boolean>;
  /** Starts the client's side of TLS (after the server's reply that starts it). */
  startTls(): Promise<void>;
  /** Hangs up, waits for the server to close, and returns what it said that was not read. */
  hangUp(): Promise<ServerItem[]>;
}

/** What the server side offers the events that are not on the wire. */
export interface TranscriptServer {
  /** The server's reply after which both sides start TLS (STARTTLS, STLS). */
  tlsReady?: string;
  /** The next `reject:` log line not yet checked (no `smtpd ID: ` prefix); undefined if none. */
  nextRejectLine?(): Promise<string | undefined>;
  /** The reject lines not checked yet, once the session is over. */
  uncheckedRejectLines?(): string[];
  /** The last message the server queued. */
  lastQueued?(): Promise<QueuedMessage | undefined>;
  /** Does an M line's Maildir action. */
  maildirAction?(event: TranscriptEvent & { kind: "maildir" }): Promise<void>;
}

function describe(item: ServerItem): string {
  return item.kind === "line" ? JSON.stringify(item.text) : `a pause of ${item.seconds} s`;
}

async function expectServerEvent(
  event: TranscriptEvent & { kind: "pause" | "server" | "server-match" | "closed" },
  client: TranscriptClient,
  server: TranscriptServer,
): Promise<void> {
  const item = await client.next();
  if (event.kind === "closed") {
    if (item !== undefined) {
      throw new TranscriptError(event.line, `expected the server to close, got ${describe(item)}`);
    }
    if (!(await client.closed())) {
      throw new TranscriptError(event.line, "expected the server to close, it is waiting");
    }
    return;
  }
  if (event.kind === "pause") {
    if (item?.kind !== "pause" || item.seconds !== event.seconds) {
      throw new TranscriptError(
        event.line,
        `expected a pause of ${event.seconds} s, got ${item ? describe(item) : "nothing"}`,
      );
    }
    return;
  }
  if (item === undefined) {
    const closed = await client.closed();
    throw new TranscriptError(
      event.line,
      `expected a server line, the server ${closed ? "closed" : "is waiting"}`,
    );
  }
  if (item.kind !== "line") {
    throw new TranscriptError(event.line, `expected a server line, got ${describe(item)}`);
  }
  const ok = event.kind === "server" ? item.text === event.text : event.pattern.test(item.text);
  if (!ok) {
    const expected = event.kind === "server" ? JSON.stringify(event.text) : String(event.pattern);
    throw new TranscriptError(event.line, `expected ${expected}, got ${describe(item)}`);
  }
  if (server.tlsReady !== undefined && item.text === server.tlsReady) await client.startTls();
}

/** Plays the events; throws TranscriptError at the first mismatch. */
export async function playTranscript(
  events: TranscriptEvent[],
  client: TranscriptClient,
  server: TranscriptServer,
): Promise<void> {
  const body = events.filter((event) => event.kind !== "setup");
  for (let i = 0; i < body.length; i++) {
    const event = body[i];
    switch (event.kind) {
      case "client":
        await client.send(event.bytes);
        break;
      case "pause":
      case "server":
      case "server-match":
      case "closed":
        await expectServerEvent(event, client, server);
        break;
      case "log":
      case "log-match":
        if (server.nextRejectLine === undefined) {
          throw new TranscriptError(event.line, "this server keeps no reject log");
        }
        checkLogLine(event, await server.nextRejectLine());
        break;
      case "maildir":
        if (server.maildirAction === undefined) {
          throw new TranscriptError(event.line, "this server has no Maildir");
        }
        await server.maildirAction(event);
        break;
      default: {
        let end = i;
        while (end + 1 < body.length && sameGroup(body[end + 1].kind, event.kind)) end++;
        checkQueued(body.slice(i, end + 1), await server.lastQueued?.());
        i = end;
      }
    }
  }
  const last = body.at(-1)?.line ?? 0;
  const unread = await client.hangUp();
  if (unread.length > 0) {
    throw new TranscriptError(
      last,
      `the server sent lines nobody expected: ${unread.map(describe).join(", ")}`,
    );
  }
  if (checksLogs(events)) expectNoMoreLogs(server.uncheckedRejectLines?.() ?? [], last);
}
