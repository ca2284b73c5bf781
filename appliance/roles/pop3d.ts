/**
 * The pop3d role: qmail-popup + checkpassword + qmail-pop3d in an isolate,
 * one of N sharing the POP3 and POP3S ports (SO_REUSEPORT). Receive settings,
 * listen, serve sessions, drain. Credentials go to the auth role (through the
 * supervisor); the session core is pop3/session.ts, the Maildir work
 * pop3/maildir_box.ts, the connection driver net/pop3_connection.ts.
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
import { loadPop3dControls, type Pop3dControls } from "../../config/pop3d.ts";
import { mechanismsFromMask } from "../auth/mechanisms.ts";
import type { Credentials, VerifyResult } from "../auth/sasl_server.ts";
import { servePop3Connection } from "../net/pop3_connection.ts";
import { socketTransport } from "../net/socket_transport.ts";
import { ConnectionLimits } from "../net/connection_limits.ts";
import { authFailureDelaySeconds, AuthFailures } from "../net/auth_failures.ts";
import { isLoopback } from "../net/loopback.ts";
import { ServerTls } from "../tls/server_tls.ts";

export interface Pop3Listen {
  host: string;
  port: number;
  /** "pop3" (110: STLS offered) or "pop3s" (995: TLS from the first byte). */
  kind: ListenerKind;
}

const post = (message: FromRole) => rolePort().postMessage(message);

let settings: RoleSettings;
let controls: Pop3dControls;
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

/** Asks the auth role for a verdict and the user's home. */
function verifyCredentials(credentials: Credentials): Promise<VerifyResult> {
  const request = ++authRequests;
  return new Promise((resolve) => {
    pendingAuth.set(request, resolve);
    post({ type: "auth-verify", request, worker: workerIndex, credentials, home: true });
  });
}

function newChallenge(): { challenge: string; nonce: string } {
  return newSaslChallenge(controls.me);
}

async function handleConnection(socket: net.Socket, listen: Pop3Listen): Promise<void> {
  socket.on("error", () => {});
  const sessionId = `${workerIndex}.${++sessionCount}`;
  const remote = (socket.remoteAddress ?? "unknown").replace(/^::ffff:/, "");
  const admitted = limits.tryAcquire(remote, {
    maxTotal: controls.concurrencyIncoming,
    maxPerIp: controls.concurrencyPerIp,
  });
  if (admitted !== "ok") {
    logEvent("pop3_limit", `pop3d ${sessionId}: ${admitted} limit reached for ${remote}`, {
      session: sessionId,
      remote,
    });
    socket.end("-ERR [SYS/TEMP] too many connections, try again later\r\n");
    setTimeout(() => socket.destroy(), 1000).unref?.();
    return;
  }
  sockets.add(socket);
  logEvent("pop3_connect", `pop3d ${sessionId}: connect ${remote} ${listen.kind}`, {
    session: sessionId,
    remote,
    listener: listen.kind,
  });
  const implicitTls = listen.kind === "pop3s";
  const { challenge } = newChallenge();
  try {
    await servePop3Connection(socketTransport(socket), {
      session: {
        hostname: controls.me,
        timestamp: challenge,
        tls: { offered: serverTls.context() !== undefined, active: implicitTls },
        plaintextAllowed: controls.plaintext || isLoopback(remote),
        mechanisms: mechanismsFromMask(controls.authPop3),
        mechanismsTls: mechanismsFromMask(controls.authSpop3),
        newChallenge,
        failureDelay: authFailureDelaySeconds,
      },
      timeoutSeconds: controls.timeoutSeconds,
      maxLineLength: 1024,
      sessionId,
      remoteIp: remote,
      verify: verifyCredentials,
      authFailures,
      tls: () => {
        const context = serverTls.context();
        return context === undefined ? undefined : { secureContext: context, requestCert: false };
      },
      implicitTls,
      log: controls.log,
    });
  } finally {
    limits.release(remote);
    sockets.delete(socket);
    logEvent("pop3_close", `pop3d ${sessionId}: close`, { session: sessionId });
    if (draining && sockets.size === 0) post({ type: "drained" });
  }
}

async function start(next: RoleSettings): Promise<void> {
  settings = next;
  controls = loadPop3dControls(settings.home);
  serverTls = new ServerTls(settings.home, {
    onError: (message) => logEvent("tls_error", `alert: pop3d: ${message}`),
  });
  limits = new ConnectionLimits(settings.options.limits as SharedArrayBuffer);
  authFailures = new AuthFailures(settings.options.authFailures as SharedArrayBuffer);
  workerIndex = Number(settings.options.index ?? 0);
  for (const address of settings.options.listen as Pop3Listen[]) {
    const server = net.createServer((socket) => void handleConnection(socket, address));
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen({ host: address.host, port: address.port, reusePort: true }, () => resolve());
    });
    servers.push(server);
  }
  post({ type: "ready" });
}

function reload(): void {
  try {
    controls = loadPop3dControls(settings.home);
  } catch (error) {
    logEvent(
      "reload_failed",
      `alert: pop3d reload failed, keeping the old controls: ${(error as Error).message}`,
    );
  }
}

function drain(): void {
  draining = true;
  for (const server of servers) server.close();
  if (sockets.size === 0) post({ type: "drained" });
}

/** Runs the role inside a Worker. */
export function runPop3dWorker(): void {
  setLogSink((record) => post({ type: "log", record }), "pop3d");
  rolePort().onmessage = (event: MessageEvent<ToRole>) => {
    const message = event.data;
    try {
      if (message.type === "start") {
        start(message.settings).catch((error) =>
          post({ type: "fatal", message: `pop3d: ${error.message}` })
        );
      } else if (message.type === "reload") reload();
      else if (message.type === "drain") drain();
      else if (message.type === "auth-result") {
        pendingAuth.get(message.request)?.(message.result);
        pendingAuth.delete(message.request);
      } else if (message.type === "peer-restarted" && message.role === "auth") {
        for (const resolve of pendingAuth.values()) resolve({ ok: false, temporary: true });
        pendingAuth.clear();
      }
    } catch (error) {
      post({ type: "fatal", message: `pop3d: ${(error as Error).message}` });
    }
  };
}

if (import.meta.main) runPop3dWorker();
