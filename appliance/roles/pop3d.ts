/**
 * The pop3d role: qmail-popup + checkpassword + qmail-pop3d in an isolate,
 * one of N sharing the POP3 and POP3S ports (SO_REUSEPORT). Receive settings,
 * listen, serve sessions, drain. Credentials go to the auth role (through the
 * supervisor); the session core is pop3/session.ts, the Maildir work
 * pop3/maildir_box.ts, the connection driver net/pop3_connection.ts.
 */
import type net from "node:net";
import type { ListenerAddress, RoleSettings } from "../ipc.ts";
import { logEvent } from "../log.ts";
import { loadPop3dControls, type Pop3dControls } from "../../config/pop3d.ts";
import { loadAllControls } from "../../config/control.ts";
import { servePop3Connection } from "../net/pop3_connection.ts";
import { buildPop3Options } from "../net/pop3_options.ts";
import { destroyLater, socketTransport } from "../net/socket_transport.ts";
import { connectionStress, logStressChange } from "../net/stress_mode.ts";
import { ListenerRole } from "./listener_role.ts";

const role = new ListenerRole("pop3d");

let settings: RoleSettings<"pop3d">;
let controls: Pop3dControls;
let sessionCount = 0;

/** One connection on a "pop3" (110: STLS offered) or "pop3s" (995: TLS first) listener. */
async function handleConnection(socket: net.Socket, listen: ListenerAddress): Promise<void> {
  socket.on("error", () => {});
  const sessionId = `${role.workerIndex}.${++sessionCount}`;
  const remote = (socket.remoteAddress ?? "unknown").replace(/^::ffff:/, "");
  const admitted = role.limits.tryAcquire(remote, {
    maxTotal: controls.concurrencyIncoming,
    maxPerIp: controls.concurrencyPerIp,
    maxPerIpStress: controls.stress.perIp,
  });
  if (admitted !== "ok") {
    logEvent("pop3_limit", `pop3d ${sessionId}: ${admitted} limit reached for ${remote}`, {
      session: sessionId,
      remote,
    });
    socket.end("-ERR [SYS/TEMP] too many connections, try again later\r\n");
    destroyLater(socket);
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
          authFailures: role.authFailures,
          challengeAuth: role.authCapabilities.read(),
          stress: connectionStress(role.limits, controls.stress),
        }),
      );
    } finally {
      role.limits.release(remote, controls.concurrencyIncoming);
      logEvent("pop3_close", `pop3d ${sessionId}: close`, { session: sessionId });
    }
  });
}

function loadControls(): void {
  controls = loadAllControls(() => loadPop3dControls(settings.home));
}

/** Runs the role inside a Worker; SIGHUP re-reads the controls. */
export function runPop3dWorker(): void {
  role.run({
    start: (next) => {
      settings = next;
      loadControls();
    },
    connection: (socket, address) => void handleConnection(socket, address),
    reload: loadControls,
    stressChanged: (change) => logStressChange("pop3d", change, controls.stress),
  });
}

if (import.meta.main) runPop3dWorker();
