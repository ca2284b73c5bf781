/**
 * What an attempt on one address (smtp_attempt.ts, qmtp_attempt.ts) is
 * given and gives back, and the local bind both make (outgoingip, senderip,
 * bindroutes; config/remote.ts's findLocalBind).
 */
import type { LocalBind } from "../../config/remote.ts";
import type { DeliveryJob } from "../ipc.ts";
import type { RemoteRecord } from "../send/remote_report.ts";
import type { WireFacts } from "./message_measure.ts";

/** The message of one delivery, open for the attempts. */
export interface OutgoingMessage {
  job: DeliveryJob;
  /** The envelope sender as sent (BATV-signed when configured). */
  sender: string;
  /** The recipients of this run: the job's one, or `qmd remote`'s arguments (at least one). */
  recipients: string[];
  /** The mess/ file, or it with DKIM-Signature fields in front (dkim_sign.ts). */
  file: Pick<Deno.FsFile, "read" | "seek">;
  /** The size of what file reads (QMTP sends it as it is). */
  size: number;
  /** SIZE= and BODY=8BITMIME for SMTP (message_measure.ts); undefined = not measured. */
  wire?: WireFacts;
}

/**
 * One host's result: "next" = not connected; nextMx = greeting 4xx/5xx (docs/patches.md seed 002).
 */
export type TargetResult = "next" | { records: RemoteRecord[]; nextMx: boolean };

/** The local address to connect from, or undefined for the kernel's choice. */
export function bindAddress(bind: LocalBind): string | undefined {
  return bind.kind === "bind" && bind.ip !== "0.0.0.0" ? bind.ip : undefined;
}

/** The record when the local address could not be bound (a temporary failure). */
export function bindFailed(bind: LocalBind): RemoteRecord {
  return { kind: "Z", text: `Unable to bind to ${bind.kind === "bind" ? bind.ip : ""}.\n` };
}
