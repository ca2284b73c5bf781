/**
 * helodnschkext / helodnschkint (docs/patches.md seed 001): when set, the
 * host named in HELO/EHLO must resolve, for clients without RELAYCLIENT
 * (ext) or with it (int); `$HELODNSCHKEXT` / `$HELODNSCHKINT` override the
 * files. An A (or else AAAA) record is enough. The seed gives no reply
 * texts; qmd answers a name that does not resolve with
 * `553 sorry, your HELO/EHLO host name does not resolve (#5.7.1)` and a DNS
 * failure with the mfcheck patch's `451 DNS temporary failure (#4.3.0)`.
 * An address literal ([192.0.2.1]) needs no lookup and passes. Pure.
 */
import type { FilterCheck, RuleRef, Verdict } from "./filter.ts";
import { PASS, refuse } from "./filter.ts";
import type { HeloDnsCheckControls } from "../../config/filter_dns.ts";

/** Both switches after the environment: helodnschkext (no RELAYCLIENT), helodnschkint. */
export type HeloDnsCheckSettings = HeloDnsCheckControls;

export const HELO_UNRESOLVED_REPLY =
  "553 sorry, your HELO/EHLO host name does not resolve (#5.7.1)";
export const HELO_DNS_SOFT_REPLY = "451 DNS temporary failure (#4.3.0)";

function rule(relaying: boolean, entry: string): RuleRef {
  return {
    check: "helodnschk",
    source: relaying ? "control/helodnschkint" : "control/helodnschkext",
    entry,
  };
}

function lookup(name: string, type: "A" | "AAAA"): Verdict {
  return { kind: "lookup", lookup: { kind: "dns", name, type } };
}

export const heloDnsCheck: FilterCheck<HeloDnsCheckSettings> = {
  name: "helodnschk",
  phases: ["helo"],
  check(request, settings) {
    if (!(request.relaying ? settings.internal : settings.external)) return PASS;
    const helo = (request.helo ?? "").trim().toLowerCase().replace(/\.$/, "");
    if (helo.startsWith("[") && helo.endsWith("]")) return PASS;
    if (helo === "" || !/^[a-z0-9_-]+(\.[a-z0-9_-]+)*$/.test(helo)) {
      return refuse(HELO_UNRESOLVED_REPLY, rule(request.relaying, `not a host name: ${helo}`));
    }
    return lookup(helo, "A");
  },
  resume(request, _settings, answer, asked) {
    if (asked.kind !== "dns") return PASS;
    if (answer.kind !== "dns") {
      const reason = answer.kind === "temporary" ? answer.reason : answer.kind;
      return refuse(HELO_DNS_SOFT_REPLY, rule(request.relaying, `${asked.name}: ${reason}`));
    }
    if (answer.records.length > 0) return PASS;
    if (asked.type === "A" && !answer.nxdomain) return lookup(asked.name, "AAAA");
    return refuse(HELO_UNRESOLVED_REPLY, rule(request.relaying, `${asked.name}: no address`));
  },
};
