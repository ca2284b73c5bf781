/**
 * qmail-inject's control files (qmail-inject(8)): the names it completes
 * header addresses and Message-IDs with.
 *
 * Part of the controls table (config/controls.ts). Plain data, no I/O.
 */
import type { ControlSpec } from "./spec.ts";

export const INJECT_CONTROLS: readonly ControlSpec[] = [
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
];
