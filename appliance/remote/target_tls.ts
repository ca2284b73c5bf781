/**
 * How TLS is asked of one MX address, decided before connecting: a tlshosts
 * pin (docs/patches.md seed 001) wins over everything; then DANE (RFC 7672,
 * dane.ts) when the domain's MX answer and the host's TLSA records are
 * DNSSEC-validated: TLS is mandatory and the certificate must match a usable
 * record, else the message is deferred (RFC 8461 §2: DANE wins over
 * MTA-STS); then the recipient domain's MTA-STS policy (RFC 8461 §4, §5):
 * in enforce mode only MX hosts the policy names are tried, and each must
 * give TLS with a certificate that verifies and names the MX host, else the
 * message is deferred; in testing mode the message goes as usual (STARTTLS
 * when offered) and what would have failed is logged; without any of them,
 * tlsremote's opportunistic STARTTLS. Deliveries through a smarthost route
 * (smtproutes/smtprelays relay) are not to the domain's MX and follow no
 * policy.
 */
import type { Route } from "../../config/remote.ts";
import type { TlsPolicy } from "../smtp/client_options.ts";
import { logEvent } from "../log.ts";
import { mxMatchesPolicy } from "../mta_sts/policy_text.ts";
import type { StsLookup } from "./mta_sts_cache.ts";
import { checkDaneChain } from "./dane.ts";
import {
  daneReportPolicy,
  recordFetchFailure,
  type SessionReport,
  stsReportPolicy,
} from "./tls_session_report.ts";
import type { ReportPolicy, TlsResultType } from "./tls_report.ts";
import type { Target } from "./mx_choice.ts";
import type { RemoteContext } from "./remote_context.ts";
import { readTlsPin, type TlsPin } from "./starttls.ts";

/** What one attempt asks of TLS. */
export interface TargetTls {
  /** The session's STARTTLS policy. */
  policy: TlsPolicy;
  /** The tlshosts pin, when there is one. */
  pin?: TlsPin;
  /** Verification against the system roots (MTA-STS): fail, or report and go on. */
  verify?: { ca: string[]; mode: "require" | "report" };
  /** DANE's check of the presented chain. */
  checkChain?: (chain: Uint8Array[]) => string | undefined;
  /** Kept apart in the connection pool: a connection made under another policy is not reused. */
  poolTag: string;
  /** Testing mode: the domain whose policy's findings are logged. */
  testing?: string;
  /** TLS-RPT: the policy this session counts under, and its outcome once known. */
  report?: SessionReport;
}

/** An address not to connect to (MTA-STS enforce: the MX host is not in the policy). */
export interface SkippedTarget {
  skip: string;
  /** TLS-RPT: counted as a failure of this policy. */
  report?: { policy: ReportPolicy; resultType: TlsResultType };
}

/** What a delivery's addresses are held to: the domain's MTA-STS policy, and whether DANE applies. */
export interface DeliverySecurity {
  domain: string;
  sts: StsLookup;
  /** The domain's MX answer is DNSSEC-validated: look for TLSA records (RFC 7672 §2.2.1). */
  dane: boolean;
}

const NO_SECURITY: DeliverySecurity = { domain: "", sts: { kind: "none" }, dane: false };

/** The policies a delivery follows: none through a relay, for a literal, or when switched off. */
export async function securityFor(
  domain: string,
  route: Route,
  ctx: RemoteContext,
): Promise<DeliverySecurity> {
  const security = ctx.security;
  if (security === undefined || route.kind !== "smtp" || route.relay !== undefined) {
    return NO_SECURITY;
  }
  if (domain === "" || domain.startsWith("[")) return NO_SECURITY;
  const none: StsLookup = { kind: "none" };
  const [sts, dane] = await Promise.all([
    security.stsPolicies?.policyFor(domain) ?? none,
    security.dane?.mxValidated(domain) ?? false,
  ]);
  if (sts.kind === "none" && sts.reason !== undefined) {
    await recordFetchFailure(domain, sts.reason, ctx);
  }
  return { domain, sts, dane };
}

/** The TLS one address gets, or why it is skipped. */
export async function targetTls(
  target: Target,
  plan: DeliverySecurity,
  ctx: RemoteContext,
): Promise<TargetTls | SkippedTarget> {
  const pin = readTlsPin(ctx.home, target.host);
  if (pin !== undefined) {
    return { policy: { mode: "required", pinFile: pin.file }, pin, poolTag: "" };
  }
  const dane = plan.dane && ctx.security?.dane !== undefined && target.host !== target.ip
    ? await ctx.security.dane.host(target.host)
    : { kind: "none" as const };
  if (dane.kind === "failed") {
    return {
      skip: dane.reason,
      report: { policy: daneReportPolicy(plan.domain, []), resultType: "dnssec-invalid" },
    };
  }
  if (dane.kind === "tlsa") {
    const usable = dane.usable;
    return {
      policy: { mode: "verified", requiredBy: `the TLSA records of ${dane.name}` },
      // Only unusable records (§2.2): TLS is still mandatory, unauthenticated.
      ...(usable.length === 0 ? {} : {
        checkChain: (chain: Uint8Array[]) => checkDaneChain(usable, chain, target.host, ctx.now()),
      }),
      poolTag: `|dane:${target.host}`,
      report: { policy: daneReportPolicy(plan.domain, dane.usable) },
    };
  }
  const sts = plan.sts;
  const opportunistic: TargetTls = {
    policy: ctx.controls.tlsRemote ? { mode: "opportunistic" } : { mode: "off" },
    poolTag: "",
  };
  if (sts.kind !== "policy" || sts.policy.mode === "none") return opportunistic;
  const ca = ctx.security?.trustedCas() ?? [];
  const named = mxMatchesPolicy(target.host, sts.policy.mx);
  const reportPolicy = stsReportPolicy(sts.domain, sts.policy);
  if (sts.policy.mode === "enforce") {
    if (!named) {
      return {
        skip: `MX ${target.host} is not in the MTA-STS policy of ${sts.domain}`,
        report: { policy: reportPolicy, resultType: "validation-failure" },
      };
    }
    return {
      policy: { mode: "verified", requiredBy: `the MTA-STS policy of ${sts.domain}` },
      verify: { ca, mode: "require" },
      poolTag: `|sts:${target.host}`,
      report: { policy: reportPolicy },
    };
  }
  if (!named) {
    logStsTesting(sts.domain, target, `MX ${target.host} is not in the policy`);
  }
  return {
    policy: { mode: "opportunistic" },
    verify: { ca, mode: "report" },
    poolTag: `|sts-testing:${target.host}`,
    testing: sts.domain,
    report: { policy: reportPolicy, ...(named ? {} : { mismatch: true }) },
  };
}

/** The record when every address was skipped by the policy: a deferral, naming why. */
export function allSkippedText(reasons: string[]): string {
  const unique = [...new Set(reasons)];
  return `Sorry, no MX may be used: ${unique.join("; ")}. (#4.7.5)\n`;
}

/** MTA-STS testing mode (RFC 8461 §5): what enforce would have refused, logged, delivered anyway. */
export function logStsTesting(domain: string, target: Target, finding: string): void {
  logEvent("mta_sts_testing", `MTA-STS testing policy of ${domain}: ${finding} (${target.ip})`, {
    domain,
    host: target.host,
    ip: target.ip,
  });
}
