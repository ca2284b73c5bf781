/**
 * Runs the lookups the filter checks ask for (appliance/filters/filter.ts
 * Lookup): the SMTP connection driver hands each `lookup` effect here and
 * gives the answer back to the session. One runner per lookup kind, in
 * LOOKUP_RUNNERS; a kind without a runner, a runner that throws and one that
 * takes too long all answer `temporary`, so a check never mistakes "could
 * not ask" for an answer (the seeds' fail-open or fail-closed choice is the
 * check's, on `temporary`).
 *
 * Register a runner with one line in LOOKUP_RUNNERS.
 */
import type { Lookup, LookupAnswer } from "../filters/filter.ts";
import type { Resolver } from "../dns/resolver.ts";
import { runGreylistLookup, runProgram, runRecipientLookup } from "./role_lookups.ts";
import { spfRunner } from "./spf_lookup.ts";
import { callbackRunner } from "./callback_lookup.ts";

/** What a runner may use: shared per role, so caches live across sessions. */
export interface LookupContext {
  /** The DNS resolver (control/dnsservers, else /etc/resolv.conf; appliance/dns/name_servers.ts). */
  resolver: Resolver;
  /** QMAILHOME, for runners that read the home (recipient, greylist). */
  home?: string;
  /** Session id for log lines. */
  sessionId: string;
  /**
   * Asks the role that answers lookups smtpd may not (ipc.ts LOOKUP_ROLES:
   * recipient, greylist) through the supervisor; without it (qmd smtpd,
   * tests) they are answered in-process from `home` (role_lookups.ts).
   */
  ask?: (lookup: Lookup) => Promise<LookupAnswer>;
}

/** A runner for one kind of lookup. */
export type LookupRunner<K extends Lookup["kind"]> = (
  lookup: Extract<Lookup, { kind: K }>,
  context: LookupContext,
) => Promise<LookupAnswer>;

export type LookupRunners = { [K in Lookup["kind"]]?: LookupRunner<K> };

/**
 * A DNS query: timeout and SERVFAIL are `temporary`; NXDOMAIN and no data
 * are an answer with no records (NXDOMAIN marked), as rblsmtpd reads them.
 */
export const runDnsLookup: LookupRunner<"dns"> = async (lookup, context) => {
  const result = await context.resolver.records(lookup.name, lookup.type);
  if (!result.ok) {
    return result.temporary
      ? { kind: "temporary", reason: result.reason }
      : { kind: "dns", records: [], nxdomain: true };
  }
  const answer: LookupAnswer = { kind: "dns", records: result.value.records };
  return result.value.nxdomain ? { ...answer, nxdomain: true } : answer;
};

export const LOOKUP_RUNNERS: LookupRunners = {
  dns: runDnsLookup,
  program: runProgram,
  recipient: runRecipientLookup,
  greylist: runGreylistLookup,
  spf: spfRunner,
  callback: callbackRunner,
};

/** Seconds a lookup may take when it names no timeout of its own. */
export const DEFAULT_LOOKUP_SECONDS = 30;

/**
 * Runs one lookup with the runner for its kind, within its timeout (its
 * own, else `defaultSeconds`). Never throws.
 */
export async function runLookup(
  lookup: Lookup,
  context: LookupContext,
  options: { runners?: LookupRunners; defaultSeconds?: number } = {},
): Promise<LookupAnswer> {
  const runners = options.runners ?? LOOKUP_RUNNERS;
  const runner = runners[lookup.kind] as LookupRunner<typeof lookup.kind> | undefined;
  if (runner === undefined) {
    return { kind: "temporary", reason: `no runner for ${lookup.kind}` };
  }
  const seconds = ("timeoutSeconds" in lookup ? lookup.timeoutSeconds : undefined) ??
    options.defaultSeconds ?? DEFAULT_LOOKUP_SECONDS;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<LookupAnswer>((resolve) => {
    timer = setTimeout(
      () =>
        resolve({ kind: "temporary", reason: `${lookup.kind} lookup timed out (${seconds} s)` }),
      seconds * 1000,
    );
  });
  try {
    return await Promise.race([
      runner(lookup as never, context).catch((error): LookupAnswer => ({
        kind: "temporary",
        reason: `${lookup.kind} lookup failed: ${(error as Error).message}`,
      })),
      timeout,
    ]);
  } finally {
    clearTimeout(timer);
  }
}
