/**
 * What each delivery tells TLS-RPT (tls_report.ts): the policy an address
 * was held to (MTA-STS or DANE), and the session's outcome as RFC 8460 §4.3
 * names it: success, a certificate or validation failure seen by the TLS
 * upgrade (starttls.ts), STARTTLS not achieved, an MX the policy does not
 * name, a policy that could not be fetched, or TLSA records that could not
 * be validated.
 */
import { formatStsPolicy, type StsPolicy } from "../mta_sts/policy_text.ts";
import type { TargetResult } from "./attempt.ts";
import type { TlsaRecord } from "./dane.ts";
import type { Target } from "./mx_choice.ts";
import type { RemoteContext } from "./remote_context.ts";
import {
  classifyCertificateFailure,
  type ReportPolicy,
  type SessionOutcome,
  type TlsResultType,
} from "./tls_report.ts";

/** What an attempt carries for the report: the policy, and the outcome once known. */
export interface SessionReport {
  policy: ReportPolicy;
  /** Set by the TLS upgrade (or at reuse of a pooled connection). */
  outcome?: SessionOutcome;
  /** MTA-STS testing: the MX is not in the policy, so even a good session is a failure. */
  mismatch?: boolean;
}

/** §4.4 policy for an MTA-STS policy: its lines as served. */
export function stsReportPolicy(domain: string, policy: StsPolicy): ReportPolicy {
  return {
    domain,
    type: "sts",
    strings: formatStsPolicy(policy).trimEnd().split("\r\n"),
    mxHost: policy.mx,
  };
}

/** §4.4 policy for TLSA records: "usage selector matching hex" each. */
export function daneReportPolicy(domain: string, records: TlsaRecord[]): ReportPolicy {
  return {
    domain,
    type: "tlsa",
    strings: records.map((record) =>
      `${record.usage} ${record.selector} ${record.matchingType} ${
        Array.from(record.data, (byte) => byte.toString(16).padStart(2, "0")).join("")
      }`
    ),
  };
}

function failure(
  resultType: TlsResultType,
  target: Target,
  detail?: string,
): SessionOutcome {
  return {
    ok: false,
    resultType,
    mxHost: target.host,
    ip: target.ip,
    ...(detail === undefined ? {} : { detail }),
  };
}

/** The upgrade's outcome: verified (or unverified with its reason), or failed with its reason. */
export function noteTlsOutcome(
  report: SessionReport | undefined,
  target: Target,
  upgrade: { ok: true; verifyError?: string } | { ok: false; reason: string; verify: boolean },
): void {
  if (report === undefined) return;
  if (report.mismatch) {
    report.outcome = failure("validation-failure", target, "MX not in the policy");
  } else if (upgrade.ok) {
    report.outcome = upgrade.verifyError === undefined
      ? { ok: true }
      : failure(classifyCertificateFailure(upgrade.verifyError), target, upgrade.verifyError);
  } else {
    const type = upgrade.verify ? classifyCertificateFailure(upgrade.reason) : "validation-failure";
    report.outcome = failure(type, target, upgrade.reason);
  }
}

/** After an attempt: counts the session, unless no session was made (not connected, bad greeting). */
export function recordTlsSession(
  report: SessionReport | undefined,
  target: Target,
  result: TargetResult,
  ctx: RemoteContext,
): Promise<void> {
  const book = ctx.security?.tlsReports;
  if (book === undefined || report === undefined) return Promise.resolve();
  if (result === "next" || result.nextMx) return Promise.resolve();
  const outcome = report.outcome ?? failure("starttls-not-supported", target);
  return book.record(report.policy, outcome, ctx.now());
}

/** An address not tried: the MX is not in the enforced policy, or its TLSA records are bogus. */
export function recordSkipped(
  policy: ReportPolicy,
  resultType: TlsResultType,
  target: Target,
  reason: string,
  ctx: RemoteContext,
): Promise<void> {
  return ctx.security?.tlsReports.record(policy, failure(resultType, target, reason), ctx.now()) ??
    Promise.resolve();
}

/** A policy announced in DNS that could not be fetched (§4.3.2.1). */
export function recordFetchFailure(
  domain: string,
  reason: string,
  ctx: RemoteContext,
): Promise<void> {
  return ctx.security?.tlsReports.record(
    { domain, type: "no-policy-found", strings: [] },
    { ok: false, resultType: "sts-policy-fetch-error", detail: reason },
    ctx.now(),
  ) ?? Promise.resolve();
}
