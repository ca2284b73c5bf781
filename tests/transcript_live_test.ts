/**
 * The same transcripts as tests/transcript_test.ts, this time over a real
 * loopback socket: control files in a temporary home, the real connection
 * driver, the real queue. Transcripts that need setup only the pure runner
 * can fake (remote address, clock, queue errors) are skipped here.
 */
import net from "node:net";
import {
  checkQueued,
  checksLogs,
  expectLogEvent,
  expectNoMoreLogs,
  parseTranscript,
  parseTranscriptSetup,
  type QueuedMessage,
  TranscriptError,
  type TranscriptEvent,
  transcriptNeedsPureSession,
  verifyTranscriptCredentials,
  writeTranscriptControls,
} from "./transcript.ts";
import { loadSmtpdControls, resolveSmtpdPolicy } from "../config/smtpd.ts";
import { openQueueMessage } from "../appliance/queue/qmail_queue.ts";
import { buildSessionOptions, loadMoreRcptHosts } from "../appliance/net/smtp_options.ts";
import { serveSmtpConnection } from "../appliance/net/smtp_connection.ts";
import { socketTransport } from "../appliance/net/socket_transport.ts";
import { makeTestQueue } from "../appliance/queue/test_queue.ts";
import type { QueueLayout } from "../appliance/queue/layout.ts";
import { parseTodo } from "../appliance/queue/envelope.ts";
import { setLogSink } from "../appliance/log.ts";

const DIR = new URL("./transcripts/", import.meta.url).pathname;

function readQueued(layout: QueueLayout, id: bigint): QueuedMessage {
  const mess = Deno.readFileSync(layout.mess(id));
  const todo = parseTodo(Deno.readFileSync(layout.todo(id)));
  // qmail-queue's Received line, then smtpd's two-line Received header, then the body.
  let offset = 0;
  const lines: number[] = [];
  for (let i = 0; i < 3; i++) {
    offset = mess.indexOf(0x0a, offset) + 1;
    lines.push(offset);
  }
  return {
    sender: todo.sender ?? new Uint8Array(0),
    recipients: todo.recipients,
    received: new TextDecoder().decode(mess.subarray(lines[0], lines[2])),
    body: mess.subarray(lines[2]),
  };
}

class LineReader {
  #socket: net.Socket;
  #buffer = "";
  #closed = false;
  #waiters: Array<() => void> = [];
  constructor(socket: net.Socket) {
    this.#socket = socket;
    socket.on("data", (chunk: Uint8Array) => {
      this.#buffer += String.fromCharCode(...chunk);
      this.#wake();
    });
    socket.on("close", () => {
      this.#closed = true;
      this.#wake();
    });
    socket.on("error", () => {});
  }
  #wake() {
    for (const waiter of this.#waiters.splice(0)) waiter();
  }
  async line(): Promise<string | undefined> {
    const deadline = Date.now() + 10_000;
    while (Date.now() < deadline) {
      const end = this.#buffer.indexOf("\r\n");
      if (end >= 0) {
        const line = this.#buffer.slice(0, end);
        this.#buffer = this.#buffer.slice(end + 2);
        return line;
      }
      if (this.#closed) return undefined;
      await new Promise<void>((resolve) => {
        this.#waiters.push(resolve);
        setTimeout(resolve, 200);
      });
    }
    throw new Error("no server line within 10 s");
  }
}

async function runLive(name: string, events: TranscriptEvent[]): Promise<void> {
  const home = await Deno.makeTempDir({ prefix: "qmd-transcript-" });
  const setup = parseTranscriptSetup(events);
  writeTranscriptControls(home, setup);
  const layout = makeTestQueue(home);
  const controls = loadSmtpdControls(home);
  const policy = resolveSmtpdPolicy(controls, setup.env);
  const queued: bigint[] = [];
  const sessions: Promise<void>[] = [];
  // The driver logs each refusal as `smtpd NAME: reject: ...` before it writes the reply.
  const rejectLines: string[] = [];
  const prefix = `smtpd ${name}: `;
  setLogSink((record) => {
    if (record.event !== "smtp_reject") return;
    rejectLines.push(
      record.text.startsWith(prefix) ? record.text.slice(prefix.length) : record.text,
    );
  }, "smtpd");
  const server = net.createServer((socket) => {
    sessions.push(serveSmtpConnection(socketTransport(socket), {
      session: buildSessionOptions(controls, loadMoreRcptHosts(controls), policy, {
        remoteIp: socket.remoteAddress ?? "unknown",
        localIp: socket.localAddress,
      }, {
        tlsAvailable: false,
        tlsActive: false,
        authAvailable: Object.keys(setup.users).length > 0,
        authRequired: setup.submission,
        newChallenge: () => ({ challenge: setup.challenge, nonce: setup.nonce }),
      }),
      openQueue: () => openQueueMessage(layout, { who: "from network" }),
      timeoutSeconds: controls.timeoutSeconds,
      commandSeconds: controls.commandTimeoutSeconds,
      dataSeconds: controls.dataTimeoutSeconds,
      maxLineLength: controls.maxCmdLen,
      sessionId: name,
      verify: (credentials) =>
        Promise.resolve(verifyTranscriptCredentials(setup.users, credentials)),
      onQueued: (id) => {
        if (id !== undefined) queued.push(id);
      },
    }));
  });
  await new Promise<void>((resolve) =>
    server.listen({ host: "127.0.0.1", port: 0 }, () => resolve())
  );
  const port = (server.address() as net.AddressInfo).port;
  const socket = net.connect({ host: "127.0.0.1", port });
  const reader = new LineReader(socket);
  try {
    const body = events.filter((event) => event.kind !== "setup");
    for (let i = 0; i < body.length; i++) {
      const event = body[i];
      if (event.kind === "client") {
        if (!socket.destroyed && socket.writable) socket.write(event.bytes);
      } else if (event.kind === "server" || event.kind === "server-match") {
        const actual = await reader.line();
        if (actual === undefined) {
          throw new TranscriptError(event.line, "expected a server line, the connection closed");
        }
        const ok = event.kind === "server" ? actual === event.text : event.pattern.test(actual);
        if (!ok) {
          throw new TranscriptError(
            event.line,
            `expected ${
              event.kind === "server" ? JSON.stringify(event.text) : event.pattern
            }, got ${JSON.stringify(actual)}`,
          );
        }
      } else if (event.kind === "closed") {
        const extra = await reader.line();
        if (extra !== undefined) {
          throw new TranscriptError(event.line, `expected close, got ${JSON.stringify(extra)}`);
        }
      } else if (event.kind === "log" || event.kind === "log-match") {
        const deadline = Date.now() + 5_000;
        while (rejectLines.length === 0 && Date.now() < deadline) {
          await new Promise((resolve) => setTimeout(resolve, 20));
        }
        expectLogEvent(event, rejectLines);
      } else {
        let end = i;
        const group = (kind: string) =>
          kind === "body-line" || kind === "body"
            ? "body"
            : kind === "received-match"
            ? "received"
            : kind;
        while (end + 1 < body.length && group(body[end + 1].kind) === group(event.kind)) end++;
        const last = queued.at(-1);
        checkQueued(
          body.slice(i, end + 1),
          last === undefined ? undefined : readQueued(layout, last),
        );
        i = end;
      }
    }
    socket.destroy();
    await Promise.allSettled(sessions);
    if (checksLogs(events)) expectNoMoreLogs(rejectLines, body.at(-1)?.line ?? 0);
  } finally {
    socket.destroy();
    await Promise.allSettled(sessions);
    await new Promise<void>((resolve) => server.close(() => resolve()));
    await Deno.remove(home, { recursive: true });
  }
}

for (const entry of [...Deno.readDirSync(DIR)].sort((a, b) => a.name.localeCompare(b.name))) {
  if (!entry.name.endsWith(".txt")) continue;
  const events = parseTranscript(Deno.readTextFileSync(`${DIR}${entry.name}`));
  const pureOnly = transcriptNeedsPureSession(events);
  Deno.test({
    name: `transcript over loopback: ${entry.name}`,
    ignore: pureOnly,
    fn: () => runLive(entry.name, events),
  });
}
