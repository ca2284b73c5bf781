/**
 * The files `qmd install` writes to run `qmd start` as a service: a systemd
 * unit, or a daemontools service directory (`run` and `log/run`, as qmail's
 * own supervise directories and the run files of docs/patches.md seed 004
 * are laid out). Pure: the command decides where they go and writes them.
 *
 * qmd binds its ports itself (there is no tcpserver in front), so the
 * dedicated user needs CAP_NET_BIND_SERVICE for 25, 110, 465, 587 and 995:
 * systemd grants it as an ambient capability; under daemontools the
 * operator gives it to the executable with setcap, or lowers
 * net.ipv4.ip_unprivileged_port_start (the next steps say so).
 */
import { shellQuote } from "./launcher.ts";

export interface ServiceSettings {
  /** The qmd executable (a compiled qmd, or the launcher from deno task install). */
  exec: string;
  home: string;
  /** The dedicated user and group it runs as. */
  user: string;
  group: string;
  /** The address every listener binds (0.0.0.0 for all IPv4 addresses). */
  address: string;
  /** Seconds qmd start waits for sessions and deliveries on SIGTERM. */
  grace: number;
}

/** A file to write: its path (absolute, before any --root prefix), mode and text. */
export interface ServiceFile {
  path: string;
  mode: number;
  text: string;
}

/** The ports of qmd start's five listeners, as the README's defaults for a mail host. */
export const SERVICE_PORTS = {
  smtp: 25,
  submission: 587,
  smtps: 465,
  pop3: 110,
  pop3s: 995,
} as const;

/** `qmd start` with every listener on `address` and the standard ports. */
export function startArguments(settings: ServiceSettings): string[] {
  const listeners = Object.entries(SERVICE_PORTS).flatMap(([kind, port]) => [
    `--${kind}`,
    `${settings.address}:${port}`,
  ]);
  return [
    settings.exec,
    "start",
    "--home",
    settings.home,
    ...listeners,
    "--grace",
    String(settings.grace),
  ];
}

/** Under /home, /root or /run/user a home needs ProtectHome=read-only, not yes (which hides it). */
function protectHome(home: string): string {
  return /^\/(home|root|run\/user)(\/|$)/.test(home) ? "read-only" : "yes";
}

/** The systemd unit (systemd.exec(5) and systemd.service(5) for each option). */
export function systemdUnit(settings: ServiceSettings): string {
  return [
    "# Written by qmd install --systemd. qmd start as a service; README.md,",
    '# "Running as a service", explains each choice.',
    "[Unit]",
    "Description=qmd mail server (qmail in one program)",
    "After=network-online.target",
    "Wants=network-online.target",
    "",
    "[Service]",
    "Type=simple",
    `User=${settings.user}`,
    `Group=${settings.group}`,
    `Environment=QMD_HOME=${settings.home}`,
    `ExecStart=${startArguments(settings).join(" ")}`,
    // SIGHUP re-reads control files (README, Operations).
    "ExecReload=/bin/kill -HUP $MAINPID",
    "KillSignal=SIGTERM",
    `TimeoutStopSec=${settings.grace + 20}`,
    "Restart=on-failure",
    "RestartSec=5",
    "LimitNOFILE=65536",
    "UMask=0027",
    "",
    "# Ports below 1024 without root.",
    "AmbientCapabilities=CAP_NET_BIND_SERVICE",
    "CapabilityBoundingSet=CAP_NET_BIND_SERVICE",
    "NoNewPrivileges=yes",
    "",
    "# Everything read-only but the home; .qmail |programs run in the same sandbox.",
    "ProtectSystem=strict",
    `ReadWritePaths=${settings.home}`,
    `ProtectHome=${protectHome(settings.home)}`,
    "PrivateTmp=yes",
    "PrivateDevices=yes",
    "ProtectKernelTunables=yes",
    "ProtectKernelModules=yes",
    "ProtectKernelLogs=yes",
    "ProtectControlGroups=yes",
    "ProtectClock=yes",
    "ProtectHostname=yes",
    "ProtectProc=invisible",
    "RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX",
    "RestrictNamespaces=yes",
    "RestrictRealtime=yes",
    "RestrictSUIDSGID=yes",
    "LockPersonality=yes",
    "SystemCallArchitectures=native",
    "# MemoryDenyWriteExecute stays off: V8's JIT writes machine code at run time.",
    "",
    "[Install]",
    "WantedBy=multi-user.target",
    "",
  ].join("\n");
}

/**
 * A daemontools service directory `dir`: `run` starts qmd as the user
 * (setuidgid) with its log on stdout; `log/run` keeps it with multilog in
 * log/main, as qmail's supervise directories do.
 */
export function daemontoolsFiles(settings: ServiceSettings, dir: string): ServiceFile[] {
  const run = [
    "#!/bin/sh",
    "# Written by qmd install --daemontools: qmd start under supervise.",
    "exec 2>&1",
    `QMD_HOME=${shellQuote(settings.home)}`,
    "export QMD_HOME",
    `exec setuidgid ${shellQuote(settings.user)} ${
      startArguments(settings).map(shellQuote).join(" ")
    }`,
    "",
  ].join("\n");
  const logRun = [
    "#!/bin/sh",
    "# Written by qmd install --daemontools: qmd's log, timestamped, in ./main.",
    `exec setuidgid ${shellQuote(settings.user)} multilog t s16777215 n20 ./main`,
    "",
  ].join("\n");
  return [
    { path: `${dir}/run`, mode: 0o755, text: run },
    { path: `${dir}/log/run`, mode: 0o755, text: logRun },
  ];
}
