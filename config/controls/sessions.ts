/**
 * How many sessions smtpd and pop3d hold at once, and the optional smtpd
 * log lines (docs/patches.md seed 000's log/ switches).
 *
 * Part of the controls table (config/controls.ts). Plain data, no I/O.
 */
import type { ControlSpec } from "./spec.ts";

export const SESSION_CONTROLS: readonly ControlSpec[] = [
  // qmd's: the qmail run files' MAXCON is 40.
  {
    name: "concurrencyincoming",
    kind: "number",
    default: "200",
    readers: ["smtpd", "pop3d"],
    meaning:
      "SMTP sessions at once over all listeners, and POP3 sessions counted apart; 421 / -ERR past it",
    read: true,
  },
  // tcpserver's per-IP limit in docs/patches.md seed 004's run file.
  {
    name: "concurrencyperip",
    kind: "number",
    default: "20",
    readers: ["smtpd", "pop3d"],
    meaning:
      "qmd's: SMTP sessions at once from one IP; 421 past it (MAXCONNIP in tcp.smtp overrides)",
    read: true,
  },
  // qmd's stress mode (README, "Stress mode"): from 80 % of concurrencyincoming in use
  // until fewer than 60 %, as Postfix's stress-dependent settings.
  {
    name: "concurrencyperipstress",
    kind: "number",
    default: "5",
    readers: ["smtpd", "pop3d"],
    meaning:
      "qmd's: under connection stress (80 % of concurrencyincoming in use), a new session from an IP already holding this many gets 421 / -ERR; RELAYCLIENT clients keep their usual limit; 0 = no such limit",
    read: true,
  },
  {
    name: "timeoutstress",
    kind: "number",
    default: "10",
    readers: ["smtpd", "pop3d"],
    meaning:
      "qmd's: under connection stress, seconds the server waits for a client's next command, each read, and a whole command line; 0 = the usual waits",
    read: true,
  },
  {
    name: "dataratestress",
    kind: "number",
    default: "1000",
    readers: ["smtpd", "pop3d"],
    meaning:
      "qmd's: under connection stress, bytes a second a DATA section must average from the 354, and output (a RETR) must be taken at, with timeoutstress seconds of slack; 0 = no rate",
    read: true,
  },
  {
    name: "log/smtp_in",
    kind: "line",
    default: "0",
    readers: ["smtpd"],
    meaning: "1: log every command the client sends (AUTH data hidden)",
    read: true,
  },
  {
    name: "log/smtp_out",
    kind: "line",
    default: "0",
    readers: ["smtpd"],
    meaning: "1: log every reply",
    read: true,
  },
  {
    name: "log/orchecks",
    kind: "line",
    default: "0",
    readers: ["smtpd"],
    meaning: "1: log refused relay attempts",
    read: true,
  },
  {
    name: "log/tarpitting",
    kind: "line",
    default: "0",
    readers: ["smtpd"],
    meaning: "1: log tarpitted clients",
    read: true,
  },
  {
    name: "log/tcpserver",
    kind: "line",
    default: "0",
    readers: ["smtpd"],
    meaning:
      "qmd's: 1: also log tcpserver -v's lines (status: N/M, pid, ok, deny, end) for old log scripts",
    read: true,
  },
  {
    name: "log/pidqplog",
    kind: "line",
    default: "0",
    readers: ["smtpd"],
    meaning:
      "1: log `mail recv: pid PID from <SENDER> qp QP` for each message queued (qmail-smtpd-pidqplog, seed 003)",
    read: true,
  },
  // The decision trace (appliance/trace/store.ts): qmd's own.
  {
    name: "tracedays",
    kind: "number",
    default: "14",
    readers: ["smtpd"],
    meaning: "qmd's: days of decision trace kept in log/trace (qmd explain); 0: none recorded",
    read: true,
  },
  {
    name: "tracemaxbytes",
    kind: "number",
    default: "268435456",
    readers: ["smtpd"],
    meaning: "qmd's: the most the decision trace files may hold together (256 MiB)",
    read: true,
  },
];
