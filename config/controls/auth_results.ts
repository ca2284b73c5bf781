/**
 * The control files of incoming authentication results (RFC 8601): DKIM,
 * SPF, DMARC and ARC verified by smtpd for mail from clients that do not
 * relay, written as one Authentication-Results header
 * (appliance/scan/auth_results_scan.ts).
 *
 * Part of the controls table (config/controls.ts). Plain data, no I/O.
 */
import type { ControlSpec } from "./spec.ts";

export const AUTH_RESULTS_CONTROLS: readonly ControlSpec[] = [
  {
    name: "authresults",
    kind: "line",
    default: "1",
    readers: ["smtpd"],
    meaning:
      "qmd's: verify DKIM, SPF, DMARC and ARC of mail from clients that do not relay, add one Authentication-Results header and remove forged ones carrying our authservid; absent: on except for loopback clients, not 0: loopback clients too, 0: off",
    read: true,
  },
  {
    name: "authservid",
    kind: "line",
    default: "me",
    readers: ["smtpd"],
    meaning:
      "qmd's: the authserv-id of our Authentication-Results header (RFC 8601 §2.5); received headers with it are removed",
    read: true,
  },
  {
    name: "dmarcreject",
    kind: "line",
    default: "0",
    readers: ["smtpd"],
    meaning:
      "qmd's: not 0: refuse (550 5.7.1 at the end of DATA) a message that fails DMARC when its domain publishes p=reject; 0 only marks it in the header (p=quarantine is always a mark)",
    read: true,
  },
];
