/**
 * What `qmd start` prints once the appliance runs: where everything is, what
 * each listener and the certificate really offer, and commands that work as
 * printed from any directory (launcher.ts's qmdCommand).
 */
import type { ListenerKind } from "../ipc.ts";
import type { ListenAddress } from "../supervisor.ts";
import type { TlsStatus } from "../tls/tls_files_watch.ts";
import { formatListenAddress } from "../net/listen_probe.ts";
import { qmdCommand, shellQuote } from "./launcher.ts";
import { formatAdminPasswordLine } from "./admin.ts";
import { fileExists } from "../durable_file.ts";

export interface BannerFacts {
  home: string;
  listeners: ListenAddress[];
  /** A new home was created by this start. */
  fresh: boolean;
  tls: TlsStatus;
  /** The log is JSON lines on stdout; then the banner goes to stderr. */
  json: boolean;
  /** What `qmd init` noted while making or completing the home (e.g. why me is localhost). */
  notes?: string[];
  /** The admin console's address, when it runs, and whether it serves HTTPS. */
  admin?: { host: string; port: number; tls?: boolean };
  /** The admin password this start made: shown once. */
  adminPassword?: string;
  /** The command that runs qmd (default: qmdCommand()). */
  command?: string;
}

/** The banner's lines. */
export function formatBanner(facts: BannerFacts): string {
  const { home, tls } = facts;
  const qmd = facts.command ?? qmdCommand();
  const me = (() => {
    try {
      return Deno.readTextFileSync(`${home}/control/me`).split("\n")[0].trim();
    } catch {
      return "localhost";
    }
  })();
  const show = (kind: ListenerKind) =>
    facts.listeners.filter((a) => (a.kind ?? "smtp") === kind)
      .map((a) => formatListenAddress(a.host, a.port)).join(", ") || "off";
  const first = facts.listeners.find((a) => (a.kind ?? "smtp") === "smtp") ??
    facts.listeners[0];
  const served = tls.certificate.kind !== "none";
  const tlsFirst = (kind: ListenerKind) =>
    served || show(kind) === "off" ? "" : "   (no certificate: connections are closed)";
  /** A listener's note in parentheses; none for a listener that is off. */
  const note = (kind: ListenerKind, text: string) => show(kind) === "off" ? "" : `   (${text})`;
  const homeArg = `--home ${shellQuote(home)}`;
  const on = (kind: ListenerKind) => show(kind) !== "off";
  // Where that mailbox can log in: only the listeners that are on.
  const logins = [
    ...(on("submission") ? ["SMTP AUTH on the submission port"] : on("smtps") ? ["SMTPS"] : []),
    ...(on("pop3") ? [on("pop3s") ? "POP3 with STLS or POP3S" : "POP3 with STLS"] : []),
    ...(!on("pop3") && on("pop3s") ? ["POP3S"] : []),
  ];
  return [
    `qmd is running (pid ${Deno.pid})${facts.fresh ? "; a new home was created" : ""}`,
    `  home:     ${home}`,
    `  control:  ${home}/control   (me = ${me})`,
    `  queue:    ${home}/queue`,
    `  smtp:     ${show("smtp")}`,
    `  submission: ${show("submission")}${
      note(
        "submission",
        `AUTH required; ${served ? "STARTTLS offered" : "no STARTTLS: no certificate"}`,
      )
    }`,
    `  smtps:    ${show("smtps")}${tlsFirst("smtps")}`,
    `  pop3:     ${show("pop3")}${
      note("pop3", served ? "STLS offered" : "no STLS: no certificate")
    }`,
    `  pop3s:    ${show("pop3s")}${tlsFirst("pop3s")}`,
    `  admin:    ${
      facts.admin === undefined
        ? "off"
        : `${facts.admin.tls ? "https" : "http"}://${
          formatListenAddress(facts.admin.host, facts.admin.port)
        }/   (console, ` +
          `JSON API, /metrics)`
    }`,
    ...(facts.adminPassword === undefined
      ? []
      : [`  ${formatAdminPasswordLine(facts.adminPassword)}`]),
    ...tlsLines(home, me, tls),
    ...(facts.notes ?? []).map((note) => `  note:     ${note}`),
    `  log:      ${
      facts.json
        ? "stdout, one JSON object a line (this banner is on stderr)"
        : "this terminal (stdout); --log-format json for JSON lines"
    }`,
    ``,
    `Add a mailbox:`,
    `  echo 'a-password' | ${qmd} user add you@example.test --password-stdin ${homeArg}`,
    ...(logins.length === 0 ? [] : [
      `Log in (${logins.join(", ")}): you@example.test`,
      `  and that password; plain-text logins are offered once the session is encrypted.`,
    ]),
    `Send it a test message:`,
    `  printf 'Subject: hello\\n\\nIt works.\\n' | ${qmd} inject ${homeArg} you@example.test`,
    ...(first === undefined ? [] : [
      `  or with swaks: swaks --server ${
        formatListenAddress(first.host, first.port)
      } --to you@example.test`,
    ]),
    `It arrives in ${home}/mail/example.test/you/Maildir/new/`,
    `Stop with Ctrl-C or kill -TERM ${Deno.pid}; reload control files with kill -HUP ${Deno.pid}.`,
  ].join("\n");
}

/** Prints the banner: on stdout, or on stderr when stdout holds JSON log lines only. */
export function printBanner(facts: BannerFacts): void {
  if (facts.json) console.error(formatBanner(facts));
  else console.log(formatBanner(facts));
}

/** The tls: line, and a second one when the file on disk is not what is served. */
function tlsLines(home: string, me: string, tls: TlsStatus): string[] {
  const file = `${home}/control/servercert.pem`;
  const { certificate, problems } = tls;
  if (certificate.kind === "none") {
    const why = problems[0]?.replace(/; STARTTLS is off until it is fixed$/, "") ?? `no ${file}`;
    return [`  tls:      STARTTLS off: ${why}`];
  }
  const expires = certificate.expires.toISOString().slice(0, 10);
  // control/acme: the acme isolate gets and renews the certificate (appliance/roles/acme.ts).
  const acme = fileExists(`${home}/control/acme`);
  const what = certificate.kind === "self-signed"
    ? `self-signed for ${certificate.commonName}${
      certificate.commonName === me ? "" : ` (me is ${me})`
    }, until ${acme ? "ACME replaces it" : "you replace it"}`
    : `${certificate.commonName}, issued by ${certificate.issuer}, expires ${expires}`;
  return [
    `  tls:      ${file} (${what})`,
    ...(acme ? ["            acme: control/acme orders and renews it (the log, qmd showctl)"] : []),
    ...problems.map((problem) => `            not served: ${problem}`),
  ];
}
