/**
 * How TLS is asked of one MX address, decided before connecting: a tlshosts
 * pin (docs/patches.md seed 001) wins over everything; then the recipient
 * domain's MTA-STS policy (RFC 8461 §4, §5): in enforce mode only MX hosts
 * the policy names are tried, and each must give TLS with a certificate that
 * verifies and names the MX host, else the message is deferred; in testing
 * mode the message goes as usual (STARTTLS when offered) and what would have
 * failed is logged; without either, tlsremote's opportunistic STARTTLS.
 * Deliveries through a smarthost route (smtproutes/smtprelays relay) are
 * not to the domain's MX and follow no policy.
 */
import type { Route } from "../../config/remote.ts";
import type { TlsPolicy } from "../smtp/client_options.ts";
import { logEvent } from "../log.ts";
import { mxMatchesPolicy } from "../mta_sts/policy_text.ts";
import type { StsLookup } from "./mta_sts_cache.ts";
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
}

/** An address not to connect to (MTA-STS enforce: the MX host is not in the policy). */
export interface SkippedTarget {
  skip: string;
}

/** The MTA-STS policy a delivery follows: none through a relay, or when switched off. */
export async function stsFor(
  domain: string,
  route: Route,
  ctx: RemoteContext,
): Promise<StsLookup> {
  const policies = ctx.security?.stsPolicies;
  if (policies === undefined || route.kind !== "smtp" || route.relay !== undefined) {
    return { kind: "none" };
  }
  if (domain === "" || domain.startsWith("[")) return { kind: "none" };
  return await policies.policyFor(domain);
}

/** The TLS one address gets, or why it is skipped. */
export function targetTls(
  target: Target,
  sts: StsLookup,
  ctx: RemoteContext,
): TargetTls | SkippedTarget {
  const pin = readTlsPin(ctx.home, target.host);
  if (pin !== undefined) {
    return { policy: { mode: "required", pinFile: pin.file }, pin, poolTag: "" };
  }
  const opportunistic: TargetTls = {
    policy: ctx.controls.tlsRemote ? { mode: "opportunistic" } : { mode: "off" },
    poolTag: "",
  };
  if (sts.kind !== "policy" || sts.policy.mode === "none") return opportunistic;
  const ca = ctx.security?.trustedCas() ?? [];
  const named = mxMatchesPolicy(target.host, sts.policy.mx);
  if (sts.policy.mode === "enforce") {
    if (!named) {
      return { skip: `MX ${target.host} is not in the MTA-STS policy of ${sts.domain}` };
    }
    return {
      policy: { mode: "verified", requiredBy: `the MTA-STS policy of ${sts.domain}` },
      verify: { ca, mode: "require" },
      poolTag: `|sts:${target.host}`,
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
