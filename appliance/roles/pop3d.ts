/**
 * The pop3d role: qmail-popup + checkpassword + qmail-pop3d in an isolate,
 * one of N sharing the POP3 and POP3S ports (SO_REUSEPORT). Receive settings,
 * listen, serve sessions, drain. Credentials go to the auth role (through the
 * supervisor); the session core is pop3/session.ts, the Maildir work
 * pop3/maildir_box.ts, the connection driver net/pop3_connection.ts.
 */
import type net from "node:net";
import type { ListenerKind, RoleSettings } from "../ipc.ts";
import { logEvent } from "../log.ts";
import { loadPop3dControls, type Pop3dControls } from "../../config/pop3d.ts";
import { loadAllControls } from "../../config/control.ts";
import { servePop3Connection } from "../net/pop3_connection.ts";
import { buildPop3Options } from "../net/pop3_options.ts";
import { socketTransport } from "../net/socket_transport.ts";
import { ConnectionLimits } from "../net/connection_limits.ts";
import { AuthFailures } from "../net/auth_failures.ts";
import { AuthCapabilities } from "../net/auth_capabilities.ts";
import { ListenerRole } from "../net/listener_role.ts";

export interface Pop3Listen {
  host: string;
  port: number;
  /** "pop3" (110: STLS offered) or "pop3s" (995: TLS from the first byte). */
  kind: ListenerKind;
}

const role = new ListenerRole("pop3d");

let settings: RoleSettings;
let controls: Pop3dControls;
let limits: ConnectionLimits;
let authFailures: AuthFailures;
let authCapabilities: AuthCapabilities | undefined;
let sessionCount = 0;

async function handleConnection(socket: net.Socket, listen: Pop3Listen): Promise<void> {
  socket.on("error", () => {});
  const sessionId = `${role.workerIndex}.${++sessionCount}`;
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
  await role.session(async () => {
    logEvent("pop3_connect", `pop3d ${sessionId}: connect ${remote} ${listen.kind}`, {
      session: sessionId,
      remote,
      listener: listen.kind,
    });
    try {
      await servePop3Connection(
        socketTransport(socket),
        buildPop3Options(controls, role.serverTls, {
          hostname: controls.me,
          remoteIp: remote,
          sessionId,
          implicitTls: listen.kind === "pop3s",
          verify: (credentials) => role.verify(credentials, true),
          authFailures,
          challengeAuth: authCapabilities?.read(),
        }),
      );
    } finally {
      limits.release(remote);
      logEvent("pop3_close", `pop3d ${sessionId}: close`, { session: sessionId });
    }
  });
}

async function start(next: RoleSettings): Promise<void> {
  settings = next;
  controls = loadAllControls(() => loadPop3dControls(settings.home));
  limits = new ConnectionLimits(settings.options.limits as SharedArrayBuffer);
  authFailures = new AuthFailures(settings.options.authFailures as SharedArrayBuffer);
  const capabilities = settings.options.authCapabilities;
  if (capabilities instanceof SharedArrayBuffer) {
    authCapabilities = new AuthCapabilities(capabilities);
  }
  role.workerIndex = Number(settings.options.index ?? 0);
  await role.listen(
    settings.options.listen as Pop3Listen[],
    (socket, address) => void handleConnection(socket, address),
  );
}

/** Runs the role inside a Worker; SIGHUP re-reads the controls. */
export function runPop3dWorker(): void {
  role.run({
    start,
    reload: () => {
      controls = loadAllControls(() => loadPop3dControls(settings.home));
    },
  });
}

if (import.meta.main) runPop3dWorker();
