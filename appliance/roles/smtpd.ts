/**
 * The smtpd role: one isolate of N sharing the SMTP port through SO_REUSEPORT.
 * Receive settings, listen, serve sessions, drain on shutdown. Policy lives
 * in the session core (appliance/smtp) and the connection driver (net/).
 */
import net from "node:net";
import { type FromRole, rolePort, type RoleSettings, type ToRole } from "../ipc.ts";
import { logEvent, setLogSink } from "../log.ts";
import { loadSmtpdControls, type SmtpdControls } from "../../config/smtpd.ts";
import type { CdbReader } from "../../config/cdb.ts";
import { type QueueLayout, queueLayoutFor } from "../queue/layout.ts";
import { serveSmtpConnection } from "../net/smtp_connection.ts";
import { socketTransport } from "../net/socket_transport.ts";
import { buildSessionOptions, loadMoreRcptHosts } from "../net/smtp_options.ts";

export interface Listen {
  host: string;
  port: number;
}

/** Longest command line accepted (RFC 5321 §4.5.3.1.4 allows 512; generous for old clients). */
const MAX_LINE_LENGTH = 4096;

const post = (message: FromRole) => rolePort().postMessage(message);

let settings: RoleSettings;
let layout: QueueLayout;
let controls: SmtpdControls;
let moreRcptHosts: CdbReader | null = null;
const servers: net.Server[] = [];
const sockets = new Set<net.Socket>();
let sessionCount = 0;
let draining = false;

function loadControls(): void {
  controls = loadSmtpdControls(settings.home, settings.env);
  moreRcptHosts = loadMoreRcptHosts(controls);
}

async function handleConnection(socket: net.Socket, workerIndex: number): Promise<void> {
  sockets.add(socket);
  socket.on("error", () => {});
  const sessionId = `${workerIndex}.${++sessionCount}`;
  const remote = (socket.remoteAddress ?? "unknown").replace(/^::ffff:/, "");
  logEvent("smtp_connect", `smtpd ${sessionId}: connect ${remote}`, { session: sessionId, remote });
  try {
    await serveSmtpConnection(socketTransport(socket), {
      session: buildSessionOptions(controls, moreRcptHosts, {
        remoteIp: remote,
        remoteHost: settings.env.TCPREMOTEHOST,
        localIp: socket.localAddress,
        relayClient: settings.env.RELAYCLIENT,
      }),
      layout,
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
  layout = queueLayoutFor(settings.home);
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

/** SIGHUP: new sessions get the new controls; a broken file keeps the old ones. */
function reload(): void {
  try {
    loadControls();
  } catch (error) {
    logEvent(
      "reload_failed",
      `alert: smtpd reload failed, keeping the old controls: ${(error as Error).message}`,
    );
  }
}

function drain(): void {
  draining = true;
  for (const server of servers) server.close();
  if (sockets.size === 0) post({ type: "drained" });
}

/** Runs the role inside a Worker. */
export function runSmtpdWorker(): void {
  setLogSink((record) => post({ type: "log", record }), "smtpd");
  rolePort().onmessage = (event: MessageEvent<ToRole>) => {
    const message = event.data;
    try {
      if (message.type === "start") {
        start(message.settings).catch((error) =>
          post({ type: "fatal", message: `smtpd: ${error.message}` })
        );
      } else if (message.type === "reload") reload();
      else if (message.type === "drain") drain();
    } catch (error) {
      post({ type: "fatal", message: `smtpd: ${(error as Error).message}` });
    }
  };
}

if (import.meta.main) runSmtpdWorker();
