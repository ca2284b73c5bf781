/**
 * Logins and TLS at the front door: the SMTP AUTH mechanisms offered and
 * when, the failed-login limits SMTP and POP3 share, STARTTLS and the
 * server's certificates, and the checkpassword program the auth isolate runs.
 *
 * Part of the controls table (config/controls.ts). Plain data, no I/O.
 */
import type { ControlSpec } from "./spec.ts";

export const AUTH_TLS_CONTROLS: readonly ControlSpec[] = [
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
    name: "acme",
    kind: "list",
    default: "none",
    readers: ["acme"],
    meaning:
      "qmd's: get servercert.pem from an ACME CA and renew it; lines directory URL, contact mailto:..., name HOST (default me), http IP:PORT (default 0.0.0.0:80), ca FILE, renew DAYS (default 30)",
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
    meaning:
      "OpenSSL cipher list for TLS 1.2; refused unless it allows every suite qmd's TLS offers",
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
];
