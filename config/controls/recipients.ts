/**
 * The recipient checks' control files (docs/patches.md: realrcptto from
 * seeds 000 and 003, recipients/recipientchk from seed 001, rcptcheck from
 * seeds 000 and 001, and qmd's built-in greylisting). Read by
 * config/recipient_checks.ts.
 *
 * Part of the controls table (config/controls.ts). Plain data, no I/O.
 */
import type { ControlSpec } from "./spec.ts";

export const RECIPIENT_CONTROLS: readonly ControlSpec[] = [
  // Seed 000 builds realrcptto in, always on; qmd lets the operator turn it off.
  {
    name: "realrcptto",
    kind: "line",
    default: "1",
    readers: ["smtpd"],
    meaning:
      "0: accept RCPT for local addresses nobody receives (bounce later); 1: refuse them with 550 (NOREALRCPTTO turns it off per client)",
    read: true,
  },
  {
    name: "recipients",
    kind: "list",
    default: "none",
    readers: ["smtpd"],
    meaning:
      "fastforward-compatible cdbs (paths relative to the home) holding the addresses accepted at RCPT, !@domain for a whole domain (seed 001; qmd recipients builds users/recipients.cdb)",
    read: true,
  },
  {
    name: "recipientchk",
    kind: "line",
    default: "none",
    readers: ["smtpd"],
    meaning:
      "0: no recipient check; 1: local delivery's accounts; 2: the cdbs in recipients (absent: 2 when recipients lists any; RECIPIENTCHK overrides)",
    read: true,
  },
  {
    name: "recipientchkdelay",
    kind: "number",
    default: "0",
    readers: ["smtpd"],
    meaning:
      "seconds before refusing a recipient recipientchk did not find (RECIPIENTCHKDELAY overrides)",
    read: true,
  },
  {
    name: "rcptcheck",
    kind: "line",
    default: "none",
    readers: ["smtpd"],
    meaning:
      "program run for each RCPT with SENDER and RECIPIENT; its exit code picks the reply (seeds 000 and 001; RCPTCHECK overrides)",
    read: true,
  },
  {
    name: "timeoutrcptcheck",
    kind: "number",
    default: "60",
    readers: ["smtpd"],
    meaning: "qmd's: seconds the rcptcheck program may run; then it is killed (421, as 120)",
    read: true,
  },
  // Seed 000: "control/greylisting doesn't exist"; qmd's names, not that one.
  {
    name: "greylist",
    kind: "line",
    default: "0",
    readers: ["smtpd"],
    meaning:
      "qmd's: 1 greylists (client /24, sender, recipient) at RCPT for clients that do not relay (NOGREYLIST turns it off per client)",
    read: true,
  },
  {
    name: "greylistdelay",
    kind: "number",
    default: "300",
    readers: ["smtpd"],
    meaning: "qmd's: seconds from a triplet's first try until a retry is accepted",
    read: true,
  },
  {
    name: "greylistlifetime",
    kind: "number",
    default: "3110400",
    readers: ["smtpd"],
    meaning: "qmd's: seconds a triplet is remembered after it was last seen (36 days)",
    read: true,
  },
];
