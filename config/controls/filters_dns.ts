/**
 * The control files of the DNS-based checks (appliance/filters/: rbl, spf,
 * mfcheck, mxblacklist, helodnschk, antispoofing), from docs/patches.md seeds
 * 000, 001 and 004, and qmd's files for rblsmtpd's options (the seeds give
 * them on rblsmtpd's command line in a run file).
 *
 * Part of the controls table (config/controls.ts). Plain data, no I/O.
 */
import type { ControlSpec } from "./spec.ts";

export const FILTER_DNS_CONTROLS: readonly ControlSpec[] = [
  {
    name: "rblsmtpd",
    kind: "lines",
    default: "none",
    readers: ["smtpd"],
    meaning:
      "qmd's: rblsmtpd's options for the port-25 listener as in a run file (-r zone[:text], -a zone, -t, -b, -c/-C, -e); absent: no DNSBL",
    read: true,
  },
  {
    name: "rblsmtpd.submission",
    kind: "lines",
    default: "none",
    readers: ["smtpd"],
    meaning: "qmd's: rblsmtpd's options for the submission listener; absent: no DNSBL",
    read: true,
  },
  {
    name: "rblsmtpd.smtps",
    kind: "lines",
    default: "none",
    readers: ["smtpd"],
    meaning: "qmd's: rblsmtpd's options for the SMTPS listener; absent: no DNSBL",
    read: true,
  },
  {
    name: "spfbehavior",
    kind: "number",
    default: "0",
    readers: ["smtpd"],
    meaning:
      "SPF: 0 off, 1 Received-SPF only, 2 also 451 on DNS trouble, 3 also 550 on fail (seed 004; SPFBEHAVIOR overrides)",
    read: true,
  },
  {
    name: "mfcheck",
    kind: "number",
    default: "0",
    readers: ["smtpd"],
    meaning:
      "sender domain check: 0 off, 1 MX or A must exist, 2 also an SMTP callback to its MX (seeds 000, 001; MFCHECK overrides)",
    read: true,
  },
  {
    name: "timeoutmfcheck",
    kind: "number",
    default: "60",
    readers: ["smtpd"],
    meaning: "seconds the mfcheck 2 callback may take (seed 001)",
    read: true,
  },
  {
    name: "mxblacklist",
    kind: "list",
    default: "none",
    readers: ["smtpd"],
    meaning:
      "addresses never valid for a sender's MX (e.g. 127.0.0.1): with mfcheck 2, 451 when only these are left (seed 000)",
    read: true,
  },
  {
    name: "helodnschkext",
    kind: "line",
    default: "0",
    readers: ["smtpd"],
    meaning:
      "if set, the HELO/EHLO host must resolve, for clients without RELAYCLIENT (seed 001; HELODNSCHKEXT overrides)",
    read: true,
  },
  {
    name: "helodnschkint",
    kind: "line",
    default: "0",
    readers: ["smtpd"],
    meaning:
      "if set, the HELO/EHLO host must resolve, for RELAYCLIENT clients (seed 001; HELODNSCHKINT overrides)",
    read: true,
  },
  {
    name: "antispoofing",
    kind: "list",
    default: "none",
    readers: ["smtpd"],
    meaning:
      "address-or-domain: networks; such senders only from those networks (seed 001; NOANTISPOOFING turns it off)",
    read: true,
  },
];
