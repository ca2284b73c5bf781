/**
 * qmail-send's control files (qmail-send(8), qmail-control(5)): this host's
 * names, the local and virtual domains, delivery concurrency, how long a
 * message may stay queued, and who bounces come from and go to.
 *
 * Part of the controls table (config/controls.ts). Plain data, no I/O.
 */
import type { ControlSpec } from "./spec.ts";

export const SEND_CONTROLS: readonly ControlSpec[] = [
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
    meaning: "most local deliveries at once, up to 509 (big-concurrency, seed 000); 0 holds them",
    read: true,
  },
  {
    name: "concurrencyremote",
    kind: "number",
    default: "20",
    readers: ["send"],
    meaning: "most remote deliveries at once, up to 509 (big-concurrency, seed 000); 0 holds them",
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
];
