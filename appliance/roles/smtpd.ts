/**
 * The smtpd role: one isolate of N sharing the SMTP port through SO_REUSEPORT.
 * Receive settings, listen, serve sessions, drain on shutdown. Policy lives
 * in the session core (appliance/smtp) and the connection driver (net/).
 */
import net from "node:net";
import type { FromRole, RoleSettings, ToRole } from "../ipc.ts";
import { logEvent, setLogSink } from "../log.ts";
import { loadSmtpdControls, type SmtpdControls } from "../../config/smtpd.ts";
import { CdbReader } from "../../config/cdb.ts";
import { queueLayoutFor } from "../queue/layout.ts";
import { serveSmtpConnection, type Transport } from "../net/smtp_connection.ts";
import type { SmtpSessionOptions } from "../smtp/session.ts";

export interface Listen {
  host: string;
  port: number;
}

/** Longest command line accepted (RFC 5321 §4.5.3.1.4 allows 512; generous for old clients). */
const MAX_LINE_LENGTH = 4096;

const post = (message: FromRole) => self.postMessage(message);
const encoder = new TextEncoder();

let settings: RoleSettings;
let controls: SmtpdControls;
let moreRcptHosts: CdbReader | null = null;
const servers: net.Server[] = [];
const sockets = new Set<net.Socket>();
let sessionCount = 0;
let draining = false;

function loadControls(): void {
  controls = loadSmtpdControls(settings.home, settings.env);
  moreRcptHosts = controls.moreRcptHostsCdb === null
    ? null
    : new CdbReader(Deno.readFileSync(controls.moreRcptHostsCdb));
}

/** rcpthosts then morercpthosts.cdb, each exact domain (qmail-formats.md §8.5). */
function isRcptHost(domain: string): boolean {
  if (controls.rcptHosts?.includes(domain)) return true;
  return moreRcptHosts?.get(encoder.encode(domain)) !== undefined;
}

export function sessionOptionsFor(
  socket: { remoteAddress?: string; localAddress?: string },
): SmtpSessionOptions {
  const remoteIp = (socket.remoteAddress ?? "unknown").replace(/^::ffff:/, "");
  const localIp = (socket.localAddress ?? "").replace(/^::ffff:/, "");
  return {
    greeting: controls.greeting,
    localHost: controls.me,
    remoteIp,
    remoteHost: settings.env.TCPREMOTEHOST ?? "unknown",
    relayClient: settings.env.RELAYCLIENT,
    rcptHosts: controls.rcptHosts === null && moreRcptHosts === null ? null : isRcptHost,
    databytes: controls.databytes,
    badMailFrom: controls.badMailFrom,
    localIpHost: controls.localIpHost,
    localIps: localIp === "" ? [] : [localIp],
  };
}

function socketTransport(socket: net.Socket): Transport {
  const chunks = socket[Symbol.asyncIterator]();
  return {
    async read() {
      const next = await chunks.next();
      return next.done ? undefined : new Uint8Array(next.value as Uint8Array);
    },
    write: (bytes) =>
      new Promise((resolve, reject) =>
        socket.write(bytes, (error) => (error ? reject(error) : resolve()))
      ),
    close() {
      socket.end();
      setTimeout(() => socket.destroy(), 1000).unref?.();
    },
  };
}

async function handleConnection(socket: net.Socket, workerIndex: number): Promise<void> {
  sockets.add(socket);
  socket.on("error", () => {});
  const sessionId = `${workerIndex}.${++sessionCount}`;
  const remote = (socket.remoteAddress ?? "unknown").replace(/^::ffff:/, "");
  logEvent("smtp_connect", `smtpd ${sessionId}: connect ${remote}`, { session: sessionId, remote });
  try {
    await serveSmtpConnection(socketTransport(socket), {
      session: sessionOptionsFor(socket),
      layout: queueLayoutFor(settings.home),
      timeoutSeconds: controls.timeoutSeconds,
      maxLineLength: MAX_LINE_LENGTH,
      sessionId,
      onQueued: (id) => {
        logEvent("smtp_queued", `smtpd ${sessionId}: queued msg ${id}`, {
          session: sessionId,
          msg: String(id),
        });
        post({ type: "queued", id: String(id) });
      },
    });
  } finally {
    sockets.delete(socket);
    logEvent("smtp_close", `smtpd ${sessionId}: close`, { session: sessionId });
    if (draining && sockets.size === 0) post({ type: "drained" });
  }
}

async function start(next: RoleSettings): Promise<void> {
  settings = next;
  loadControls();
  const listen = settings.options.listen as Listen[];
  const workerIndex = Number(settings.options.index ?? 0);
  for (const address of listen) {
    const server = net.createServer((socket) => void handleConnection(socket, workerIndex));
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen({ host: address.host, port: address.port, reusePort: true }, () => resolve());
    });
    servers.push(server);
  }
  post({ type: "ready" });
}

function drain(): void {
  draining = true;
  for (const server of servers) server.close();
  if (sockets.size === 0) post({ type: "drained" });
}

/** Runs the role inside a Worker. */
export function runSmtpdWorker(): void {
  setLogSink((record) => post({ type: "log", record }), "smtpd");
  self.onmessage = (event: MessageEvent<ToRole>) => {
    const message = event.data;
    try {
      if (message.type === "start") {
        start(message.settings).catch((error) =>
          post({ type: "fatal", message: `smtpd: ${error.message}` })
        );
      } else if (message.type === "reload") loadControls();
      else if (message.type === "drain") drain();
    } catch (error) {
      post({ type: "fatal", message: `smtpd: ${(error as Error).message}` });
    }
  };
}

if (import.meta.main) runSmtpdWorker();
