/**
 * STARTTLS from the client side (RFC 3207) under the route's policy (seed
 * 001 tlsremote; a pinned host has control/tlshosts/<FQDN>.pem): whether to
 * ask for TLS, and the qmail-tls patch's Z records when a pinned host cannot
 * have it. A pinned host is never sent mail in plain text, nor is a host
 * whose domain's MTA-STS policy (RFC 8461 §5) or DANE records (RFC 7672 §2.2)
 * ask for verified TLS.
 */
import { formatRemoteHostSaid, type RemoteRecord } from "../send/remote_report.ts";
import type { TlsPolicy } from "./client_options.ts";

/** What follows EHLO/HELO. */
export type TlsAfterHello =
  /** Send STARTTLS. */
  | { kind: "starttls" }
  /** Go on without it: TLS is off, already active, or not offered to an opportunistic client. */
  | { kind: "continue" }
  /** A pinned host did not offer STARTTLS. */
  | { kind: "failed"; record: RemoteRecord };

/** After EHLO/HELO: STARTTLS when the policy asks for it and the server offered it. */
export function tlsAfterHello(
  policy: TlsPolicy,
  tlsActive: boolean,
  offered: boolean,
  ip: string,
): TlsAfterHello {
  if (tlsActive || policy.mode === "off") return { kind: "continue" };
  if (offered) return { kind: "starttls" };
  if (policy.mode === "required") {
    return {
      kind: "failed",
      record: {
        kind: "Z",
        text: `No TLS achieved while ${policy.pinFile} exists; connected to ${ip}.\n`,
      },
    };
  }
  if (policy.mode === "verified") {
    return {
      kind: "failed",
      record: {
        kind: "Z",
        text: `No TLS achieved while ${policy.requiredBy} requires it; connected to ${ip}.\n`,
      },
    };
  }
  return { kind: "continue" };
}

/**
 * STARTTLS was refused: undefined to go on in plain text (tlsremote), or for
 * a pinned host the Z record with what the server said.
 */
export function tlsRefusedRecord(
  policy: TlsPolicy,
  ip: string,
  lines: string[],
): RemoteRecord | undefined {
  if (policy.mode === "verified") {
    return {
      kind: "Z",
      text: `STARTTLS rejected while ${policy.requiredBy} requires TLS; connected to ${ip}.\n${
        formatRemoteHostSaid(lines)
      }`,
    };
  }
  if (policy.mode !== "required") return undefined;
  return {
    kind: "Z",
    text: `STARTTLS rejected while ${policy.pinFile} exists; connected to ${ip}.\n${
      formatRemoteHostSaid(lines)
    }`,
  };
}

/** The handshake or the pinned verification failed: a Z record, never plain text. */
export function tlsFailedRecord(
  policy: TlsPolicy,
  ip: string,
  kind: "handshake" | "verify",
  reason: string,
): RemoteRecord {
  const pin = policy.mode === "required"
    ? policy.pinFile
    : policy.mode === "verified"
    ? `${policy.requiredBy}'s rules`
    : "the server";
  const text = kind === "verify"
    ? `TLS unable to verify server with ${pin}: ${reason}; connected to ${ip}.\n`
    : `TLS connect failed: ${reason}; connected to ${ip}.\n`;
  return { kind: "Z", text };
}
