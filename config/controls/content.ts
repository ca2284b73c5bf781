/**
 * The content checks' control files and the queue writer's additions
 * (docs/patches.md seeds 000, 001 and 002): clamd virus scanning, executable
 * signatures, bigbrother copies, extraqueue recipients and the
 * X-Originating-IP header.
 *
 * Part of the controls table (config/controls.ts). Plain data, no I/O.
 */
import type { ControlSpec } from "./spec.ts";

export const CONTENT_CONTROLS: readonly ControlSpec[] = [
  {
    name: "clamd",
    kind: "line",
    default: "none",
    readers: ["smtpd"],
    meaning:
      "ip:port or the absolute path of clamd's socket: every DATA stream is scanned (NOCLAMD turns it off)",
    read: true,
  },
  {
    name: "timeoutclamd",
    kind: "number",
    default: "60",
    readers: ["smtpd"],
    meaning: "seconds to wait for clamd: the connection, each chunk and the answer",
    read: true,
  },
  {
    name: "clamdfailreject",
    kind: "line",
    default: "0",
    readers: ["smtpd"],
    meaning:
      "not 0: refuse temporarily (451) when clamd is down or times out; 0 lets the message through (CLAMDFAILREJECT overrides)",
    read: true,
  },
  {
    name: "signatures",
    kind: "list",
    default: "none",
    readers: ["smtpd"],
    meaning:
      "base64 prefixes of MIME parts' first body line refused as executable content (EXECUTABLEOK turns it off)",
    read: true,
  },
  {
    name: "bigbrother",
    kind: "list",
    default: "none",
    readers: ["smtpd", "inject"],
    meaning: "watched:copy lines: mail from or to watched is also queued for copy",
    read: true,
  },
  {
    name: "extraqueue",
    kind: "list",
    default: "none",
    readers: ["smtpd", "inject"],
    meaning: "addresses added to the recipients of every message the queue takes",
    read: true,
  },
  {
    name: "originipfield",
    kind: "line",
    default: "0",
    readers: ["smtpd", "inject"],
    meaning:
      "not 0: relayed mail gets an X-Originating-IP header with the client's address (ORIGINIPFIELD overrides)",
    read: true,
  },
];
