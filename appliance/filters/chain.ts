/**
 * The filter chain: asks the checks of one phase in order (filter.ts) and
 * folds their verdicts into one outcome for the session. Pure.
 *
 * - pass: go on; its header lines are kept for the message;
 * - tarpit: the pauses add up, go on;
 * - blacklist: the session is marked BLACKLISTED, go on;
 * - accept: the phase is decided, later checks of this phase are not asked;
 * - refuse: the phase is decided with that reply (after its own tarpit, if any);
 * - lookup: the run stops and hands the lookup to the session's driver;
 *   resumeChain() goes on from the same check with the answer.
 *
 * Every verdict becomes a Decision (passes too), so `qmd rules test` can show
 * what each check said; the trace store keeps what it wants of them.
 */
import type {
  Decision,
  FilterCheck,
  FilterPhase,
  FilterRequest,
  Lookup,
  LookupAnswer,
  RuleRef,
  Verdict,
} from "./filter.ts";

/** A check with the settings it runs with for one session, in chain order. */
export interface ActiveCheck<S = unknown> {
  // deno-lint-ignore no-explicit-any
  check: FilterCheck<any>;
  settings: S;
}

/** What a phase's run came to so far. */
export interface ChainTally {
  /** Header lines the passing checks asked for, in order. */
  headers: string[];
  /** Seconds of tarpit the checks asked for. */
  tarpitSeconds: number;
  /** The blacklist rule, when a check marked the session BLACKLISTED. */
  blacklist?: RuleRef;
  /** The address the blacklist verdict named, if any. */
  blacklistRecipient?: string;
  decisions: Decision[];
}

export type ChainOutcome =
  /** Every check of the phase was asked (or one accepted): the command goes on. */
  | ({ kind: "continue"; accepted?: RuleRef } & ChainTally)
  /** A check refused: reply with its verdict. */
  | ({ kind: "refuse"; verdict: Verdict & { kind: "refuse" } } & ChainTally)
  /** A check needs a lookup: run it, then resumeChain(). */
  | ({ kind: "lookup"; lookup: Lookup; resume: ChainResume } & ChainTally);

/** Where a run stopped for a lookup. Plain data. */
export interface ChainResume {
  phase: FilterPhase;
  /** Index in the checks list of the check that asked. */
  index: number;
  lookup: Lookup;
}

/** What a decision is about, by phase: the client, its HELO, the sender or the recipient. */
export function decisionInput(request: FilterRequest): string {
  switch (request.phase) {
    case "connect":
      return request.remoteIp;
    case "helo":
      return request.helo ?? "";
    case "mail":
      return request.sender ?? "";
    case "rcpt":
      return request.recipient ?? "";
    default:
      return `${request.sender ?? ""} -> ${request.recipients.join(",")}`;
  }
}

function emptyTally(): ChainTally {
  return { headers: [], tarpitSeconds: 0, decisions: [] };
}

function describeLookup(lookup: Lookup): string {
  switch (lookup.kind) {
    case "dns":
      return `${lookup.type} ${lookup.name}`;
    case "program":
      return lookup.argv.join(" ");
    case "spf":
      return `spf ${lookup.ip} ${lookup.sender}`;
    case "recipient":
      return lookup.address;
    case "callback":
      return lookup.sender;
    case "greylist":
      return `${lookup.ip} ${lookup.sender} ${lookup.recipient}`;
  }
}

/** The decision with the verdict's own log line, when it gave one. */
function withLog(decision: Decision, log: string | undefined): Decision {
  return log === undefined ? decision : { ...decision, log };
}

/** Runs the phase's checks from the first. */
export function runChain(checks: readonly ActiveCheck[], request: FilterRequest): ChainOutcome {
  return walk(checks, request, 0, emptyTally(), undefined);
}

/** Goes on after a lookup: the asking check's resume() gets the answer. */
export function resumeChain(
  checks: readonly ActiveCheck[],
  request: FilterRequest,
  resume: ChainResume,
  answer: LookupAnswer,
  tally: ChainTally = emptyTally(),
): ChainOutcome {
  const active = checks[resume.index];
  if (active === undefined || active.check.resume === undefined) {
    throw new Error(`No check at ${resume.index} can resume a lookup`);
  }
  const verdict = active.check.resume(request, active.settings, answer, resume.lookup);
  const { headers, tarpitSeconds, blacklist, blacklistRecipient, decisions } = tally;
  const copied: ChainTally = { headers: [...headers], tarpitSeconds, decisions: [...decisions] };
  if (blacklist !== undefined) copied.blacklist = blacklist;
  if (blacklistRecipient !== undefined) copied.blacklistRecipient = blacklistRecipient;
  return walk(checks, request, resume.index, copied, verdict);
}

/**
 * From check `index` on; `first` is the verdict of check `index` when it is
 * already known (a resumed lookup).
 */
function walk(
  checks: readonly ActiveCheck[],
  request: FilterRequest,
  index: number,
  tally: ChainTally,
  first: Verdict | undefined,
): ChainOutcome {
  const input = decisionInput(request);
  for (let i = index; i < checks.length; i++) {
    const { check, settings } = checks[i];
    if (!check.phases.includes(request.phase)) continue;
    const verdict = i === index && first !== undefined ? first : check.check(request, settings);
    const decision: Decision = {
      time: request.now,
      phase: request.phase,
      check: check.name,
      input,
      verdict: verdict.kind,
    };
    switch (verdict.kind) {
      case "pass":
        tally.decisions.push(decision);
        if (verdict.headers !== undefined) tally.headers.push(...verdict.headers);
        continue;
      case "tarpit":
        tally.decisions.push(withLog({ ...decision, rule: verdict.rule }, verdict.log));
        tally.tarpitSeconds += verdict.seconds;
        continue;
      case "blacklist":
        tally.decisions.push({ ...decision, rule: verdict.rule });
        tally.blacklist = verdict.rule;
        if (verdict.recipient !== undefined) tally.blacklistRecipient = verdict.recipient;
        continue;
      case "accept":
        tally.decisions.push(withLog({ ...decision, rule: verdict.rule }, verdict.log));
        return { kind: "continue", accepted: verdict.rule, ...tally };
      case "refuse":
        tally.decisions.push(
          withLog(
            { ...decision, rule: verdict.rule, reply: verdict.reply.join("\n") },
            verdict.log,
          ),
        );
        tally.tarpitSeconds += verdict.tarpitSeconds ?? 0;
        return { kind: "refuse", verdict, ...tally };
      case "lookup":
        tally.decisions.push({
          ...decision,
          input: `${input} (${describeLookup(verdict.lookup)})`,
        });
        return {
          kind: "lookup",
          lookup: verdict.lookup,
          resume: { phase: request.phase, index: i, lookup: verdict.lookup },
          ...tally,
        };
    }
  }
  return { kind: "continue", ...tally };
}
