/**
 * Every control file qmd knows (qmail-formats.md §9, qmail-control(5) and
 * the patches in the seeds): its kind, its default, which role reads it and
 * what it means. `qmd showctl` prints this table with each file's value, and
 * config/controls_test.ts fails when code reads a control file that is not
 * listed here, so the table stays the truth.
 *
 * Leaf module: plain data, no I/O.
 */

/**
 * line: first line only; lines: every line (multi-line smtpgreeting); list:
 * lines with blanks and `#` comments skipped; number: a whole number; cdb: a
 * binary cdb built from the list of the same name without `.cdb`.
 */
export type ControlKind = "line" | "lines" | "list" | "number" | "cdb";

/** Who reads a file: qmd's roles, plus the inject/sendmail commands. */
export type ControlReader = "send" | "smtpd" | "local" | "remote" | "inject";

export interface ControlSpec {
  name: string;
  kind: ControlKind;
  /** The default as text: a number, "none", or "me" (the value of control/me). */
  default: string;
  /** When the default is "me" and control/me is absent too: qmail's literal fallback. */
  fallback?: string;
  readers: readonly ControlReader[];
  /** One line: what the file means. */
  meaning: string;
  /** False for files qmail reads that qmd does not read yet. */
  read: boolean;
}

export const CONTROLS: readonly ControlSpec[] = [
  {
    name: "me",
    kind: "line",
    default: "none",
    readers: ["send", "smtpd", "remote", "inject"],
    meaning: "this host's fully qualified name; the default for the files marked 'me'",
    read: true,
  },
  {
    name: "locals",
    kind: "list",
    default: "me",
    readers: ["send"],
    meaning: "domains delivered locally (qmail-send will not start without it or me)",
    read: true,
  },
  {
    name: "virtualdomains",
    kind: "list",
    default: "none",
    readers: ["send"],
    meaning: "[user@]domain:prepend lines: virtual users and domains (re-read on SIGHUP)",
    read: true,
  },
  {
    name: "percenthack",
    kind: "list",
    default: "none",
    readers: ["send"],
    meaning: "domains where a recipient user%host@domain becomes user@host",
    read: true,
  },
  {
    name: "envnoathost",
    kind: "line",
    default: "me",
    fallback: "envnoathost",
    readers: ["send"],
    meaning: "domain appended to envelope recipients without @",
    read: true,
  },
  {
    name: "concurrencylocal",
    kind: "number",
    default: "10",
    readers: ["send"],
    meaning: "most local deliveries at once (0 holds local delivery)",
    read: true,
  },
  {
    name: "concurrencyremote",
    kind: "number",
    default: "20",
    readers: ["send"],
    meaning: "most remote deliveries at once (0 holds remote delivery)",
    read: true,
  },
  {
    name: "queuelifetime",
    kind: "number",
    default: "604800",
    readers: ["send"],
    meaning: "seconds a message may stay queued before temporary failures bounce",
    read: true,
  },
  {
    name: "bouncefrom",
    kind: "line",
    default: "MAILER-DAEMON",
    readers: ["send"],
    meaning: "local part of the From: address of bounces",
    read: true,
  },
  {
    name: "bouncehost",
    kind: "line",
    default: "me",
    fallback: "bouncehost",
    readers: ["send"],
    meaning: "domain of the From: address of bounces",
    read: true,
  },
  {
    name: "doublebounceto",
    kind: "line",
    default: "postmaster",
    readers: ["send"],
    meaning: "local part of the recipient of double bounces (empty line: discard them)",
    read: true,
  },
  {
    name: "doublebouncehost",
    kind: "line",
    default: "me",
    fallback: "doublebouncehost",
    readers: ["send"],
    meaning: "domain of the recipient of double bounces",
    read: true,
  },
  {
    name: "bouncemaxbytes",
    kind: "number",
    default: "50000",
    readers: ["send"],
    meaning: "most bytes of the original message quoted in a bounce (aio patch)",
    read: true,
  },
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
    meaning: "envelope senders refused at MAIL FROM: addr or @domain",
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
  {
    name: "defaultdomain",
    kind: "line",
    default: "me",
    fallback: "defaultdomain",
    readers: ["inject"],
    meaning: "appended to host names without a dot in headers ($QMAILDEFAULTDOMAIN overrides)",
    read: true,
  },
  {
    name: "defaulthost",
    kind: "line",
    default: "me",
    fallback: "defaulthost",
    readers: ["inject"],
    meaning: "host for addresses without @ in headers ($QMAILDEFAULTHOST overrides)",
    read: true,
  },
  {
    name: "plusdomain",
    kind: "line",
    default: "me",
    fallback: "plusdomain",
    readers: ["inject"],
    meaning: "replaces a trailing + in host names ($QMAILPLUSDOMAIN overrides)",
    read: true,
  },
  {
    name: "idhost",
    kind: "line",
    default: "me",
    fallback: "idhost",
    readers: ["inject"],
    meaning: "host name in generated Message-IDs ($QMAILIDHOST overrides)",
    read: true,
  },
  {
    name: "helohost",
    kind: "line",
    default: "me",
    readers: ["remote"],
    meaning: "HELO/EHLO argument of remote delivery",
    read: false,
  },
  {
    name: "smtproutes",
    kind: "list",
    default: "none",
    readers: ["remote"],
    meaning: "domain:relay[:port] routes overriding MX lookups",
    read: false,
  },
  {
    name: "timeoutconnect",
    kind: "number",
    default: "60",
    readers: ["remote"],
    meaning: "seconds remote delivery waits for a connection",
    read: false,
  },
  {
    name: "timeoutremote",
    kind: "number",
    default: "1200",
    readers: ["remote"],
    meaning: "seconds remote delivery waits for each response",
    read: false,
  },
  {
    name: "qmqpservers",
    kind: "list",
    default: "none",
    readers: [],
    meaning: "QMQP servers for qmail-qmqpc (qmd has no QMQP client)",
    read: false,
  },
];

/** The table entry for a control file name, if qmd knows it. */
export function findControl(name: string): ControlSpec | undefined {
  return CONTROLS.find((spec) => spec.name === name);
}
