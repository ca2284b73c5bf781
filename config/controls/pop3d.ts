/**
 * The POP3 server's control files (qmail-popup and qmail-pop3d, plus qmd's
 * own): its AUTH mechanisms, plain-text logins, timeout, logs and the
 * checkpassword users' homes it may open.
 *
 * Part of the controls table (config/controls.ts). Plain data, no I/O.
 */
import type { ControlSpec } from "./spec.ts";

export const POP3D_CONTROLS: readonly ControlSpec[] = [
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
    name: "pop3clientcert",
    kind: "line",
    default: "0",
    readers: ["pop3d"],
    meaning:
      "qmd's: not 0: POP3 logins only over TLS with a client certificate that clientca.pem and tlsclients accept (seed 003's stunnel verify)",
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
];
