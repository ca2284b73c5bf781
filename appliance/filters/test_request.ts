/**
 * FilterRequests for the checks' tests (test_*.ts: a helper for tests, not
 * part of the chain).
 */
import type { FilterPhase, FilterRequest } from "./filter.ts";

/** A request of an outside client (192.0.2.1, no TLS, no AUTH) at `phase`. */
export function filterRequest(
  phase: FilterPhase,
  more: Partial<FilterRequest> = {},
): FilterRequest {
  return {
    phase,
    remoteIp: "192.0.2.1",
    env: {},
    relaying: false,
    tls: false,
    recipients: [],
    now: 0,
    ...more,
  };
}

/** A request at RCPT for the recipient checks' tests. */
export function rcptRequest(recipient: string, more: Partial<FilterRequest> = {}): FilterRequest {
  return filterRequest("rcpt", {
    remoteIp: "192.0.2.7",
    sender: "someone@sender.test",
    recipient,
    now: 1_000_000_000_000,
    ...more,
  });
}
