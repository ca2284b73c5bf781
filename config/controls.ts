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
export type ControlReader = "send" | "smtpd" | "pop3d" | "auth" | "local" | "remote" | "inject";

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
  // aio (seed 001): 100, RFC 5321 §4.5.3.1.8's minimum.
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
  // qmail-md's default (seed 000 md20): addresses up to 899 bytes.
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
  {
    name: "auth/smtp",
    kind: "number",
    default: "60",
    readers: ["smtpd"],
    meaning:
      "AUTH mechanisms before TLS: LOGIN 1, PLAIN 2, CRAM-MD5 4, CRAM-SHA1 8, CRAM-RIPEMD 16, DIGEST-MD5 32",
    read: true,
  },
  {
    name: "auth/smtps",
    kind: "number",
    default: "63",
    readers: ["smtpd"],
    meaning: "AUTH mechanisms once TLS is active (STARTTLS or SMTPS), same bits",
    read: true,
  },
  {
    name: "auth/delay",
    kind: "number",
    default: "0",
    readers: ["smtpd"],
    meaning: "seconds to pause after a failed AUTH (seed 000)",
    read: true,
  },
  {
    name: "auth/oldauth",
    kind: "number",
    default: "0",
    readers: ["smtpd"],
    meaning: "more than 0: also advertise AUTH=LOGIN for old Microsoft clients",
    read: true,
  },
  {
    name: "authfaildelay",
    kind: "number",
    default: "0",
    readers: ["smtpd"],
    meaning:
      "seconds to pause after a failed AUTH (AUTHFAILDELAY overrides); unset: 1 s per recent failure, at most 5 s",
    read: true,
  },
  {
    name: "authfaillimit",
    kind: "number",
    default: "10",
    readers: ["smtpd", "pop3d"],
    meaning:
      "qmd's: failed logins (SMTP AUTH and POP3) from one IP after which it is blocked for authfaillock seconds; 0 = no limit",
    read: true,
  },
  {
    name: "authfailuserlimit",
    kind: "number",
    default: "5",
    readers: ["smtpd", "pop3d"],
    meaning:
      "qmd's: failed logins for one user name from one IP after which that name is blocked from that IP; 0 = no limit",
    read: true,
  },
  {
    name: "authfaillock",
    kind: "number",
    default: "3600",
    readers: ["smtpd", "pop3d"],
    meaning:
      "qmd's: seconds a failed-login block lasts, and how long a failure counts (qmd unblock ends one early)",
    read: true,
  },
  {
    name: "authfaillocktrusted",
    kind: "line",
    default: "0",
    readers: ["smtpd", "pop3d"],
    meaning:
      "qmd's: not 0 counts and blocks failed logins from loopback and RELAYCLIENT clients too (default: never blocked)",
    read: true,
  },
  {
    name: "secauthext",
    kind: "line",
    default: "0",
    readers: ["smtpd"],
    meaning: "not 0: AUTH only after TLS for clients without RELAYCLIENT (SECAUTHEXT overrides)",
    read: true,
  },
  {
    name: "secauthint",
    kind: "line",
    default: "0",
    readers: ["smtpd"],
    meaning: "not 0: AUTH only after TLS for RELAYCLIENT clients (SECAUTHINT overrides)",
    read: true,
  },
  {
    name: "tlssmtpext",
    kind: "line",
    default: "1",
    readers: ["smtpd"],
    meaning:
      "0: no STARTTLS for clients without RELAYCLIENT (TLSSMTPEXT overrides; qmd offers it by default)",
    read: true,
  },
  {
    name: "tlssmtpint",
    kind: "line",
    default: "1",
    readers: ["smtpd"],
    meaning:
      "0: no STARTTLS for RELAYCLIENT clients (TLSSMTPINT overrides; qmd offers it by default)",
    read: true,
  },
  {
    name: "servercert.pem",
    kind: "line",
    default: "none",
    readers: ["smtpd"],
    meaning:
      "private key and certificate chain in one PEM file; STARTTLS and SMTPS need it (qmd init makes a self-signed one)",
    read: true,
  },
  {
    name: "clientca.pem",
    kind: "line",
    default: "none",
    readers: ["smtpd"],
    meaning: "CAs for client certificates; present = ask clients for one",
    read: true,
  },
  {
    name: "clientcrl.pem",
    kind: "line",
    default: "none",
    readers: ["smtpd"],
    meaning: "revocation lists for the CAs in clientca.pem",
    read: true,
  },
  {
    name: "tlsserverciphers",
    kind: "line",
    default: "none",
    readers: ["smtpd"],
    meaning: "OpenSSL cipher string for TLS 1.2 sessions",
    read: true,
  },
  {
    name: "tlsclients",
    kind: "list",
    default: "none",
    readers: ["smtpd"],
    meaning: "e-mail addresses of client certificates that may relay",
    read: true,
  },
  {
    name: "checkpassword",
    kind: "line",
    default: "none",
    readers: ["auth"],
    meaning:
      "qmd's: a checkpassword command line (fd 3 interface) for users not in accounts.sqlite, e.g. /bin/checkpassword /bin/true",
    read: true,
  },
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
  // tcpserver's per-IP limit in seed 004's run file.
  {
    name: "concurrencyperip",
    kind: "number",
    default: "20",
    readers: ["smtpd", "pop3d"],
    meaning:
      "qmd's: SMTP sessions at once from one IP; 421 past it (MAXCONNIP in tcp.smtp overrides)",
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
    name: "auth/pop3",
    kind: "number",
    default: "60",
    readers: ["pop3d"],
    meaning: "POP3 AUTH mechanisms before TLS (same bits as auth/smtp)",
    read: true,
  },
  {
    name: "auth/spop3",
    kind: "number",
    default: "63",
    readers: ["pop3d"],
    meaning: "POP3 AUTH mechanisms with TLS (STLS or POP3S)",
    read: true,
  },
  {
    name: "pop3plaintext",
    kind: "line",
    default: "0",
    readers: ["pop3d"],
    meaning:
      "qmd's: not 0 lets USER/PASS and AUTH PLAIN/LOGIN run without TLS for every client (default: only over TLS or from loopback)",
    read: true,
  },
  {
    name: "timeoutpop3d",
    kind: "number",
    default: "1200",
    readers: ["pop3d"],
    meaning: "qmd's: seconds pop3d waits for each read or write (qmail-popup's 1200)",
    read: true,
  },
  {
    name: "log/pop3_in",
    kind: "line",
    default: "0",
    readers: ["pop3d"],
    meaning: "1: log every POP3 command (passwords and AUTH data hidden)",
    read: true,
  },
  {
    name: "log/pop3_out",
    kind: "line",
    default: "0",
    readers: ["pop3d"],
    meaning: "1: log every POP3 reply line (not message bodies)",
    read: true,
  },
  {
    name: "pop3homes",
    kind: "list",
    default: "none",
    readers: ["pop3d"],
    meaning:
      "qmd's: directories holding checkpassword users' homes (e.g. /home), which pop3d may read and write",
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
    read: true,
  },
  {
    name: "smtproutes",
    kind: "list",
    default: "none",
    readers: ["remote"],
    meaning: "domain:relay[:port] routes overriding MX lookups",
    read: true,
  },
  {
    name: "timeoutconnect",
    kind: "number",
    default: "60",
    readers: ["remote"],
    meaning: "seconds remote delivery waits for a connection",
    read: true,
  },
  {
    name: "timeoutremote",
    kind: "number",
    default: "1200",
    readers: ["remote"],
    meaning: "seconds remote delivery waits for each response",
    read: true,
  },
  {
    name: "smtprelays",
    kind: "list",
    default: "none",
    readers: ["remote"],
    meaning:
      "key:relay[:port]|user|pass|mech: relays that need AUTH, read before smtproutes; key may be user@domain of the sender (seed 000)",
    read: true,
  },
  {
    name: "qmtproutes",
    kind: "list",
    default: "none",
    readers: ["remote"],
    meaning: "domain:relay[:port]: deliver by QMTP (port 209) instead of SMTP (seed 000)",
    read: true,
  },
  {
    name: "outgoingip",
    kind: "line",
    default: "none",
    readers: ["remote"],
    meaning: "local address for outgoing connections (0.0.0.0 = the system's choice)",
    read: true,
  },
  {
    name: "senderip",
    kind: "list",
    default: "none",
    readers: ["remote"],
    meaning:
      "domain:ip: local address for mail from that sender domain; beats bindroutes and outgoingip",
    read: true,
  },
  {
    name: "bindroutes",
    kind: "list",
    default: "none",
    readers: ["remote"],
    meaning:
      "remote-ip-prefix:ip: local address by destination; an empty ip means never connect there",
    read: true,
  },
  {
    name: "moreipme",
    kind: "list",
    default: "none",
    readers: ["remote"],
    meaning: "more addresses that are this host (a.b.c.d[/mask])",
    read: true,
  },
  {
    name: "notipme",
    kind: "list",
    default: "none",
    readers: ["remote"],
    meaning: "addresses that are not this host; the longest mask wins, ties go to notipme",
    read: true,
  },
  {
    name: "tlsremote",
    kind: "line",
    default: "0",
    readers: ["remote"],
    meaning: "not 0: STARTTLS to remote hosts that offer it",
    read: true,
  },
  {
    name: "tlshosts/<FQDN>.pem",
    kind: "line",
    default: "none",
    readers: ["remote"],
    meaning:
      "CA certificates pinning that MX or relay: TLS is required and verified, a failure defers",
    read: true,
  },
  {
    name: "clientcert.pem",
    kind: "line",
    default: "none",
    readers: ["remote"],
    meaning: "client certificate and key for TLS to remote hosts",
    read: true,
  },
  {
    name: "tlsclientciphers",
    kind: "line",
    default: "none",
    readers: ["remote"],
    meaning: "OpenSSL cipher string for outgoing TLS (Deno's TLS ignores it)",
    read: true,
  },
  {
    name: "secauthremote",
    kind: "line",
    default: "0",
    readers: ["remote"],
    meaning: "not 0: AUTH to smart hosts only after TLS",
    read: true,
  },
  {
    name: "straightfallback",
    kind: "line",
    default: "0",
    readers: ["remote"],
    meaning:
      "not 0: a temporary failure on a specific route is retried at once through the default smtproutes relay (it always takes over when a specific route is unreachable)",
    read: true,
  },
  {
    name: "extraremote",
    kind: "line",
    default: "0",
    readers: ["remote"],
    meaning:
      "not 0: run HOME/bin/qmail-remote.extra HOST SENDER RECIPIENT in qmail-remote's place (it should end by running qmd remote)",
    read: true,
  },
  {
    name: "signkey",
    kind: "line",
    default: "none",
    readers: ["remote", "smtpd"],
    meaning:
      "BATV key: sign envelope senders of outgoing mail (prvs=); smtpd takes bounces only to signed addresses",
    read: true,
  },
  {
    name: "signkeystale",
    kind: "number",
    default: "7",
    readers: ["remote", "smtpd"],
    meaning: "days a BATV signature stays valid",
    read: true,
  },
  {
    name: "nosignhosts",
    kind: "list",
    default: "none",
    readers: ["remote", "smtpd"],
    meaning: "recipient domains that get unsigned senders (BATV)",
    read: true,
  },
  {
    name: "nosignmydoms",
    kind: "list",
    default: "none",
    readers: ["remote", "smtpd"],
    meaning: "sender domains never BATV-signed",
    read: true,
  },
  {
    name: "dnsservers",
    kind: "list",
    default: "none",
    readers: ["remote"],
    meaning: "qmd's: name servers as IP, IP:PORT or [IPv6]:PORT; default /etc/resolv.conf",
    read: true,
  },
  {
    name: "log/remote_fd",
    kind: "line",
    default: "0",
    readers: ["remote"],
    meaning: "not 0: log every remote SMTP session (commands and replies, never DATA or AUTH data)",
    read: true,
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

/** The entry for a name the code reads; a name missing from the table is a programming error. */
function knownControl(name: string): ControlSpec {
  const spec = findControl(name);
  if (spec === undefined) throw new Error(`control/${name} is not in config/controls.ts`);
  return spec;
}

/** A number control's default (maxcmdlen: 4096), the one place the loaders take it from. */
export function numberDefault(name: string): number {
  const spec = knownControl(name);
  if (spec.kind !== "number" || !/^\d+$/.test(spec.default)) {
    throw new Error(`control/${name} has no numeric default in config/controls.ts`);
  }
  return Number(spec.default);
}

/** A set-or-not control's default: "0" is off, "1" is on. */
export function flagDefault(name: string): boolean {
  const spec = knownControl(name);
  if (spec.kind !== "line" || (spec.default !== "0" && spec.default !== "1")) {
    throw new Error(`control/${name} has no 0 or 1 default in config/controls.ts`);
  }
  return spec.default === "1";
}

/** A line control's literal default (bouncefrom: MAILER-DAEMON), neither "none" nor "me". */
export function lineDefault(name: string): string {
  const spec = knownControl(name);
  if (spec.kind !== "line" || spec.default === "none" || spec.default === "me") {
    throw new Error(`control/${name} has no literal default in config/controls.ts`);
  }
  return spec.default;
}

/** For a control whose default is "me": qmail's literal when control/me is absent too. */
export function meFallback(name: string): string {
  const spec = knownControl(name);
  if (spec.default !== "me" || spec.fallback === undefined) {
    throw new Error(`control/${name} has no fallback for a missing me in config/controls.ts`);
  }
  return spec.fallback;
}
