/**
 * The smtpd role: one isolate of N sharing the SMTP, submission and SMTPS
 * ports through SO_REUSEPORT. Receive settings, listen, serve sessions, drain
 * on shutdown. Per connection it does what tcpserver did for qmail-smtpd
 * (tcprules, connection limits, the TCP* variables) and hands the rest to the
 * connection driver (net/) and the session core (smtp/).
 */
import type net from "node:net";
import { newSaslChallenge } from "../auth/challenge.ts";
import type { ListenerAddress, RoleSettings } from "../ipc.ts";
import { logEvent } from "../log.ts";
import { loadSmtpdControls, type SmtpdControls, type SmtpdPolicy } from "../../config/smtpd.ts";
import type { CdbReader } from "../../config/cdb.ts";
import { loadAllControls } from "../../config/control.ts";
import { loadTcpRules, type TcpRulesTable } from "../../config/tcprules.ts";
import { homePaths } from "../../config/home.ts";
import { type QueueLayout, queueLayoutFor } from "../queue/layout.ts";
import { openNetworkMessage } from "../queue/network_message.ts";
import { openExternalQueue } from "../queue/external_queue.ts";
import { serveSmtpConnection } from "../net/smtp_connection.ts";
import { destroyLater, socketTransport } from "../net/socket_transport.ts";
import { buildSessionOptions, loadMoreRcptHosts, tlsHooks } from "../net/smtp_options.ts";
import { authFailureGuard } from "../net/credentials_check.ts";
import { findClientPolicy } from "../net/smtp_client_policy.ts";
import { connectionStress, logStressChange } from "../net/stress_mode.ts";
import { ListenerRole } from "./listener_role.ts";
import { type ConnectionLog, connectionLog } from "../net/connection_log.ts";
import { type FilterControls, loadFilterControls } from "../policy/filter_modules.ts";
import { type ContentControls, loadContentControls } from "../policy/content_modules.ts";
import { Resolver } from "../dns/resolver.ts";
import { type TraceWriter, traceWriter } from "../trace/store.ts";
import { loadTraceControls } from "../../config/trace.ts";

/** Sent to a client over the connection limits (tcpserver would not even accept it). */
const REPLY_TOO_MANY_CONNECTIONS = "421 4.7.0 too many connections, try again later\r\n";

const role = new ListenerRole("smtpd");

let settings: RoleSettings<"smtpd">;
let layout: QueueLayout;
let controls: SmtpdControls;
let moreRcptHosts: CdbReader | null = null;
let tcpRules: TcpRulesTable | undefined;
let filterControls: FilterControls = [];
let contentControls: ContentControls = [];
/** The filter checks' DNS lookups, shared by the role's sessions (control/dnsservers). */
let resolver: Resolver | undefined;
let sessionCount = 0;
/** Each session's decisions to HOME/log/trace; a drain waits for what is queued. */
let writeTrace: TraceWriter;

/** Every control file, or ControlErrors naming each broken one (the old controls stay). */
function loadControls(): void {
  const next = loadAllControls(() => ({
    controls: loadSmtpdControls(settings.home),
    tcpRules: loadTcpRules(homePaths(settings.home).tcpSmtp),
    filterControls: loadFilterControls(settings.home),
    contentControls: loadContentControls(settings.home),
    resolver: new Resolver({ home: settings.home }),
    trace: loadTraceControls(settings.home),
  }));
  // Sessions still running keep the old writer; closed, it opens the file for each trace.
  writeTrace?.close?.();
  writeTrace = traceWriter(settings.home, next.trace);
  controls = next.controls;
  tcpRules = next.tcpRules;
  filterControls = next.filterControls;
  contentControls = next.contentControls;
  resolver = next.resolver;
  moreRcptHosts = loadMoreRcptHosts(controls);
}

function newChallenge(): { challenge: string; nonce: string } {
  return newSaslChallenge(controls.me);
}

async function handleConnection(socket: net.Socket, listen: ListenerAddress): Promise<void> {
  socket.on("error", () => {});
  const sessionId = `${role.workerIndex}.${++sessionCount}`;
  const log = connectionLog(socket, sessionId, controls, () => role.limits.total());
  const remote = log.facts.remoteIp;
  const client = await findClientPolicy(controls, tcpRules, settings.env, remote, listen.kind);
  if (!client.admitted) {
    log.denied(client.ruleKey);
    socket.destroy();
    return;
  }
  const admitted = role.limits.tryAcquire(remote, {
    maxTotal: controls.concurrencyIncoming,
    maxPerIp: client.policy.maxPerIp,
    // RELAYCLIENT clients are the operator's own: stress does not lower their limit.
    maxPerIpStress: client.policy.relayClient === undefined ? controls.stress.perIp : 0,
  });
  if (admitted !== "ok") {
    log.limited(admitted);
    socket.end(REPLY_TOO_MANY_CONNECTIONS);
    destroyLater(socket);
    return;
  }
  await role.session(() => serve(socket, listen, log, client));
}

/** One session that tcp.smtp and the connection limits admitted. */
async function serve(
  socket: net.Socket,
  listen: ListenerAddress,
  log: ConnectionLog,
  client: { env: Record<string, string>; policy: SmtpdPolicy; remoteHost?: string },
): Promise<void> {
  const { env, policy, remoteHost } = client;
  const { sessionId, remoteIp: remote, localIp } = log.facts;
  log.connected(listen.kind, remoteHost ?? env.TCPREMOTEHOST);
  const tlsAvailable = role.serverTls.context() !== undefined;
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
        challengeAuth: role.authCapabilities.read(),
        newChallenge,
        filters: { controls: filterControls, env, listener: listen.kind },
      }),
      lookups: { resolver: resolver!, home: settings.home, ask: (lookup) => role.lookup(lookup) },
      knownAnswer: (lookup) => role.knownAnswer(lookup),
      contentControls,
      // Auth results spool the message until its header is known (net/message_spool.ts).
      spoolDirectory: layout.pidDir,
      openQueue: policy.qmailQueue === undefined
        ? (request) =>
          openNetworkMessage(layout, controls.queueExtras, { ...request, env, remoteIp: remote })
        : () =>
          openExternalQueue(policy.qmailQueue!, layout, {
            timeoutSeconds: controls.timeoutSeconds,
            cwd: settings.home,
            env: { ...env, TCPREMOTEIP: remote, TCPLOCALIP: localIp },
          }),
      timeoutSeconds: controls.timeoutSeconds,
      commandSeconds: controls.commandTimeoutSeconds,
      dataSeconds: controls.dataTimeoutSeconds,
      stress: connectionStress(role.limits, controls.stress),
      maxLineLength: controls.maxCmdLen,
      sessionId,
      greetDelay: policy.greetDelay,
      dataBeforeGreet: policy.dataBeforeGreet,
      implicitTls: policy.smtps,
      ...tlsHooks(role.serverTls),
      verify: (credentials) => role.verify(credentials),
      authFailures: authFailureGuard(role.authFailures, controls.authFailures, {
        remoteIp: remote,
        relayClient: policy.relayClient,
      }),
      log: controls.log,
      onTrace: writeTrace,
      onQueued: (id) => {
        if (id === undefined) return;
        // send learns of it from lock/trigger, pulled at the commit (§3.2 step 11).
        logEvent("smtp_queued", `smtpd ${sessionId}: queued msg ${id}`, {
          session: sessionId,
          msg: Number(id),
        });
      },
    });
  } finally {
    role.limits.release(remote, controls.concurrencyIncoming);
    log.closed();
  }
}

function start(next: RoleSettings<"smtpd">): void {
  settings = next;
  layout = queueLayoutFor(settings.home);
  loadControls();
}

/**
 * Runs the role inside a Worker. SIGHUP: new sessions get the new controls;
 * a broken file keeps the old ones.
 */
export function runSmtpdWorker(): void {
  role.run({
    start,
    connection: (socket, address) => void handleConnection(socket, address),
    reload: loadControls,
    stressChanged: (change) => logStressChange("smtpd", change, controls.stress),
  });
}

if (import.meta.main) runSmtpdWorker();
