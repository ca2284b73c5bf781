/**
 * qmail-lspawn's report of one local delivery (docs/queue-format.md §5.2): its
 * fixed texts and the K/Z/D report it makes of qmail-local's exit code and
 * output.
 */
import { EXIT } from "../exit_codes.ts";
import type { DeliveryReport } from "../ipc.ts";

/** qmail-lspawn's report texts (§5.1, §5.2). */
export const MESSID_NONNUMERIC = "Internal error: messid has nonnumerics. (#5.3.5)";
export const ADDRESS_NEEDS_HOST = "Sorry, address must include host name. (#5.1.3)";

/** The most of qmail-local's output a report carries. */
export const REPORT_LIMIT = 3000;
const REPORT_TOO_LONG = "\nError report too long, sorry.\n";

/**
 * The report qmail-lspawn makes of qmail-local's exit code and output (§5.2
 * table): 0 → K, 100 → D, otherwise Z; text cut at its first NUL and at 3000
 * bytes.
 */
export function formatLocalReport(delivery: number, code: number, output: string): DeliveryReport {
  let text = output;
  const nul = text.indexOf("\0");
  if (nul >= 0) text = text.slice(0, nul);
  if (text.length > REPORT_LIMIT) text = text.slice(0, REPORT_LIMIT) + REPORT_TOO_LONG;
  const status = code === EXIT.ok ? "K" : code === EXIT.permanent ? "D" : "Z";
  return { delivery, status, text };
}
