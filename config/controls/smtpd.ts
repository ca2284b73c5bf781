/**
 * qmail-smtpd's control files for what it accepts (qmail-smtpd(8) and the
 * patches of docs/patches.md seeds 000 and 001): the domains it takes mail for, size,
 * recipient, command and hop limits, timeouts, tarpitting and the pauses
 * before its replies.
 *
 * Part of the controls table (config/controls.ts). Plain data, no I/O.
 */
import type { ControlSpec } from "./spec.ts";

export const SMTPD_CONTROLS: readonly ControlSpec[] = [
  {
    name: "rcpthosts",
    kind: "list",
    default: "none",
    readers: ["smtpd"],
    meaning: "domains accepted in RCPT TO, .suffix matches subdomains (absent: none, unlike qmail)",
    read: true,
  },
  {
    name: "morercpthosts",
    kind: "list",
    default: "none",
    readers: ["smtpd"],
    meaning: "more accepted domains; compiled into morercpthosts.cdb (qmail-newmrh)",
    read: true,
  },
  {
    name: "morercpthosts.cdb",
    kind: "cdb",
    default: "none",
    readers: ["smtpd"],
    meaning: "cdb of morercpthosts, consulted after rcpthosts",
    read: true,
  },
  {
    name: "badmailfrom",
    kind: "list",
    default: "none",
    readers: ["smtpd"],
    meaning:
      "senders refused at MAIL from clients that do not relay: addr, @domain, * wildcards, regex; NO_BADMAILFROM",
    read: true,
  },
  {
    name: "databytes",
    kind: "number",
    default: "0",
    readers: ["smtpd"],
    meaning: "largest message accepted, in bytes (0: no limit; $DATABYTES overrides)",
    read: true,
  },
  {
    name: "smtpgreeting",
    kind: "lines",
    default: "me",
    readers: ["smtpd"],
    meaning: "220 greeting text, first word the host name (several lines allowed)",
    read: true,
  },
  {
    name: "localiphost",
    kind: "line",
    default: "me",
    readers: ["smtpd"],
    meaning: "name that replaces [local-ip] address literals in RCPT TO",
    read: true,
  },
  {
    name: "timeoutsmtpd",
    kind: "number",
    default: "1200",
    readers: ["smtpd"],
    meaning: "seconds smtpd waits for each read or write",
    read: true,
  },
  // qmd's overall deadlines: qmail has only timeoutsmtpd, per read, so a client sending a
  // byte now and then could hold a session forever. timeoutdata's default is timeoutsmtpd's.
  {
    name: "timeoutcommand",
    kind: "number",
    default: "120",
    readers: ["smtpd", "pop3d"],
    meaning:
      "qmd's: seconds a command line may take from its first byte to its end, however the bytes trickle in; 0 = no limit",
    read: true,
  },
  {
    name: "timeoutdata",
    kind: "number",
    default: "1200",
    readers: ["smtpd"],
    meaning:
      "qmd's: seconds the whole DATA section may take, from the 354 to the final dot; 0 = no limit",
    read: true,
  },
  {
    name: "databytes+",
    kind: "number",
    default: "0",
    readers: ["smtpd"],
    meaning: "size limit for BLACKLISTED clients (seed 000); 0 = databytes",
    read: true,
  },
  {
    name: "databytesmf",
    kind: "list",
    default: "none",
    readers: ["smtpd"],
    meaning:
      "address:bytes or @domain:bytes: a size limit by sender, overriding databytes; no SIZE in EHLO (seed 001; DATABYTESMF=0 turns it off)",
    read: true,
  },
  {
    name: "databytesrcpt",
    kind: "list",
    default: "none",
    readers: ["smtpd"],
    meaning:
      "address:bytes or @domain:bytes: a size limit by recipient, overriding the rest (seed 001; DATABYTESRCPT=0 turns it off)",
    read: true,
  },
  {
    name: "maxrcpt",
    kind: "number",
    default: "0",
    readers: ["smtpd"],
    meaning:
      "recipients per message for clients without RELAYCLIENT or AUTH; 0 = no such limit (seed 000)",
    read: true,
  },
  // aio (docs/patches.md seed 001): 100, RFC 5321 §4.5.3.1.8's minimum.
  {
    name: "maxrecipients",
    kind: "number",
    default: "100",
    readers: ["smtpd"],
    meaning:
      "recipients per message for every client; 452 past it (seed 001; MAXRECIPIENTS overrides)",
    read: true,
  },
  // qmd's default: RFC 5321 §4.5.3.1.4 asks for at least 512.
  {
    name: "maxcmdlen",
    kind: "number",
    default: "4096",
    readers: ["smtpd"],
    meaning: "longest command line in bytes; 500 past it (seed 000; qmd's default)",
    read: true,
  },
  // qmail-md's default (docs/patches.md seed 000 md20): addresses up to 899 bytes.
  {
    name: "maxaddrlen",
    kind: "number",
    default: "900",
    readers: ["smtpd"],
    meaning: "addresses of this many bytes or more are a syntax error (seed 000)",
    read: true,
  },
  {
    name: "maxhops",
    kind: "number",
    default: "100",
    readers: ["smtpd"],
    meaning: "Received/Delivered header lines that mean a mail loop (seed 000)",
    read: true,
  },
  {
    name: "tarpitcount",
    kind: "number",
    default: "0",
    readers: ["smtpd"],
    meaning:
      "RCPTs before tarpitting starts; 0 = off (TARPITCOUNT overrides; NO_TARPITTING turns it off)",
    read: true,
  },
  {
    name: "tarpitdelay",
    kind: "number",
    default: "5",
    readers: ["smtpd"],
    meaning: "seconds of tarpit pause per RCPT past tarpitcount (TARPITDELAY overrides)",
    read: true,
  },
  {
    name: "greetdelay",
    kind: "number",
    default: "0",
    readers: ["smtpd"],
    meaning: "seconds before the 220 greeting (GREETDELAY overrides)",
    read: true,
  },
  {
    name: "helodelay",
    kind: "number",
    default: "0",
    readers: ["smtpd"],
    meaning: "seconds before the reply to HELO/EHLO (HELODELAY overrides)",
    read: true,
  },
  {
    name: "mfdelay",
    kind: "number",
    default: "0",
    readers: ["smtpd"],
    meaning: "seconds before the reply to MAIL (MFDELAY overrides)",
    read: true,
  },
  {
    name: "rcptdelay",
    kind: "number",
    default: "0",
    readers: ["smtpd"],
    meaning: "seconds before the reply to RCPT (RCPTDELAY overrides)",
    read: true,
  },
  {
    name: "databeforegreet",
    kind: "line",
    default: "0",
    readers: ["smtpd"],
    meaning: "not 0: hang up on clients that talk during greetdelay (DATABEFOREGREET overrides)",
    read: true,
  },
];
