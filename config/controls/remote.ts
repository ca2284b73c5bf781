/**
 * qmail-remote's control files (qmail-remote(8) and the seeds (docs/patches.md)' patches):
 * routes and relays, timeouts, local addresses, TLS and AUTH to other hosts,
 * BATV signing, name servers and the session log; then the one file qmail
 * reads that qmd does not (qmqpservers).
 *
 * Part of the controls table (config/controls.ts). Plain data, no I/O.
 */
import type { ControlSpec } from "./spec.ts";

export const REMOTE_CONTROLS: readonly ControlSpec[] = [
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
    name: "qmtpc",
    kind: "line",
    default: "0",
    readers: ["remote"],
    meaning:
      "qmd's: not 0: mail sent by MX tries QMTP (port 209) on each address first, SMTP when 209 cannot be connected to (seed 000 qmtpc)",
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
    name: "dkim/<DOMAIN>/*.key",
    kind: "line",
    default: "none",
    readers: ["remote"],
    meaning:
      "SELECTOR.key: PEM private key (RSA-2048 or Ed25519) that DKIM-signs outgoing mail from DOMAIN (qmd dkim add)",
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
    meaning:
      "OpenSSL cipher list for outgoing TLS 1.2; refused unless it allows every suite qmd offers",
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
  // qmail-qmqpc's, not qmail-remote's: listed so showctl names it as a file qmd does not read.
  {
    name: "qmqpservers",
    kind: "list",
    default: "none",
    readers: [],
    meaning: "QMQP servers for qmail-qmqpc (qmd has no QMQP client)",
    read: false,
  },
];
