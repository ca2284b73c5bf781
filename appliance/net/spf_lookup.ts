/**
 * The "spf" lookup (appliance/filters/spf.ts): an RFC 7208 evaluation of the
 * client, HELO and sender by npm mailauth (4.x), so qmd has no SPF engine
 * of its own to get wrong (the DNS lookup and void limits of RFC 7208
 * §4.6.4, macros, include/redirect loops: docs/reliability.md F3).
 *
 * mailauth asks its DNS questions through the function given here, which
 * answers from qmd's own resolver (appliance/dns/resolver.ts: its cache,
 * control/dnsservers, and in tests a fake DNS server on loopback) in the
 * shape of node's dns.promises.resolve: NXDOMAIN is ENOTFOUND, no data
 * ENODATA (both "void" lookups to mailauth), and a failure that may pass
 * (timeout, SERVFAIL) an error mailauth turns into temperror.
 *
 * mailauth is imported on first use: it pulls in joi and libmime, which the
 * appliance need not load to start. The whole evaluation is bounded by the
 * lookup's timeoutSeconds; past it the answer is "temporary".
 */
import type { Lookup, LookupAnswer, SpfResult } from "../filters/filter.ts";
import type { Resolver } from "../dns/resolver.ts";
import { localName } from "./local_name.ts";

/** The part of mailauth's lib/spf used here. */
interface MailauthSpf {
  spf(options: {
    sender: string;
    ip: string;
    helo: string;
    mta: string;
    resolver: (name: string, type: string) => Promise<unknown[]>;
  }): Promise<{
    status: { result: string; comment?: string };
    header?: string;
    domain?: string;
    info?: string;
  }>;
}

export interface SpfLookupOptions {
  resolver: Resolver;
  /** The name the Received-SPF comment gives for this host (control/me). */
  mta: string;
}

const RESULTS: readonly SpfResult[] = [
  "none",
  "neutral",
  "pass",
  "fail",
  "softfail",
  "temperror",
  "permerror",
];
const TYPES = new Set(["A", "AAAA", "MX", "TXT", "PTR"]);

let loading: Promise<MailauthSpf> | undefined;

function loadMailauth(): Promise<MailauthSpf> {
  loading ??= import("mailauth/lib/spf/index.js").then((module) =>
    module as unknown as MailauthSpf
  );
  return loading;
}

function dnsError(code: string, message: string): Error {
  return Object.assign(new Error(message), { code });
}

/**
 * One record in the shape node's resolver gives it: MX as {exchange,
 * priority}, TXT as its character-strings (qmd's resolver gives them
 * joined, which is how SPF reads them, RFC 7208 §3.3), the rest as text.
 */
function shape(type: string, record: string): unknown {
  if (type === "TXT") return [record];
  if (type !== "MX") return record;
  const space = record.indexOf(" ");
  return { priority: Number(record.slice(0, space)), exchange: record.slice(space + 1) };
}

/** A node-style resolve(name, type) over qmd's resolver, for mailauth. */
export function mailauthResolver(
  resolver: Resolver,
): (name: string, type: string) => Promise<unknown[]> {
  return async (name, type) => {
    if (!TYPES.has(type)) throw dnsError("ENOTIMP", `SPF asked for ${type} records`);
    const result = await resolver.records(name, type as "A" | "AAAA" | "MX" | "TXT" | "PTR");
    if (!result.ok) {
      throw dnsError(result.temporary ? "ESERVFAIL" : "ENOTFOUND", result.reason);
    }
    const { records, nxdomain } = result.value;
    if (records.length === 0) {
      throw dnsError(nxdomain ? "ENOTFOUND" : "ENODATA", `${type} ${name}: no records`);
    }
    return records.map((record) => shape(type, record));
  };
}

/** Evaluates SPF for one lookup; never throws. */
export async function runSpfLookup(
  lookup: Lookup & { kind: "spf" },
  options: SpfLookupOptions,
): Promise<LookupAnswer> {
  const seconds = lookup.timeoutSeconds ?? 20;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const deadline = new Promise<LookupAnswer>((resolve) => {
    timer = setTimeout(
      () => resolve({ kind: "temporary", reason: `SPF evaluation took over ${seconds}s` }),
      seconds * 1000,
    );
  });
  const evaluation = (async (): Promise<LookupAnswer> => {
    try {
      const { spf } = await loadMailauth();
      const result = await spf({
        sender: lookup.sender,
        ip: lookup.ip,
        helo: lookup.helo,
        mta: options.mta,
        resolver: mailauthResolver(options.resolver),
      });
      const status = result.status.result as SpfResult;
      if (!RESULTS.includes(status)) {
        return { kind: "temporary", reason: `SPF result ${result.status.result}` };
      }
      const answer: LookupAnswer = { kind: "spf", result: status };
      if (result.status.comment !== undefined) answer.explanation = result.status.comment;
      if (result.header !== undefined) answer.header = result.header;
      // For the Authentication-Results header and DMARC (scan/auth_results_scan.ts).
      if (result.domain !== undefined) answer.domain = result.domain;
      if (result.info !== undefined) answer.info = result.info;
      return answer;
    } catch (error) {
      return { kind: "temporary", reason: `SPF evaluation failed: ${(error as Error).message}` };
    }
  })();
  try {
    return await Promise.race([evaluation, deadline]);
  } finally {
    clearTimeout(timer);
  }
}

/** The runner for filter_lookups.ts: the role's resolver, control/me as the host's name. */
export function spfRunner(
  lookup: Lookup & { kind: "spf" },
  context: { resolver: Resolver; home?: string },
): Promise<LookupAnswer> {
  return runSpfLookup(lookup, { resolver: context.resolver, mta: localName(context.home) });
}
