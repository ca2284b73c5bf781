/**
 * `qmd start`: the appliance in the foreground. Creates the home on first
 * start, refuses to run twice on one queue (qmail's sendmutex), spawns the
 * roles, prints where everything is, and turns signals into drain (TERM,
 * INT), reload (HUP) and flush (ALRM).
 */
import { parseCommand, usageError } from "./args.ts";
import { homePaths, resolveHome } from "../../config/home.ts";
import { loadTcpRules } from "../../config/tcprules.ts";
import type { ListenerKind } from "../ipc.ts";
import { loadSmtpdControls } from "../../config/smtpd.ts";
import { ControlError } from "../../config/control.ts";
import { initHome } from "../home/init_home.ts";
import { type ListenAddress, Supervisor } from "../supervisor.ts";
import { queueLayoutFor } from "../queue/layout.ts";
import { freePort } from "../net/free_port.ts";
import type { LogFormat } from "../log.ts";
import { AuthFailures } from "../net/auth_failures.ts";
import { answerBlockRequests } from "../home/login_blocks.ts";

const USAGE = `usage: qmd start [--home DIR] [--smtp ADDR:PORT ...] [--submission ADDR:PORT ...]
                 [--smtps ADDR:PORT ...] [--pop3 ADDR:PORT ...] [--pop3s ADDR:PORT ...]
                 [--smtpd-workers N]
                 [--log-format text|json] [--grace SECONDS]

Runs the appliance in the foreground with its log on stdout.
  --home DIR          the qmd home (default $QMD_HOME, else ./qmd-home; created if missing)
  --smtp ADDR:PORT    an SMTP listener; repeat for several (default 127.0.0.1:2525)
  --submission A:P    a submission listener, AUTH before MAIL (default 127.0.0.1:2587)
  --smtps ADDR:PORT   an SMTPS listener, TLS from the first byte (default 127.0.0.1:2465)
  --pop3 ADDR:PORT    a POP3 listener, STLS offered (default 127.0.0.1:2110)
  --pop3s ADDR:PORT   a POP3S listener, TLS from the first byte (default 127.0.0.1:2995)
                      (--submission, --smtps, --pop3, --pop3s off: no such listener)
  --smtpd-workers N   smtpd isolates sharing each port (default: number of CPUs)
  --log-format F      text (qmail's lines with a timestamp) or json (one object a line)
  --grace SECONDS     how long SIGTERM waits for sessions and deliveries (default 10)
Signals: TERM/INT drain and exit 0, HUP re-reads control files, ALRM retries the queue now,
USR1 answers qmd status and qmd unblock.`;

export function parseListen(text: string): ListenAddress | undefined {
  const match = /^\[?([^\]]*?)\]?:(\d{1,5})$/.exec(text);
  if (match === null) return undefined;
  const port = Number(match[2]);
  if (port > 65535 || match[1] === "") return undefined;
  return { host: match[1], port };
}

/** Refuses a second start on one queue, as qmail-send's lock/sendmutex does. */
function checkSendMutex(path: string): string | undefined {
  const file = Deno.openSync(path, { write: true, create: true });
  try {
    if (!file.tryLockSync(true)) {
      return `qmd: cannot start: ${path} is locked: qmd or qmail-send is already running on this queue`;
    }
    file.unlockSync();
    return undefined;
  } finally {
    file.close();
  }
}

export async function main(args: string[]): Promise<number> {
  const parsed = parseCommand({
    name: "qmd start",
    usage: USAGE,
    positionals: false,
    options: {
      home: { type: "string" },
      smtp: { type: "string", multiple: true },
      submission: { type: "string", multiple: true },
      smtps: { type: "string", multiple: true },
      pop3: { type: "string", multiple: true },
      pop3s: { type: "string", multiple: true },
      "smtpd-workers": { type: "string" },
      "log-format": { type: "string" },
      grace: { type: "string" },
    },
  }, args);
  if (!parsed.ok) return parsed.exitCode;
  const values = parsed.values;
  const home = resolveHome(values.home);
  const smtp: ListenAddress[] = [];
  const listeners: Array<[ListenerKind, string[]]> = [
    ["smtp", values.smtp ?? ["127.0.0.1:2525"]],
    ["submission", values.submission ?? ["127.0.0.1:2587"]],
    ["smtps", values.smtps ?? ["127.0.0.1:2465"]],
    ["pop3", values.pop3 ?? ["127.0.0.1:2110"]],
    ["pop3s", values.pop3s ?? ["127.0.0.1:2995"]],
  ];
  for (const [kind, texts] of listeners) {
    for (const text of texts) {
      if (text === "off" && kind !== "smtp") continue;
      const address = parseListen(text);
      if (address === undefined) {
        return usageError(
          "qmd start",
          `bad --${kind} address ${JSON.stringify(text)}, expected ADDR:PORT`,
        );
      }
      smtp.push({ ...address, kind });
    }
  }
  const workers = Number(values["smtpd-workers"] ?? navigator.hardwareConcurrency ?? 1);
  if (!Number.isInteger(workers) || workers < 1 || workers > 64) {
    return usageError("qmd start", "--smtpd-workers must be a whole number from 1 to 64");
  }
  const logFormat = (values["log-format"] ?? "text") as LogFormat;
  if (logFormat !== "text" && logFormat !== "json") {
    return usageError("qmd start", "--log-format must be text or json");
  }
  const graceSeconds = Number(values.grace ?? 10);
  if (!Number.isFinite(graceSeconds) || graceSeconds < 0) {
    return usageError("qmd start", "--grace must be seconds");
  }

  const created = await initHome(home, {});
  try {
    loadSmtpdControls(home);
    loadTcpRules(homePaths(home).tcpSmtp);
  } catch (error) {
    if (error instanceof ControlError) {
      console.error(`qmd: cannot start: ${error.message}`);
      return 111;
    }
    throw error;
  }
  const layout = queueLayoutFor(home);
  const locked = checkSendMutex(layout.sendmutex);
  if (locked !== undefined) {
    console.error(locked);
    return 111;
  }
  for (const address of smtp) if (address.port === 0) address.port = await freePort(address.host);
  const isPop3 = (address: ListenAddress) => address.kind === "pop3" || address.kind === "pop3s";
  const pop3 = smtp.filter(isPop3);
  const smtpOnly = smtp.filter((address) => !isPop3(address));

  const authFailures = AuthFailures.createBuffer();
  const supervisor = new Supervisor({
    home,
    authFailures,
    smtp: smtpOnly,
    pop3,
    smtpdWorkers: workers,
    logFormat,
    graceSeconds,
    env: Deno.env.toObject(),
  });
  try {
    await supervisor.start();
  } catch (error) {
    console.error(`qmd: cannot start: ${(error as Error).message}`);
    supervisor.terminate();
    return 111;
  }
  const pidFile = `${layout.root}/lock/supervisor.pid`;
  Deno.writeTextFileSync(pidFile, `${Deno.pid}\n`);
  printBanner(home, smtp, created.created.length > 0);

  const stopped = new Promise<void>((resolve) => {
    const stop = () => {
      supervisor.drain().then(resolve);
    };
    Deno.addSignalListener("SIGTERM", stop);
    Deno.addSignalListener("SIGINT", stop);
  });
  Deno.addSignalListener("SIGHUP", () => supervisor.reload());
  Deno.addSignalListener("SIGALRM", () => supervisor.flush());
  // `qmd status` and `qmd unblock` left a request in queue/lock/.
  const loginBlocks = new AuthFailures(authFailures);
  Deno.addSignalListener("SIGUSR1", () => answerBlockRequests(home, loginBlocks));
  await stopped;
  try {
    Deno.removeSync(pidFile);
  } catch {
    // already gone
  }
  return 0;
}

function printBanner(home: string, smtp: ListenAddress[], fresh: boolean): void {
  const me = (() => {
    try {
      return Deno.readTextFileSync(`${home}/control/me`).split("\n")[0].trim();
    } catch {
      return "localhost";
    }
  })();
  const show = (kind: ListenerKind) =>
    smtp.filter((a) => (a.kind ?? "smtp") === kind)
      .map((a) => `${a.host.includes(":") ? `[${a.host}]` : a.host}:${a.port}`).join(", ") ||
    "off";
  const first = smtp.find((a) => (a.kind ?? "smtp") === "smtp") ?? smtp[0];
  const lines = [
    `qmd is running (pid ${Deno.pid})${fresh ? "; a new home was created" : ""}`,
    `  home:     ${home}`,
    `  control:  ${home}/control   (me = ${me})`,
    `  queue:    ${home}/queue`,
    `  smtp:     ${show("smtp")}`,
    `  submission: ${show("submission")}   (AUTH required; STARTTLS offered)`,
    `  smtps:    ${show("smtps")}`,
    `  pop3:     ${show("pop3")}   (STLS offered)`,
    `  pop3s:    ${show("pop3s")}`,
    `  tls:      ${home}/control/servercert.pem (self-signed for ${me} until you replace it)`,
    `  log:      this terminal (stdout); --log-format json for JSON lines`,
    ``,
    `Add a mailbox:`,
    `  echo 'a-password' | deno task qmd user add you@example.test --password-stdin --home ${home}`,
    `Log in (SMTP AUTH on the submission port, POP3 with STLS or POP3S): you@example.test`,
    `  and that password; plain-text logins are offered once the session is encrypted.`,
    `Send it a test message:`,
    `  printf 'Subject: hello\\n\\nIt works.\\n' | deno task qmd inject --home ${home} you@example.test`,
    `  swaks --server ${first.host}:${first.port} --to you@example.test`,
    `It arrives in ${home}/mail/example.test/you/Maildir/new/`,
    `Stop with Ctrl-C or kill -TERM ${Deno.pid}; reload control files with kill -HUP ${Deno.pid}.`,
  ];
  console.log(lines.join("\n"));
}
