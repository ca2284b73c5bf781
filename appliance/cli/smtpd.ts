/**
 * `qmd smtpd` (and argv[0] `qmail-smtpd`): one SMTP session on stdin/stdout,
 * as qmail-smtpd runs under tcpserver or inetd. The connection facts come
 * from tcpserver's environment (TCPREMOTEIP, TCPREMOTEHOST, TCPREMOTEINFO,
 * TCPLOCALIP, TCPLOCALHOST) and the policy from the variables the seed
 * patches read (RELAYCLIENT, DATABYTES, QMAILQUEUE, SMTPS, TARPITCOUNT, ...).
 * The AUTH patches' arguments are accepted in both forms:
 * `qmail-smtpd HOSTNAME checkpassword prog` (aio, docs/patches.md seed 001) and
 * `qmail-smtpd checkpassword prog` (qmail-md since md20, seed 000).
 */
import { randomBytes } from "node:crypto";
import { parseCommand } from "./args.ts";
import { resolveHome } from "../../config/home.ts";
import { readControlLine } from "../../config/control.ts";
import { loadSmtpdControls, resolveSmtpdPolicy } from "../../config/smtpd.ts";
import { queueLayoutFor } from "../queue/layout.ts";
import { openNetworkMessage } from "../queue/network_message.ts";
import { openExternalQueue } from "../queue/external_queue.ts";
import { serveSmtpConnection } from "../net/smtp_connection.ts";
import type { SmtpSession } from "../smtp/session.ts";
import { stdioTransport } from "../net/stdio_transport.ts";
import { buildSessionOptions, loadMoreRcptHosts, tlsHooks } from "../net/smtp_options.ts";
import { ServerTls } from "../tls/server_tls.ts";
import {
  accountsVerifier,
  chainVerifiers,
  challengeAuthSupportOrUnknown,
  checkpasswordVerifier,
} from "../auth/verifier.ts";
import { setLogSink } from "../log.ts";
import { loadAllControls } from "../../config/control.ts";
import { traceWriter } from "../trace/store.ts";
import { loadTraceControls } from "../../config/trace.ts";
import { EXIT } from "../exit_codes.ts";
import { loadFilterControls } from "../policy/filter_modules.ts";
import { loadContentControls } from "../policy/content_modules.ts";
import { Resolver } from "../dns/resolver.ts";

const USAGE = `usage: qmd smtpd [--home DIR] [HOSTNAME] [CHECKPASSWORD PROG ...]

Serves one SMTP session on stdin/stdout, for tcpserver or inetd:
  tcpserver -v -R -x /var/qmail/tcp.smtp.cdb 0 25 qmd smtpd --home /var/qmail
  tcpserver ... 0 587 qmd smtpd --home /var/qmail mail.example.com /bin/checkpassword /bin/true
Reads TCPREMOTEIP, TCPREMOTEHOST, TCPREMOTEINFO, TCPLOCALIP, TCPLOCALHOST,
RELAYCLIENT, DATABYTES, QMAILQUEUE, SMTPS (TLS from the first byte) and the
other variables in the README from the environment. AUTH checks the account
database, then CHECKPASSWORD (or control/checkpassword) for other users.
Log lines go to stderr.`;

/** Splits `[HOSTNAME] CHECKPASSWORD ARGS...`: a checkpassword program is an absolute path. */
export function splitSmtpdArguments(
  positionals: string[],
): { hostname?: string; checkpassword?: string[] } {
  if (positionals.length === 0) return {};
  if (positionals[0].startsWith("/")) return { checkpassword: positionals };
  const [hostname, ...rest] = positionals;
  return { hostname, checkpassword: rest.length > 0 ? rest : undefined };
}

export async function main(args: string[]): Promise<number> {
  const parsed = parseCommand({
    name: "qmd smtpd",
    usage: USAGE,
    options: { home: { type: "string" } },
    positionals: true,
  }, args);
  if (!parsed.ok) return parsed.exitCode;
  const home = resolveHome(parsed.values.home);
  const env = Deno.env.toObject();
  const { checkpassword } = splitSmtpdArguments(parsed.positionals);
  setLogSink((record) => console.error(`qmd-smtpd: pid ${Deno.pid} ${record.text}`), "smtpd");
  const transport = stdioTransport();
  let controls;
  let filterControls;
  let contentControls;
  try {
    controls = loadSmtpdControls(home);
    filterControls = loadFilterControls(home);
    contentControls = loadContentControls(home);
  } catch (error) {
    console.error(`qmd-smtpd: ${(error as Error).message}`);
    await transport.write(new TextEncoder().encode("421 4.3.0 unable to read controls\r\n"));
    transport.close();
    return EXIT.sessionEnded;
  }
  const policy = resolveSmtpdPolicy(controls, env);
  const layout = queueLayoutFor(home);
  const serverTls = new ServerTls(home, {
    onError: (message) => console.error(`qmd-smtpd: alert: ${message}`),
  });
  const checkpasswordArgv = checkpassword ??
    readControlLine(home, "checkpassword")?.trim().split(/\s+/).filter((word) => word !== "");
  const hasCheckpassword = checkpasswordArgv !== undefined && checkpasswordArgv.length > 0;
  const verifier = chainVerifiers(
    accountsVerifier(home),
    hasCheckpassword ? checkpasswordVerifier(checkpasswordArgv) : undefined,
  );
  let session: SmtpSession | undefined;
  // The session's decisions to HOME/log/trace (`qmd explain PID`); a failure is one stderr line.
  const writeTrace = traceWriter(home, loadAllControls(() => loadTraceControls(home)));
  await serveSmtpConnection(transport, {
    session: buildSessionOptions(controls, loadMoreRcptHosts(controls), policy, {
      remoteIp: env.TCPREMOTEIP ?? "unknown",
      remoteHost: env.TCPREMOTEHOST,
      remoteInfo: env.TCPREMOTEINFO,
      localIp: env.TCPLOCALIP,
      localHost: env.TCPLOCALHOST ?? env.TCPLOCALIP ?? "unknown",
    }, {
      tlsAvailable: serverTls.context() !== undefined,
      tlsActive: policy.smtps,
      authAvailable: true,
      authRequired: false,
      challengeAuth: challengeAuthSupportOrUnknown(home, hasCheckpassword),
      newChallenge: () => ({
        challenge: `<${Deno.pid}.${Math.floor(Date.now() / 1000)}@${controls.me}>`,
        nonce: randomBytes(18).toString("base64"),
      }),
      filters: { controls: filterControls, env, listener: policy.smtps ? "smtps" : "smtp" },
    }),
    lookups: { resolver: new Resolver({ home }), home },
    contentControls,
    // Auth results spool the message until its header is known (net/message_spool.ts).
    spoolDirectory: layout.pidDir,
    openQueue: policy.qmailQueue === undefined
      ? (request) =>
        openNetworkMessage(layout, controls.queueExtras, {
          ...request,
          env,
          remoteIp: env.TCPREMOTEIP,
        })
      : () =>
        openExternalQueue(policy.qmailQueue!, layout, {
          timeoutSeconds: controls.timeoutSeconds,
          cwd: home,
          env,
        }),
    timeoutSeconds: controls.timeoutSeconds,
    commandSeconds: controls.commandTimeoutSeconds,
    dataSeconds: controls.dataTimeoutSeconds,
    maxLineLength: controls.maxCmdLen,
    sessionId: String(Deno.pid),
    greetDelay: policy.greetDelay,
    dataBeforeGreet: policy.dataBeforeGreet,
    implicitTls: policy.smtps,
    ...tlsHooks(serverTls),
    verify: (credentials) => verifier.verify(credentials),
    log: controls.log,
    onSession: (started) => session = started,
    onTrace: writeTrace,
  });
  // qmail-smtpd's only _exit(0) follows QUIT; EOF (also inside DATA), the
  // bare-LF 451, a timeout and every other end exit 1.
  return session?.quit ? EXIT.ok : EXIT.sessionEnded;
}
