/**
 * The smtpd role: one isolate of N sharing the SMTP, submission and SMTPS
 * ports through SO_REUSEPORT. Receive settings, listen, serve sessions, drain
 * on shutdown. Per connection it does what tcpserver did for qmail-smtpd
 * (tcprules, connection limits, the TCP* variables) and hands the rest to the
 * connection driver (net/) and the session core (smtp/).
 */
import net from "node:net";
import { newSaslChallenge } from "../auth/challenge.ts";
import {
  type FromRole,
  type ListenerKind,
  rolePort,
  type RoleSettings,
  type ToRole,
} from "../ipc.ts";
import { logEvent, setLogSink } from "../log.ts";
import { loadSmtpdControls, type SmtpdControls } from "../../config/smtpd.ts";
import type { CdbReader } from "../../config/cdb.ts";
import { loadTcpRules, type TcpRulesTable } from "../../config/tcprules.ts";
import { homePaths } from "../../config/home.ts";
import { type QueueLayout, queueLayoutFor } from "../queue/layout.ts";
import { openQueueMessage } from "../queue/inject.ts";
import { openExternalQueue } from "../queue/external_queue.ts";
import { serveSmtpConnection } from "../net/smtp_connection.ts";
import { socketTransport } from "../net/socket_transport.ts";
import { buildSessionOptions, loadMoreRcptHosts, tlsHooks } from "../net/smtp_options.ts";
import { ConnectionLimits } from "../net/connection_limits.ts";
import { AuthFailures } from "../net/auth_failures.ts";
import { findClientPolicy } from "../net/smtp_client_policy.ts";
import { ServerTls } from "../tls/server_tls.ts";
import type { Credentials, VerifyResult } from "../auth/sasl_server.ts";

export interface Listen {
  host: string;
  port: number;
  kind: ListenerKind;
}

/** Sent to a client over the connection limits (tcpserver would not even accept it). */
const REPLY_TOO_MANY_CONNECTIONS = "421 4.7.0 too many connections, try again later\r\n";

const post = (message: FromRole) => rolePort().postMessage(message);

let settings: RoleSettings;
let layout: QueueLayout;
let controls: SmtpdControls;
let moreRcptHosts: CdbReader | null = null;
let tcpRules: TcpRulesTable | undefined;
let serverTls: ServerTls;
let limits: ConnectionLimits;
let authFailures: AuthFailures;
let workerIndex = 0;
const servers: net.Server[] = [];
const sockets = new Set<net.Socket>();
let sessionCount = 0;
let draining = false;
let authRequests = 0;
const pendingAuth = new Map<number, (result: VerifyResult) => void>();

function loadControls(): void {
  const nextControls = loadSmtpdControls(settings.home);
  const nextRules = loadTcpRules(homePaths(settings.home).tcpSmtp);
  controls = nextControls;
  tcpRules = nextRules;
  moreRcptHosts = loadMoreRcptHosts(controls);
}

/** Asks the auth role (through the supervisor) to check credentials. */
function verifyCredentials(credentials: Credentials): Promise<VerifyResult> {
  const request = ++authRequests;
  return new Promise((resolve) => {
    pendingAuth.set(request, resolve);
    post({ type: "auth-verify", request, worker: workerIndex, credentials });
  });
}

function newChallenge(): { challenge: string; nonce: string } {
  return newSaslChallenge(controls.me);
}

async function handleConnection(socket: net.Socket, listen: Listen): Promise<void> {
  socket.on("error", () => {});
  const sessionId = `${workerIndex}.${++sessionCount}`;
  const remote = (socket.remoteAddress ?? "unknown").replace(/^::ffff:/, "");
  const localIp = (socket.localAddress ?? "").replace(/^::ffff:/, "");
  const client = await findClientPolicy(controls, tcpRules, settings.env, remote, listen.kind);
  if (!client.admitted) {
    logEvent("smtp_deny", `smtpd ${sessionId}: deny ${remote} (tcp.smtp ${client.ruleKey})`, {
      session: sessionId,
      remote,
    });
    socket.destroy();
    return;
  }
  const { env, policy, remoteHost } = client;
  const admitted = limits.tryAcquire(remote, {
    maxTotal: controls.concurrencyIncoming,
    maxPerIp: policy.maxPerIp,
  });
  if (admitted !== "ok") {
    logEvent("smtp_limit", `smtpd ${sessionId}: ${admitted} limit reached for ${remote}`, {
      session: sessionId,
      remote,
    });
    socket.end(REPLY_TOO_MANY_CONNECTIONS);
    setTimeout(() => socket.destroy(), 1000).unref?.();
    return;
  }
  sockets.add(socket);
  logEvent("smtp_connect", `smtpd ${sessionId}: connect ${remote} ${listen.kind}`, {
    session: sessionId,
    remote,
    listener: listen.kind,
  });
  const tlsAvailable = serverTls.context() !== undefined;
  try {
    await serveSmtpConnection(socketTransport(socket), {
      session: buildSessionOptions(controls, moreRcptHosts, policy, {
        remoteIp: remote,
        remoteHost: remoteHost ?? env.TCPREMOTEHOST,
        localIp,
      }, {
        tlsAvailable,
        tlsActive: policy.smtps,
        authAvailable: true,
        authRequired: listen.kind === "submission",
        newChallenge,
      }),
      openQueue: policy.qmailQueue === undefined
        ? () => openQueueMessage(layout, { who: "from network" })
        : () =>
          openExternalQueue(policy.qmailQueue!, layout, {
            timeoutSeconds: controls.timeoutSeconds,
            cwd: settings.home,
            env: { ...env, TCPREMOTEIP: remote, TCPLOCALIP: localIp },
          }),
      timeoutSeconds: controls.timeoutSeconds,
      maxLineLength: controls.maxCmdLen,
      sessionId,
      greetDelay: policy.greetDelay,
      dataBeforeGreet: policy.dataBeforeGreet,
      implicitTls: policy.smtps,
      ...tlsHooks(serverTls),
      verify: verifyCredentials,
      authFailures,
      log: controls.log,
      onQueued: (id) => {
        if (id === undefined) return;
        logEvent("smtp_queued", `smtpd ${sessionId}: queued msg ${id}`, {
          session: sessionId,
          msg: String(id),
        });
        post({ type: "queued", id: String(id) });
      },
    });
  } finally {
    limits.release(remote);
    sockets.delete(socket);
    logEvent("smtp_close", `smtpd ${sessionId}: close`, { session: sessionId });
    if (draining && sockets.size === 0) post({ type: "drained" });
  }
}

async function start(next: RoleSettings): Promise<void> {
  settings = next;
  layout = queueLayoutFor(settings.home);
  serverTls = new ServerTls(settings.home, {
    onError: (message) => logEvent("tls_error", `alert: smtpd: ${message}`),
  });
  loadControls();
  limits = new ConnectionLimits(settings.options.limits as SharedArrayBuffer);
  authFailures = new AuthFailures(settings.options.authFailures as SharedArrayBuffer);
  const listen = settings.options.listen as Listen[];
  workerIndex = Number(settings.options.index ?? 0);
  for (const address of listen) {
    const server = net.createServer((socket) => void handleConnection(socket, address));
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
      else if (message.type === "auth-result") {
        pendingAuth.get(message.request)?.(message.result);
        pendingAuth.delete(message.request);
      } else if (message.type === "peer-restarted" && message.role === "auth") {
        // Requests in flight with the old auth isolate are lost: fail them temporarily.
        for (const resolve of pendingAuth.values()) resolve({ ok: false, temporary: true });
        pendingAuth.clear();
      }
    } catch (error) {
      post({ type: "fatal", message: `smtpd: ${(error as Error).message}` });
    }
  };
}

if (import.meta.main) runSmtpdWorker();
