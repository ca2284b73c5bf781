/**
 * A FilterRequest at RCPT for the recipient checks' tests (test_*.ts: a
 * helper for tests, not part of the chain).
 */
import type { FilterRequest } from "./filter.ts";

export function rcptRequest(recipient: string, more: Partial<FilterRequest> = {}): FilterRequest {
  return {
    phase: "rcpt",
    remoteIp: "192.0.2.7",
    env: {},
    relaying: false,
    tls: false,
    sender: "someone@sender.test",
    recipient,
    recipients: [],
    now: 1_000_000_000_000,
    ...more,
  };
}
