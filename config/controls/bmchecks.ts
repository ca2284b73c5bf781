/**
 * The list checks' control files (appliance/filters/: badhelo, badmailfrom,
 * goodmailfrom, badrmhost, badmailto, badrcptto, reqbrackets, datechecks;
 * docs/patches.md seeds 000–003). control/badmailfrom itself is with
 * qmail-smtpd's files (smtpd.ts).
 *
 * Part of the controls table (config/controls.ts). Plain data, no I/O.
 */
import type { ControlSpec } from "./spec.ts";

/** A list file read by smtpd's filter chain. */
function list(name: string, meaning: string): ControlSpec {
  return { name, kind: "list", default: "none", readers: ["smtpd"], meaning, read: true };
}

const LINES = "lines: addr, @domain, * wildcards, regex, !regex";

export const BMCHECKS_CONTROLS: readonly ControlSpec[] = [
  list("badhelo", `HELO/EHLO arguments refused, every client (${LINES}); NO_BADHELO, BADHELO`),
  list("badheloext", "HELO/EHLO arguments refused from clients that do not relay; NOBADHELOEXT"),
  list("badheloint", "HELO/EHLO arguments refused from relaying clients; NOBADHELOINT"),
  list(
    "badmailfromext",
    "senders refused at MAIL from clients that do not relay; NOBADMAILFROMEXT",
  ),
  list("badmailfromint", "senders refused at MAIL from relaying clients; NOBADMAILFROMINT"),
  list("goodmailfrom", "senders accepted without the later sender checks; NO_GOODMAILFROM"),
  list("badrmhostext", "TCPREMOTEHOST names refused (at MAIL) for clients that do not relay"),
  list("badrmhostint", "TCPREMOTEHOST names refused (at MAIL) for relaying clients"),
  list("badmailto", "recipients refused at RCPT, every client; NO_BADMAILTO, BADMAILTO"),
  list("badmailtoext", "recipients refused at RCPT from clients that do not relay; NOBADMAILTOEXT"),
  list("badmailtoint", "recipients refused at RCPT from relaying clients; NOBADMAILTOINT"),
  list(
    "badrcptto",
    "recipients refused at RCPT from clients that do not relay; then DATA is refused too",
  ),
  list("datechecks", "prefix:days: a recipient prefixYYYYMMDD is valid for days days"),
  {
    name: "reqbrackets",
    kind: "line",
    default: "1",
    readers: ["smtpd"],
    meaning: "1: MAIL FROM and RCPT TO need their address in <brackets>; 0: qmail's bare form too",
    read: true,
  },
  {
    name: "log/bmchecks",
    kind: "line",
    default: "0",
    readers: ["smtpd"],
    meaning: "1: log each match of a bad*/goodmailfrom line (bmchecks: ...)",
    read: true,
  },
  {
    name: "log/datechecks",
    kind: "line",
    default: "0",
    readers: ["smtpd"],
    meaning: "1: log each recipient datechecks refuses as expired",
    read: true,
  },
];
