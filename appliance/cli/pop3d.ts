/**
 * `qmd pop3d` (and argv[0] `qmail-popup`): one POP3 session on stdin/stdout,
 * where qmail-popup, checkpassword and qmail-pop3d ran under tcpserver:
 *
 *   tcpserver 0 110 qmd pop3d mail.example.com /bin/checkpassword qmail-pop3d Maildir
 *
 * The arguments are read as qmail-popup's: HOSTNAME, the checkpassword
 * program and its arguments, then the subprogram (qmail-pop3d) and the
 * Maildir's name. qmd does not run the subprogram: once checkpassword
 * accepts, it asks it for the user's home and serves HOME/MAILDIR itself.
 * Mailboxes in accounts.sqlite need no checkpassword. POP3S=1 in the
 * environment starts TLS before the greeting.
 */
import { parseCommand } from "./args.ts";
import { findHomeProblem, resolveHome } from "../../config/home.ts";
import { readControlLine } from "../../config/control.ts";
import { loadPop3dControls } from "../../config/pop3d.ts";
import {
  accountsVerifier,
  chainVerifiers,
  challengeAuthSupportOrUnknown,
  checkpasswordVerifier,
} from "../auth/verifier.ts";
import { servePop3Connection } from "../net/pop3_connection.ts";
import { buildPop3Options } from "../net/pop3_options.ts";
import { stdioTransport } from "../net/stdio_transport.ts";
import { ServerTls } from "../tls/server_tls.ts";
import { setLogSink } from "../log.ts";
import { EXIT } from "../exit_codes.ts";

const USAGE = `usage: qmd pop3d [--home DIR] [HOSTNAME] [CHECKPASSWORD ARGS... SUBPROGRAM MAILDIR]

Serves one POP3 session on stdin/stdout, for tcpserver or inetd, accepting
qmail-popup's arguments. Reads TCPREMOTEIP and POP3S from the environment.
Log lines go to stderr.`;

/** qmail-popup's arguments: [HOST] [checkpassword args...] [qmail-pop3d MAILDIR]. */
export function splitPop3dArguments(
  positionals: string[],
): { hostname?: string; checkpassword?: string[]; maildir: string } {
  let rest = [...positionals];
  let hostname: string | undefined;
  if (rest.length > 0 && !rest[0].startsWith("/")) [hostname, ...rest] = rest;
  let maildir = "Maildir";
  if (rest.length >= 2 && /pop3d$/.test(rest[rest.length - 2])) {
    maildir = rest[rest.length - 1].replace(/^\.\//, "").replace(/\/$/, "");
    rest = rest.slice(0, -2);
  }
  return { hostname, checkpassword: rest.length > 0 ? rest : undefined, maildir };
}

export async function main(args: string[]): Promise<number> {
  const parsed = parseCommand({
    name: "qmd pop3d",
    usage: USAGE,
    options: { home: { type: "string" } },
    positionals: true,
  }, args);
  if (!parsed.ok) return parsed.exitCode;
  const home = resolveHome(parsed.values.home);
  const env = Deno.env.toObject();
  const split = splitPop3dArguments(parsed.positionals);
  setLogSink((record) => console.error(`qmd-pop3d: pid ${Deno.pid} ${record.text}`), "pop3d");
  const transport = stdioTransport();
  let controls;
  try {
    const problem = findHomeProblem(home);
    if (problem !== undefined) throw new Error(problem);
    controls = loadPop3dControls(home);
  } catch (error) {
    console.error(`qmd-pop3d: ${(error as Error).message}`);
    await transport.write(new TextEncoder().encode("-ERR [SYS/TEMP] unable to read controls\r\n"));
    transport.close();
    return EXIT.sessionEnded;
  }
  const hostname = split.hostname ?? controls.me;
  const configured = readControlLine(home, "checkpassword")?.trim().split(/\s+/)
    .filter((word) => word !== "");
  // The last word is the program checkpassword runs on success; reportHome replaces it.
  const checkpassword = split.checkpassword !== undefined
    ? [...split.checkpassword, "/bin/true"]
    : configured;
  const verifier = chainVerifiers(
    accountsVerifier(home),
    checkpassword === undefined || checkpassword.length === 0
      ? undefined
      : checkpasswordVerifier(checkpassword, { reportHome: true }),
  );
  const serverTls = new ServerTls(home, {
    onError: (message) => console.error(`qmd-pop3d: alert: ${message}`),
  });
  await servePop3Connection(
    transport,
    buildPop3Options(controls, serverTls, {
      hostname,
      remoteIp: env.TCPREMOTEIP ?? "unknown",
      sessionId: String(Deno.pid),
      implicitTls: env.POP3S !== undefined,
      verify: (credentials) => verifier.verify(credentials),
      challengeAuth: challengeAuthSupportOrUnknown(home, (checkpassword ?? []).length > 0),
      maildirName: split.maildir,
    }),
  );
  verifier.close?.();
  return EXIT.ok;
}
