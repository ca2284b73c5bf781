/**
 * The answers a session keeps, so that one question is not asked twice: the
 * spf check's evaluation at MAIL (filters/spf.ts) is the one the
 * Authentication-Results scan reports and DMARC aligns with
 * (scan/auth_results_scan.ts). Only SPF is kept: its answer depends on the
 * client, HELO and sender alone, all fixed within the question; temporary
 * answers are not kept.
 */
import type { Lookup, LookupAnswer } from "../filters/filter.ts";

function keyOf(lookup: Lookup): string | undefined {
  return lookup.kind === "spf"
    ? JSON.stringify([lookup.ip, lookup.helo, lookup.sender])
    : undefined;
}

export class SessionAnswers {
  #answers = new Map<string, LookupAnswer>();

  /** The answer kept for this question, if any. */
  get(lookup: Lookup): LookupAnswer | undefined {
    const key = keyOf(lookup);
    return key === undefined ? undefined : this.#answers.get(key);
  }

  /** Keeps an answer worth keeping. */
  keep(lookup: Lookup, answer: LookupAnswer): void {
    const key = keyOf(lookup);
    if (key !== undefined && answer.kind === lookup.kind) this.#answers.set(key, answer);
  }
}
