/**
 * `qmd smtpd` (and argv[0] `qmail-smtpd`): one SMTP session on stdin/stdout,
 * as qmail-smtpd runs under tcpserver or inetd. The connection facts come
 * from tcpserver's environment: TCPREMOTEIP, TCPREMOTEHOST, TCPREMOTEINFO,
 * TCPLOCALIP, TCPLOCALHOST, RELAYCLIENT, DATABYTES.
 */
import { parseCommand } from "./args.ts";
import { resolveHome } from "../../config/home.ts";
import { loadSmtpdControls } from "../../config/smtpd.ts";
import { queueLayoutFor } from "../queue/layout.ts";
import { serveSmtpConnection } from "../net/smtp_connection.ts";
import { stdioTransport } from "../net/stdio_transport.ts";
import { buildSessionOptions, loadMoreRcptHosts } from "../net/smtp_options.ts";
import { setLogSink } from "../log.ts";

const USAGE = `usage: qmd smtpd [--home DIR]

Serves one SMTP session on stdin/stdout, for tcpserver or inetd:
  tcpserver -v -R -x /var/qmail/tcp.smtp.cdb 0 25 qmd smtpd --home /var/qmail
Reads TCPREMOTEIP, TCPREMOTEHOST, TCPREMOTEINFO, TCPLOCALIP, TCPLOCALHOST,
RELAYCLIENT and DATABYTES from the environment. Log lines go to stderr.`;

export async function main(args: string[]): Promise<number> {
  const parsed = parseCommand({
    name: "qmd smtpd",
    usage: USAGE,
    options: { home: { type: "string" } },
  }, args);
  if (!parsed.ok) return parsed.exitCode;
  const home = resolveHome(parsed.values.home);
  const env = Deno.env.toObject();
  setLogSink((record) => console.error(`qmd-smtpd: pid ${Deno.pid} ${record.text}`), "smtpd");
  const transport = stdioTransport();
  let controls;
  try {
    controls = loadSmtpdControls(home, env);
  } catch (error) {
    console.error(`qmd-smtpd: ${(error as Error).message}`);
    await transport.write(new TextEncoder().encode("421 unable to read controls (#4.3.0)\r\n"));
    return 1;
  }
  await serveSmtpConnection(transport, {
    session: buildSessionOptions(controls, loadMoreRcptHosts(controls), {
      remoteIp: env.TCPREMOTEIP ?? "unknown",
      remoteHost: env.TCPREMOTEHOST,
      remoteInfo: env.TCPREMOTEINFO,
      localIp: env.TCPLOCALIP,
      localHost: env.TCPLOCALHOST ?? env.TCPLOCALIP ?? "unknown",
      relayClient: env.RELAYCLIENT,
    }),
    layout: queueLayoutFor(home),
    timeoutSeconds: controls.timeoutSeconds,
    maxLineLength: 4096,
    sessionId: String(Deno.pid),
  });
  return 0;
}
