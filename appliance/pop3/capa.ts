/**
 * The CAPA reply (RFC 2449 §5) in docs/patches.md seed 000's order. USER, SASL and STLS only
 * in the AUTHORIZATION state, where they can be used (§5: the list may differ
 * by state).
 */
import type { MechanismName } from "../auth/mechanisms.ts";
import { REPLY_CAPA } from "./replies.ts";

/** What the AUTHORIZATION state offers on this connection now. */
export interface AuthorizationOffer {
  /** The AUTH mechanisms (the SASL line; none means no line). */
  mechanisms: MechanismName[];
  /** USER/PASS allowed. */
  user: boolean;
  /** STLS offered (a certificate exists, TLS not yet active). */
  stls: boolean;
}

/**
 * The reply lines, `.` included. Without `authorization` the list is the
 * TRANSACTION state's.
 */
export function formatCapa(implementation: string, authorization?: AuthorizationOffer): string[] {
  const lines: string[] = [];
  if (authorization !== undefined && authorization.mechanisms.length > 0) {
    lines.push(`SASL ${authorization.mechanisms.join(" ")}`);
  }
  lines.push("AUTH-RESP-CODE", "TOP");
  if (authorization?.user) lines.push("USER");
  lines.push("UIDL", "PIPELINING", "RESP-CODES");
  if (authorization?.stls) lines.push("STLS");
  lines.push(`IMPLEMENTATION ${implementation}`);
  return [REPLY_CAPA, ...lines, "."];
}
