/**
 * The clamd content scan of one message (docs/patches.md seeds 000 and 001):
 * the connection to clamd opens when DATA starts, every chunk of the body
 * goes to clamd as it arrives, and at the end of DATA clamd's answer becomes
 * the verdict (appliance/filters/clamd_verdict.ts). A refusal carries the
 * seed's `CLAMD:` log line for the session to write; a message let through
 * unscanned (clamd down, StreamMaxLength) is logged here.
 */
import type { ClamdSettings } from "../../config/clamd.ts";
import type { ContentScan, FilterRequest, Verdict } from "../filters/filter.ts";
import {
  clamdLogText,
  type ClamdOutcome,
  clamdVerdict,
  parseClamdReply,
} from "../filters/clamd_verdict.ts";
import { logEvent } from "../log.ts";
import { ClamdError, type ClamdStream, openClamdStream } from "./clamd_client.ts";

/** How a scan logs; logEvent's shape, so tests can listen. */
export type ScanLog = (
  event: string,
  text: string,
  fields: Record<string, string | number | boolean | null>,
) => void;

export function beginClamdScan(
  settings: ClamdSettings,
  request: FilterRequest,
  log: ScanLog = logEvent,
): ContentScan {
  let failure = "";
  const opening: Promise<ClamdStream | undefined> = openClamdStream(
    settings.target,
    settings.timeoutSeconds,
  ).catch((error) => {
    failure = reasonOf(error);
    return undefined;
  });
  let done = false;
  return {
    async write(chunk: Uint8Array): Promise<void> {
      const stream = await opening;
      if (!done) await stream?.send(chunk);
    },
    async finish(): Promise<Verdict> {
      const stream = await opening;
      done = true;
      let outcome: ClamdOutcome;
      if (stream === undefined) outcome = { kind: "failed", reason: failure };
      else {
        try {
          outcome = parseClamdReply(await stream.finish());
        } catch (error) {
          outcome = { kind: "failed", reason: reasonOf(error) };
        }
      }
      const verdict = clamdVerdict(outcome, settings.failReject);
      // A refusal's CLAMD: line is logged by the session (verdict.log); a pass
      // that is worth a line (not scanned, or scanned by nobody) is logged here.
      const text = verdict.kind === "pass" ? clamdLogText(outcome) : undefined;
      if (text !== undefined) {
        const prefix = request.sessionId === undefined ? "smtpd" : `smtpd ${request.sessionId}`;
        log("smtp_clamd", `${prefix}: ${text}`, {
          ...(request.sessionId === undefined ? {} : { session: request.sessionId }),
          remote: request.remoteIp,
          outcome: outcome.kind,
          ...(outcome.kind === "virus" ? { virus: outcome.name } : {}),
        });
      }
      return verdict;
    },
    async abort(): Promise<void> {
      done = true;
      (await opening)?.close();
    },
  };
}

function reasonOf(error: unknown): string {
  return error instanceof ClamdError ? error.message : `clamd: ${(error as Error).message}`;
}
