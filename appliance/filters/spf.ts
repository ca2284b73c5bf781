/**
 * SPF (RFC 7208) as qmail's SPF patch does it (docs/patches.md seed 004):
 * `control/spfbehavior`, overridden per client by `$SPFBEHAVIOR`:
 *
 * - 0 (the default): no lookups, no Received-SPF header (the module is off);
 * - 1: annotate only: a Received-SPF header, nothing refused;
 * - 2: as 1, and a DNS problem (temperror, or no answer in time) gives
 *   `451 SPF lookup failure (#4.3.0)`, so every message that gets through
 *   carries a meaningful header;
 * - 3: as 2, and a `fail` result is refused with 550.
 *
 * Asked at MAIL (the patch evaluates there; it refuses at RCPT, qmd at
 * MAIL, with the same reply); RELAYCLIENT and authenticated clients are not
 * checked and get no header, as in the patch. The evaluation itself is
 * npm mailauth's (appliance/net/spf_lookup.ts), over qmd's own resolver.
 */
import type { FilterCheck, FilterRequest, Verdict } from "./filter.ts";
import { PASS, refuse } from "./filter.ts";

export interface SpfSettings {
  /** 1 to 3; 0 turns the module off before it gets here. */
  behavior: number;
  /** Where the value came from: "control/spfbehavior" or "SPFBEHAVIOR". */
  source: string;
}

/** RFC 7208 §4.6.4 asks for at least 20 seconds for the whole evaluation. */
export const SPF_TIMEOUT_SECONDS = 20;

export const SPF_TEMPORARY_REPLY = "451 SPF lookup failure (#4.3.0)";

/** The 550 for a `fail` (the domain's own explanation when it gives one, RFC 7208 §6.2). */
export function spfFailReply(request: FilterRequest, explanation?: string): string {
  const sender = request.sender || `postmaster@${request.helo ?? ""}`;
  const text = explanation !== undefined && explanation !== ""
    ? explanation.replace(/[^\x20-\x7e]/g, "?")
    : `the domain of ${sender} does not designate ${request.remoteIp} as permitted sender`;
  return `550 ${text} (#5.7.1)`;
}

/** The header when the runner gave none (a timeout): the result and why. */
function fallbackHeader(result: string, reason: string, request: FilterRequest): string {
  return `Received-SPF: ${result} (${
    reason.replace(/[()\r\n]/g, " ")
  }) client-ip=${request.remoteIp};`;
}

function temporary(request: FilterRequest, settings: SpfSettings, reason: string): Verdict {
  if (settings.behavior >= 2) {
    return refuse(SPF_TEMPORARY_REPLY, {
      check: "spf",
      source: settings.source,
      entry: `temperror: ${reason}`,
    });
  }
  return { kind: "pass", headers: [fallbackHeader("temperror", reason, request)] };
}

export const spfCheck: FilterCheck<SpfSettings> = {
  name: "spf",
  phases: ["mail"],
  check(request) {
    if (request.relaying || request.authUser !== undefined) return PASS;
    return {
      kind: "lookup",
      lookup: {
        kind: "spf",
        ip: request.remoteIp,
        helo: request.helo ?? "",
        sender: request.sender ?? "",
        timeoutSeconds: SPF_TIMEOUT_SECONDS,
      },
    };
  },
  resume(request, settings, answer) {
    if (answer.kind === "temporary") return temporary(request, settings, answer.reason);
    if (answer.kind !== "spf") return temporary(request, settings, `unexpected ${answer.kind}`);
    const header = answer.header?.replace(/\r?\n[ \t]+/g, " ").replace(/\r?\n$/, "");
    if (answer.result === "temperror") {
      if (settings.behavior >= 2) return temporary(request, settings, answer.explanation ?? "");
    }
    if (answer.result === "fail" && settings.behavior >= 3) {
      return refuse(spfFailReply(request, answer.explanation), {
        check: "spf",
        source: settings.source,
        entry: `fail: ${request.sender ?? ""} from ${request.remoteIp}`,
      });
    }
    return {
      kind: "pass",
      headers: [header ?? fallbackHeader(answer.result, answer.explanation ?? "", request)],
    };
  },
};
