/**
 * What the SMTP client session (client.ts) hands its driver after each reply:
 * lines to write, whether to start TLS or stream the body, and, once the
 * message is done with, its outcome and qmail-remote's records (§5.7/§5.8).
 */
import type { RemoteRecord } from "../send/remote_report.ts";

export interface ClientResult {
  /**
   * delivered: K. failed: the records end in Z or D. next-mx: the greeting
   * was 4xx/5xx, try the next address (docs/patches.md seed 002; the records hold the Z text
   * to report when none is left). stale: a reused connection failed before
   * any MAIL reply; nothing was attempted.
   */
  outcome: "delivered" | "failed" | "next-mx" | "stale";
  /** r/h/s per recipient (may be fewer), then one K/Z/D. */
  records: RemoteRecord[];
  /** The connection is idle and clean: quit() or nextMessage() may follow. */
  reusable: boolean;
}

export interface ClientStep {
  /** Command lines to write now, in order, each followed by CRLF. */
  send: string[];
  /** Some line in `send` carries credentials: never log it as is. */
  sensitive: boolean;
  /** Upgrade the connection to TLS now, then call tlsStarted() or tlsFailed(). */
  startTls: boolean;
  /** Stream the message body now, then call bodySent() or bodyFailed(). */
  streamBody: boolean;
  /** Set when the session has finished with this message. */
  done?: ClientResult;
}

/** A step; `extra` sets what differs from nothing to do but write `send`. */
export function clientStep(send: string[] = [], extra: Partial<ClientStep> = {}): ClientStep {
  return { send, sensitive: false, startTls: false, streamBody: false, ...extra };
}
