/**
 * Which addresses a message may go to (docs/queue-format.md §5.8 steps 3–5): the
 * route's relay, else the domain's canonical name (CNAME), its MX hosts by
 * preference (equal preferences shuffled) or its A records when there is no
 * MX, an address literal as is; then the self-MX rule, which drops every
 * address whose preference is not below that of this machine (ipme).
 */
import type { Route } from "../../config/remote.ts";
import { parseAddressLiteral } from "../dns/resolver.ts";
import { hostNotFoundRecord, REMOTE_TEXTS, type RemoteRecord } from "../send/remote_report.ts";
import type { RemoteContext } from "./remote_context.ts";

/** One eligible address with the host name it came from (for tlshosts). */
export interface Target {
  ip: string;
  host: string;
  preference: number;
}

/** Sorts MX hosts by preference, shuffling equal preferences (§5.8 step 4). */
export function orderMxHosts<T extends { preference: number }>(
  hosts: T[],
  random: () => number,
): T[] {
  const keyed = hosts.map((host) => ({ host, key: random() }));
  keyed.sort((a, b) => a.host.preference - b.host.preference || a.key - b.key);
  return keyed.map((entry) => entry.host);
}

/** The addresses to try, in order; or the record that ends the delivery. */
export type HostList = { ok: true; targets: Target[]; prefme: number } | {
  ok: false;
  record: RemoteRecord;
};

/** The eligible addresses for `domain` by `route` (§5.8 steps 3–5). */
export async function findTargets(
  domain: string,
  route: Route,
  ctx: RemoteContext,
): Promise<HostList> {
  let host = domain;
  /** qmail-remote sets prefme to 300000 (relay) or 500000 (all aliases) after its ipme loop. */
  let prefmeOverride: number | undefined;
  if (route.relay !== undefined) {
    host = route.relay;
    prefmeOverride = 300000;
  } else {
    const canonical = await ctx.resolver.cname(domain);
    if (!canonical.ok) {
      if (canonical.temporary) return { ok: false, record: REMOTE_TEXTS.cnameTemporary };
    } else if (canonical.value !== domain.toLowerCase().replace(/\.$/, "")) {
      host = canonical.value;
      prefmeOverride = 500000; // every recipient's domain was a CNAME (§5.8 step 5)
    }
  }
  const literal = parseAddressLiteral(host);
  let candidates: Target[] = [];
  if (literal !== undefined) {
    candidates = [{ ip: literal, host: literal, preference: 0 }];
  } else if (route.relay !== undefined) {
    const found = await ctx.resolver.addresses(host);
    if (!found.ok) {
      return {
        ok: false,
        record: found.temporary ? REMOTE_TEXTS.dnsTemporary : hostNotFoundRecord(host),
      };
    }
    candidates = found.value.map((ip) => ({ ip, host, preference: 0 }));
  } else {
    const mx = await ctx.resolver.mx(host);
    if (!mx.ok) {
      return {
        ok: false,
        record: mx.temporary ? REMOTE_TEXTS.dnsTemporary : hostNotFoundRecord(host),
      };
    }
    if (mx.value === "null") return { ok: false, record: REMOTE_TEXTS.noMxOrIp };
    const exchanges = mx.value === "none"
      ? [{ preference: 0, exchange: host }]
      : orderMxHosts(mx.value, ctx.random);
    let temporary = false;
    let missing = false;
    for (const exchange of exchanges) {
      const found = await ctx.resolver.addresses(exchange.exchange);
      if (!found.ok) {
        if (found.temporary) temporary = true;
        else missing = true;
        continue;
      }
      for (const ip of found.value) {
        candidates.push({ ip, host: exchange.exchange, preference: exchange.preference });
      }
    }
    if (candidates.length === 0) {
      if (temporary) return { ok: false, record: REMOTE_TEXTS.dnsTemporary };
      if (missing && mx.value === "none") return { ok: false, record: hostNotFoundRecord(host) };
    }
  }
  if (candidates.length === 0) return { ok: false, record: REMOTE_TEXTS.noMxOrIp };
  // §5.8 step 5, in qmail-remote's order: the lowest preference of an address
  // that is this host, then the relay and alias overrides, so a smart host on
  // this machine (smtproutes :127.0.0.1:3025) stays eligible.
  let prefme = 100000;
  for (const candidate of candidates) {
    if (ctx.ipme.isMe(candidate.ip) && candidate.preference < prefme) {
      prefme = candidate.preference;
    }
  }
  if (prefmeOverride !== undefined) prefme = prefmeOverride;
  const targets = candidates.filter((candidate) => candidate.preference < prefme);
  if (targets.length === 0) return { ok: false, record: REMOTE_TEXTS.selfMx };
  return { ok: true, targets, prefme };
}
