/**
 * mfcheck (docs/patches.md seeds 000 and 001): `control/mfcheck`, overridden
 * per client by `$MFCHECK`, checks the domain of MAIL FROM.
 *
 * - 1: the domain must have an MX record, or else an A (or AAAA) record
 *   (an implicit MX, RFC 5321 §5.1). NXDOMAIN or neither record:
 *   `553 sorry, your envelope sender domain must exist (#5.7.1)`; a DNS
 *   failure: `451 DNS temporary failure (#4.3.0)` (the mfcheck patch's
 *   texts; fail-closed, so a sender is never taken on a guess).
 * - 2: as 1, then, for clients without RELAYCLIENT (seed 001), a callback
 *   (seed 000's "testbounce") to the domain's MX: MAIL FROM:<>, RCPT
 *   TO:<sender>. Only a reply of 500 or more refuses (seed 000's md20: a
 *   greylisting MX answers 4xx), with `550 5.1.8 bad sender's mailbox
 *   address, RCPT TO:<sender> failed`; a callback that cannot be made or
 *   times out (timeoutmfcheck) lets the sender through. MX addresses in
 *   control/mxblacklist are skipped (mxblacklist.ts).
 *
 * The bounce sender `<>` and address literals are not checked; a sender
 * without a domain is refused unless the client may relay. Pure: the
 * lookups (dns MX/A/AAAA, then callback) go to the driver.
 */
import type { FilterCheck, FilterRequest, Lookup, RuleRef, Verdict } from "./filter.ts";
import { PASS, refuse } from "./filter.ts";
import { asciiLower } from "../../config/ascii.ts";
import { hasEightBit } from "../bytes.ts";
import { MX_BLACKLISTED_REPLY } from "./mxblacklist.ts";

export interface MfcheckSettings {
  /** 1 or 2 (0 turns the module off). */
  level: number;
  /** "control/mfcheck" or "MFCHECK". */
  source: string;
  /** timeoutmfcheck: the callback's bound, seconds. */
  timeoutSeconds: number;
  mxBlacklist: readonly string[];
}

export const MFCHECK_HARD_REPLY = "553 sorry, your envelope sender domain must exist (#5.7.1)";
export const MFCHECK_SOFT_REPLY = "451 DNS temporary failure (#4.3.0)";

export function callbackFailedReply(sender: string): string {
  return `550 5.1.8 bad sender's mailbox address, RCPT TO:<${sender}> failed`;
}

/**
 * The domain of a sender, ASCII lower case (a UTF-8 domain keeps its bytes; the resolver asks
 * its A-labels, dns/idna.ts); undefined when it has none.
 */
export function senderDomain(sender: string): string | undefined {
  const at = sender.lastIndexOf("@");
  const domain = at < 0 ? "" : asciiLower(sender.slice(at + 1)).replace(/\.$/, "");
  return domain === "" ? undefined : domain;
}

function rule(settings: MfcheckSettings, entry: string): RuleRef {
  return { check: "mfcheck", source: settings.source, entry };
}

function dnsLookup(name: string, type: "MX" | "A" | "AAAA"): Verdict {
  return { kind: "lookup", lookup: { kind: "dns", name, type } };
}

/** After the DNS check passed: the callback (level 2, not relaying) or done. */
function domainExists(request: FilterRequest, settings: MfcheckSettings): Verdict {
  if (settings.level < 2 || request.relaying) return PASS;
  // The callback speaks HELO, which cannot carry a UTF-8 address (RFC 6531): such a sender's
  // domain was checked in DNS, its mailbox is not asked for.
  if (hasEightBit(request.sender ?? "")) return PASS;
  return {
    kind: "lookup",
    lookup: {
      kind: "callback",
      sender: request.sender ?? "",
      timeoutSeconds: settings.timeoutSeconds,
      mxBlacklist: settings.mxBlacklist,
    },
  };
}

function isNullMx(record: string): boolean {
  return /^\d+\s*\.?$/.test(record.trim());
}

function lookupName(lookup: Lookup): string {
  return lookup.kind === "dns" ? `${lookup.type} ${lookup.name}` : lookup.kind;
}

export const mfcheckCheck: FilterCheck<MfcheckSettings> = {
  name: "mfcheck",
  phases: ["mail"],
  check(request, settings) {
    const sender = request.sender ?? "";
    if (sender === "") return PASS;
    const domain = senderDomain(sender);
    if (domain === undefined) {
      return request.relaying
        ? PASS
        : refuse(MFCHECK_HARD_REPLY, rule(settings, `no domain in ${sender}`));
    }
    if (domain.startsWith("[")) return PASS;
    return dnsLookup(domain, "MX");
  },
  resume(request, settings, answer, lookup) {
    const sender = request.sender ?? "";
    if (lookup.kind === "callback") {
      if (answer.kind !== "callback" || answer.accepted) return PASS;
      if (answer.blacklisted) {
        return refuse(MX_BLACKLISTED_REPLY, {
          check: "mxblacklist",
          source: "control/mxblacklist",
          entry: answer.reply ?? sender,
        });
      }
      // Seed 000 logs the exchanger's reply as `BounceTest:` lines; here one line.
      const said = answer.reply ?? "callback refused";
      // Seed 000: "if the testbounce fails, we tarpit the client".
      return refuse(callbackFailedReply(sender), rule(settings, said), {
        log: `BounceTest: ${said.split("\n").join(" / ")}`,
        tarpitted: true,
      });
    }
    if (lookup.kind !== "dns") return PASS;
    if (answer.kind !== "dns") {
      const reason = answer.kind === "temporary" ? answer.reason : answer.kind;
      return refuse(MFCHECK_SOFT_REPLY, rule(settings, `${lookupName(lookup)}: ${reason}`));
    }
    const hard = refuse(MFCHECK_HARD_REPLY, rule(settings, `${lookupName(lookup)}: none`));
    // RFC 7505: a null MX ("0 .") says the domain takes no mail, so it sends none either.
    if (lookup.type === "MX" && answer.records.length > 0 && answer.records.every(isNullMx)) {
      return refuse(MFCHECK_HARD_REPLY, rule(settings, `MX ${lookup.name}: null MX`));
    }
    if (answer.records.length > 0) return domainExists(request, settings);
    if (answer.nxdomain) return hard;
    if (lookup.type === "MX") return dnsLookup(lookup.name, "A");
    if (lookup.type === "A") return dnsLookup(lookup.name, "AAAA");
    return hard;
  },
};
