/**
 * qmd's command line and multi-call entry. `qmd <command> ...`, or, when the
 * program is invoked under a qmail program's name (a symlink such as
 * `qmail-queue` or `sendmail`), that program. Nothing else lives here.
 */
import { EXIT } from "./appliance/exit_codes.ts";

type CommandMain = (args: string[]) => Promise<number>;

interface Command {
  summary: string;
  load: () => Promise<{ main: CommandMain }>;
}

/** Every command, in the order `qmd --help` lists them. */
const COMMANDS: Record<string, Command> = {
  start: {
    summary: "run the appliance in the foreground",
    load: () => import("./appliance/cli/start.ts"),
  },
  "qmail-start": {
    summary: "qmail-start [defaultdelivery [logger args...]]: start, as qmail's run files call it",
    load: () => import("./appliance/cli/qmail_start.ts"),
  },
  init: {
    summary: "create or complete a home directory",
    load: () => import("./appliance/cli/init.ts"),
  },
  smtpd: {
    summary: "qmail-smtpd: one SMTP session on stdin/stdout (tcpserver, inetd)",
    load: () => import("./appliance/cli/smtpd.ts"),
  },
  pop3d: {
    summary: "qmail-popup + qmail-pop3d: one POP3 session on stdin/stdout",
    load: () => import("./appliance/cli/pop3d.ts"),
  },
  remote: {
    summary: "qmail-remote: deliver the message on stdin to one remote recipient",
    load: () => import("./appliance/cli/remote.ts"),
  },
  queue: {
    summary: "qmail-queue (fd 0, fd 1); queue list|show|retry|bounce|remove|hold|release",
    load: () => import("./appliance/cli/queue.ts"),
  },
  inject: {
    summary: "qmail-inject: complete headers and queue a message",
    load: () => import("./appliance/cli/inject.ts"),
  },
  sendmail: {
    summary: "sendmail interface (-f, -t, -i, -oi, -F)",
    load: () => import("./appliance/cli/sendmail.ts"),
  },
  qstat: {
    summary: "qmail-qstat: count queued messages",
    load: () => import("./appliance/cli/qstat.ts"),
  },
  qread: {
    summary: "qmail-qread: list queued messages",
    load: () => import("./appliance/cli/qread.ts"),
  },
  remove: {
    summary: "qmail-remove: find queued messages by text; yank (-r) or delete (-d) them",
    load: () => import("./appliance/cli/qmail_remove.ts"),
  },
  dns: {
    summary:
      "the DNS records a domain's mail needs here (MX, SPF, DKIM, DMARC, TLS-RPT, PTR); check them",
    load: () => import("./appliance/cli/dns.ts"),
  },
  dkim: {
    summary: "DKIM signing keys of outgoing mail: add, list, show (the TXT record to publish)",
    load: () => import("./appliance/cli/dkim.ts"),
  },
  ipmeprint: {
    summary: "ipmeprint: the addresses counted as this machine (ipme, moreipme, notipme)",
    load: () => import("./appliance/cli/ipme.ts").then((module) => ({ main: module.printMain })),
  },
  ipmetest: {
    summary: "ipmetest IP: me or not me, as the remote role decides",
    load: () => import("./appliance/cli/ipme.ts").then((module) => ({ main: module.testMain })),
  },
  preline: {
    summary: "preline [-dfrp] cmd: the message with its From_, Return-Path, Delivered-To to cmd",
    load: () => import("./appliance/cli/preline.ts"),
  },
  flush: {
    summary: "retry every queued delivery now (SIGALRM)",
    load: () => import("./appliance/cli/flush.ts"),
  },
  status: {
    summary: "show the running qmd's failed-login blocks",
    load: () => import("./appliance/cli/status.ts"),
  },
  unblock: {
    summary: "lift a failed-login block on the running qmd (IP or user name)",
    load: () => import("./appliance/cli/unblock.ts"),
  },
  showctl: {
    summary: "show every control file and its default",
    load: () => import("./appliance/cli/showctl.ts"),
  },
  newu: {
    summary: "qmail-newu: compile users/assign into users/cdb",
    load: () => import("./appliance/cli/newu.ts"),
  },
  admin: {
    summary: "the admin console's password (passwd) and API tokens (token)",
    load: () => import("./appliance/cli/admin.ts"),
  },
  recipients: {
    summary: "qmail-recipients: compile users/recipients into users/recipients.cdb",
    load: () => import("./appliance/cli/recipients.ts"),
  },
  user: {
    summary: "add, delete, rename, list mailboxes; set passwords and quotas",
    load: () => import("./appliance/cli/user.ts"),
  },
  domain: {
    summary: "add, delete, list virtual domains",
    load: () => import("./appliance/cli/domain.ts"),
  },
  alias: {
    summary: "add, delete, list forwarding addresses (.qmail files)",
    load: () => import("./appliance/cli/alias.ts"),
  },
  backup: {
    summary: "copy a home (control, users, accounts, .qmail files; --queue, --maildirs)",
    load: () => import("./appliance/cli/backup.ts"),
  },
  restore: {
    summary: "put a backup made by qmd backup into a home",
    load: () => import("./appliance/cli/restore.ts"),
  },
  install: {
    summary: "print (or --apply) a systemd unit or daemontools service for qmd start",
    load: () => import("./appliance/cli/install.ts"),
  },
  "import-qmail": {
    summary: "dry run: survey a qmail installation (control, users, vpopmail, queue)",
    load: () => import("./appliance/cli/import_qmail.ts"),
  },
  explain: {
    summary: "print the checks' decisions in a session (session id, queue id or Message-ID)",
    load: () => import("./appliance/cli/explain.ts"),
  },
  rules: {
    summary: "dry-run the checks: rules test (one session), rules replay (logged sessions)",
    load: () => import("./appliance/cli/rules.ts"),
  },
  tcprules: {
    summary: "tcprules: compile tcpserver rules (tcp.smtp) into a cdb, or print one",
    load: () => import("./appliance/cli/tcprules.ts"),
  },
};

/** argv[0] names that make the binary behave as one qmail program. */
const PROGRAM_NAMES: Record<string, string> = {
  "qmail-queue": "queue",
  "qmail-inject": "inject",
  "sendmail": "sendmail",
  "qmail-qread": "qread",
  "qmail-qstat": "qstat",
  "qmail-remove": "remove",
  preline: "preline",
  ipmeprint: "ipmeprint",
  ipmetest: "ipmetest",
  "qmail-showctl": "showctl",
  "qmail-newu": "newu",
  "qmail-recipients": "recipients",
  "qmail-smtpd": "smtpd",
  "qmail-remote": "remote",
  "qmail-popup": "pop3d",
  "qmail-start": "qmail-start",
  "qmail-send": "start",
  "tcprules": "tcprules",
};

/**
 * The other programs qmail's install puts in bin/ (hier.c). Installed under
 * one of these names (or any other `qmail-` name) qmd refuses with one line
 * instead of reading the arguments as a qmd command.
 */
const OTHER_QMAIL_PROGRAMS = new Set([
  "bouncesaying",
  "condredirect",
  "datemail",
  "elq",
  "except",
  "forward",
  "maildir2mbox",
  "maildirmake",
  "maildirwatch",
  "mailsubj",
  "pinq",
  "predate",
  "qail",
  "qbiff",
  "qreceipt",
  "qsmhook",
  "splogger",
  "tcp-env",
]);

function usage(): string {
  const width = Math.max(...Object.keys(COMMANDS).map((name) => name.length));
  const lines = Object.entries(COMMANDS).map(([name, command]) =>
    `  ${name.padEnd(width)}  ${command.summary}`
  );
  return [
    "usage: qmd <command> [options]   (qmd <command> --help for each)",
    "",
    ...lines,
    "",
    "Installed under a qmail program's name, qmd behaves as that program:",
    ...wrap(`${Object.keys(PROGRAM_NAMES).join(", ")}.`, 78),
  ].join("\n");
}

/** `text` broken at spaces into lines of at most `width` characters. */
function wrap(text: string, width: number): string[] {
  const lines: string[] = [];
  let line = "";
  for (const word of text.split(" ")) {
    if (line !== "" && line.length + 1 + word.length > width) {
      lines.push(line);
      line = word;
    } else {
      line = line === "" ? word : `${line} ${word}`;
    }
  }
  return [...lines, line];
}

/**
 * The name qmd was started under: argv[0] from /proc/self/cmdline (Deno does
 * not expose argv[0], and execPath resolves symlinks), or QMD_ARGV0 for tests.
 */
function invokedName(): string {
  let path = Deno.env.get("QMD_ARGV0");
  if (path === undefined) {
    try {
      path = Deno.readTextFileSync("/proc/self/cmdline").split("\0", 1)[0];
    } catch {
      path = "qmd";
    }
  }
  return path.slice(path.lastIndexOf("/") + 1);
}

/** Whether `name` is a qmail program qmd does not provide. */
function isOtherQmailProgram(name: string): boolean {
  return name.startsWith("qmail-") || OTHER_QMAIL_PROGRAMS.has(name);
}

export async function runCli(args: string[], name: string = invokedName()): Promise<number> {
  let commandName = Object.hasOwn(PROGRAM_NAMES, name) ? PROGRAM_NAMES[name] : undefined;
  let rest = args;
  if (commandName === undefined) {
    if (isOtherQmailProgram(name)) {
      console.error(
        `qmd: unknown program ${JSON.stringify(name)}: qmd runs as ` +
          `${Object.keys(PROGRAM_NAMES).join(", ")}, or as qmd <command>`,
      );
      return EXIT.usage;
    }
    const [first, ...others] = args;
    if (first === "--help" || first === "-h" || first === "help") {
      console.log(usage());
      return EXIT.ok;
    }
    if (first === undefined) {
      console.error(usage());
      return EXIT.usage;
    }
    commandName = first;
    rest = others;
  }
  const command = Object.hasOwn(COMMANDS, commandName) ? COMMANDS[commandName] : undefined;
  if (command === undefined) {
    console.error(`qmd: unknown command ${JSON.stringify(commandName)} (try qmd --help)`);
    return EXIT.usage;
  }
  try {
    const module = await command.load();
    return await module.main(rest);
  } catch (error) {
    // Each command reports what it expects; this is the one line for what it did not.
    const message = error instanceof Error ? error.message : String(error);
    console.error(`qmd ${commandName}: fatal: ${message.split("\n", 1)[0]}`);
    // What a command did not expect is a temporary failure (when unsure, temporary).
    return EXIT.temporary;
  }
}

if (import.meta.main) {
  Deno.exit(await runCli(Deno.args));
}
