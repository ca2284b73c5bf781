/**
 * The content checks (clamd, executable signatures, authentication results)
 * in order: each reads its control files once per reload (plain data) and
 * begins a scan of one message for one client, or none when it is off for
 * that client (NOCLAMD, EXECUTABLEOK, a relay client for authentication results). The connection driver feeds every scan the message's bytes
 * as DATA streams and asks each for its verdict before the message is
 * committed to the queue (filters/filter.ts ContentScan).
 */
import type { ContentScan, FilterRequest, ScanContext } from "../filters/filter.ts";
import { clamdSettings, loadClamdControls } from "../../config/clamd.ts";
import { loadAuthResultsControls } from "../../config/auth_results.ts";
import { beginAuthResultsScan } from "../scan/auth_results_scan.ts";
import { loadSignatureControls, signatureSettings } from "../../config/signatures.ts";
import { beginClamdScan } from "../scan/clamd_scan.ts";
import { signatureScan } from "../filters/signatures.ts";

export interface ContentModule<C = unknown> {
  readonly name: string;
  /** Reads this check's control files from the home (once per reload). */
  load(home: string): C;
  /**
   * A scan of one message for this client, or undefined when the check is
   * off for it; `context` is absent in dry runs (`qmd rules test`).
   */
  begin(controls: C, request: FilterRequest, context?: ScanContext): ContentScan | undefined;
}

/** Registers a module with its types checked, stored untyped in the table. */
export function contentModule<C>(module: ContentModule<C>): ContentModule {
  return module as unknown as ContentModule;
}

export const CONTENT_MODULES: readonly ContentModule[] = [
  // control/clamd, timeoutclamd, clamdfailreject; NOCLAMD, CLAMDFAILREJECT (seeds 000, 001).
  contentModule({
    name: "clamd",
    load: loadClamdControls,
    begin(controls, request) {
      const settings = clamdSettings(controls, request.env);
      return settings === undefined ? undefined : beginClamdScan(settings, request);
    },
  }),
  // control/signatures; EXECUTABLEOK (seed 002).
  contentModule({
    name: "signatures",
    load: loadSignatureControls,
    begin(controls, request) {
      const settings = signatureSettings(controls, request.env);
      return settings === undefined ? undefined : signatureScan(settings);
    },
  }),
  // control/authresults, authservid, dmarcreject: DKIM, SPF, DMARC and ARC verified as
  // DATA streams, one Authentication-Results header (RFC 8601; scan/auth_results_scan.ts).
  contentModule({
    name: "authres",
    load: loadAuthResultsControls,
    begin: (controls, request, context) => beginAuthResultsScan(controls, request, context),
  }),
];

/** Every module's controls, in CONTENT_MODULES order. */
export type ContentControls = readonly unknown[];

export function loadContentControls(
  home: string,
  modules: readonly ContentModule[] = CONTENT_MODULES,
): ContentControls {
  return modules.map((module) => module.load(home));
}

/** The scans of one message, in order. */
export function beginScans(
  controls: ContentControls,
  request: FilterRequest,
  modules: readonly ContentModule[] = CONTENT_MODULES,
): ContentScan[] {
  const scans: ContentScan[] = [];
  modules.forEach((module, i) => {
    const scan = module.begin(controls[i], request);
    if (scan !== undefined) scans.push(scan);
  });
  return scans;
}
