/**
 * The control files of modern mail security (issue 15): MTA-STS for the
 * domains qmd delivers to (RFC 8461) and for its own domains, the CA
 * certificates outgoing verified TLS trusts besides the system roots, DANE's
 * validating resolver (RFC 7672) and TLS-RPT reports (RFC 8460).
 *
 * Part of the controls table (config/controls.ts). Plain data, no I/O.
 */
import type { ControlSpec } from "./spec.ts";

export const MAIL_SECURITY_CONTROLS: readonly ControlSpec[] = [
  {
    name: "mtastsremote",
    kind: "line",
    default: "1",
    readers: ["remote"],
    meaning:
      "not 0: follow recipient domains' MTA-STS policies (enforce: only the policy's MX hosts, verified TLS, else defer)",
    read: true,
  },
  {
    name: "remoteca.pem",
    kind: "line",
    default: "none",
    readers: ["remote"],
    meaning:
      "CA certificates trusted besides the system roots when remote delivery verifies a certificate (MTA-STS)",
    read: true,
  },
  {
    name: "daneresolvers",
    kind: "list",
    default: "none",
    readers: ["remote"],
    meaning:
      "DNSSEC-validating resolvers (IP[:PORT]) whose AD bit is trusted: DANE (TLSA at _25._tcp.MX) on when set",
    read: true,
  },
  {
    name: "tlsrpt",
    kind: "line",
    default: "0",
    readers: ["remote"],
    meaning:
      "not 0: mail a daily TLS-RPT report (RFC 8460) to each policy domain whose _smtp._tls TXT asks for one (rua=mailto:)",
    read: true,
  },
  {
    name: "mtasts",
    kind: "list",
    default: "none",
    readers: ["admin"],
    meaning:
      "this host's own MTA-STS policy (mode:, max_age:, mx: lines), served at https://mta-sts.DOMAIN/.well-known/mta-sts.txt",
    read: true,
  },
];
