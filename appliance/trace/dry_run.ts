/**
 * The checks run outside a session, for `qmd rules test` and `qmd rules
 * replay`: one client's conversation (connect, HELO, MAIL, each RCPT, DATA,
 * end of DATA) put to the filter chain phase by phase (filters/chain.ts),
 * its lookups answered by a function the caller gives (real DNS against a
 * chosen resolver, or "temporary" when replaying offline), and the message,
 * when there is one, put through the content scans.
 *
 * Two ways to ask:
 *  - "chain": as the session asks: within a phase the first refusal or
 *    acceptance decides and later checks are not asked;
 *  - "every": each check alone, so every check's opinion is shown even after
 *    another refused; the phase's outcome is still what the chain would
 *    decide (the first refusal or acceptance in chain order), since checks
 *    are pure and do not see each other's verdicts.
 * In both, the run goes on past a refusal to the later phases (a refused
 * RCPT is left out of the recipients, as the session leaves it out), so one
 * run shows what every phase would say. No I/O here but the lookups and
 * scans the caller hands in.
 */
import type {
  ContentScan,
  Decision,
  FilterPhase,
  FilterRequest,
  Lookup,
  LookupAnswer,
  RuleRef,
} from "../filters/filter.ts";
import {
  type ActiveCheck,
  type ChainOutcome,
  decisionInput,
  resumeChain,
  runChain,
} from "../filters/chain.ts";

/** Answers one lookup for the named check (never throws: a failure is `temporary`). */
export type RunLookup = (lookup: Lookup, check: string) => Promise<LookupAnswer>;

/** Lookups one check may ask in one phase before the dry run gives up on it. */
const MAX_LOOKUPS_PER_CHECK = 32;

/** The client and envelope of one conversation to put to the checks. */
export interface DryRunSession {
  remoteIp: string;
  remoteHost?: string;
  localIp?: string;
  helo?: string;
  /** MAIL FROM; undefined: no MAIL phase. */
  sender?: string;
  recipients: readonly string[];
  env: Readonly<Record<string, string>>;
  relaying: boolean;
  tls: boolean;
  /** Unix ms for every request. */
  now: number;
}

/** What one phase came to. */
export interface PhaseResult {
  phase: FilterPhase;
  /** What was asked about (the IP, HELO, sender, recipient). */
  input: string;
  decisions: Decision[];
  outcome: "continue" | "accept" | "refuse";
  /** The decision that decided the phase (a refusal or an acceptance). */
  decidedBy?: Decision;
  /** Header lines the passing checks asked for. */
  headers: string[];
  tarpitSeconds: number;
  blacklist?: RuleRef;
}

/** A whole run: every phase in order, and the first refusal, which decides the session. */
export interface DryRunResult {
  phases: PhaseResult[];
  /**
   * The refusal that decides the session: the first outside RCPT, else the first RCPT's when
   * every recipient was refused; undefined: the message would be accepted.
   */
  refusal?: { phase: FilterPhase; decision: Decision };
  /** Recipients the chain would take. */
  accepted: string[];
}

/** A content scan with its check's name, begun for one message. */
export interface NamedScan {
  name: string;
  scan: ContentScan;
}

function request(
  session: DryRunSession,
  phase: FilterPhase,
  extra: { recipient?: string; recipients: readonly string[] },
): FilterRequest {
  const value: FilterRequest = {
    phase,
    remoteIp: session.remoteIp,
    env: session.env,
    relaying: session.relaying,
    tls: session.tls,
    recipients: extra.recipients,
    now: session.now,
  };
  if (session.remoteHost !== undefined) value.remoteHost = session.remoteHost;
  if (session.localIp !== undefined) value.localIp = session.localIp;
  if (phase !== "connect" && session.helo !== undefined) value.helo = session.helo;
  if (["mail", "rcpt", "data", "end"].includes(phase) && session.sender !== undefined) {
    value.sender = session.sender;
  }
  if (extra.recipient !== undefined) value.recipient = extra.recipient;
  return value;
}

/** Runs `checks` on one request as the chain does, answering its lookups until it is decided. */
async function chainRun(
  checks: readonly ActiveCheck[],
  req: FilterRequest,
  runLookup: RunLookup,
): Promise<Exclude<ChainOutcome, { kind: "lookup" }>> {
  let outcome = runChain(checks, req);
  for (let asked = 0; outcome.kind === "lookup"; asked++) {
    if (asked >= MAX_LOOKUPS_PER_CHECK * Math.max(1, checks.length)) {
      throw new Error(`The checks asked more than ${asked} lookups for one ${req.phase}`);
    }
    const answer = await runLookup(outcome.lookup, checks[outcome.resume.index].check.name);
    outcome = resumeChain(checks, req, outcome.resume, answer, outcome);
  }
  return outcome;
}

/** The decision that decides a phase in chain order: the first acceptance or refusal. */
function deciding(decisions: readonly Decision[]): Decision | undefined {
  return decisions.find((decision) =>
    decision.verdict === "refuse" || decision.verdict === "accept"
  );
}

/** One phase, asked the `mode` way (see the module comment). */
export async function runPhase(
  checks: readonly ActiveCheck[],
  req: FilterRequest,
  runLookup: RunLookup,
  mode: "chain" | "every",
): Promise<PhaseResult> {
  const result: PhaseResult = {
    phase: req.phase,
    input: decisionInput(req),
    decisions: [],
    outcome: "continue",
    headers: [],
    tarpitSeconds: 0,
  };
  const runs = mode === "chain" ? [await chainRun(checks, req, runLookup)] : await Promise.all(
    checks.filter((active) => active.check.phases.includes(req.phase))
      .map((active) => chainRun([active], req, runLookup)),
  );
  for (const run of runs) {
    result.decisions.push(...run.decisions);
    result.headers.push(...run.headers);
    result.tarpitSeconds += run.tarpitSeconds;
    if (run.blacklist !== undefined) result.blacklist ??= run.blacklist;
  }
  const decidedBy = deciding(result.decisions);
  if (decidedBy !== undefined) {
    result.decidedBy = decidedBy;
    result.outcome = decidedBy.verdict === "refuse" ? "refuse" : "accept";
  }
  return result;
}

/**
 * The whole conversation: connect, HELO (when given), MAIL (when a sender is
 * given), each RCPT, then DATA and the end of DATA with the recipients the
 * chain took; `scans` (begun by the caller for the message) give their
 * verdicts at the end, after the end-of-DATA checks.
 */
export async function dryRunSession(
  checks: readonly ActiveCheck[],
  session: DryRunSession,
  runLookup: RunLookup,
  mode: "chain" | "every",
  scans: (req: FilterRequest) => Promise<Decision[]> = () => Promise.resolve([]),
): Promise<DryRunResult> {
  const phases: PhaseResult[] = [];
  const accepted: string[] = [];
  const ask = async (phase: FilterPhase, recipient?: string) => {
    const req = request(session, phase, { recipient, recipients: [...accepted] });
    const result = await runPhase(checks, req, runLookup, mode);
    if (phase === "end") {
      const content = await scans(req);
      result.decisions.push(...content);
      if (result.decidedBy === undefined) {
        const decidedBy = deciding(content);
        if (decidedBy !== undefined) {
          result.decidedBy = decidedBy;
          result.outcome = decidedBy.verdict === "refuse" ? "refuse" : "accept";
        }
      }
    }
    phases.push(result);
    return result;
  };
  await ask("connect");
  if (session.helo !== undefined) await ask("helo");
  if (session.sender !== undefined) {
    await ask("mail");
    for (const recipient of session.recipients) {
      const result = await ask("rcpt", recipient);
      if (result.outcome !== "refuse") accepted.push(recipient);
    }
    if (session.recipients.length > 0) {
      await ask("data");
      await ask("end");
    }
  }
  // A refused RCPT refuses that recipient only: the session is refused by any other phase's
  // refusal, or by the RCPTs when none was taken.
  const first = phases.find((phase) => phase.outcome === "refuse" && phase.phase !== "rcpt") ??
    (accepted.length === 0 ? phases.find((phase) => phase.outcome === "refuse") : undefined);
  return {
    phases,
    refusal: first === undefined ? undefined : { phase: first.phase, decision: first.decidedBy! },
    accepted,
  };
}

/**
 * Puts a message through begun content scans, `chunkSize` bytes at a time,
 * and turns each verdict into a decision of the end phase.
 */
export async function scanMessage(
  scans: readonly NamedScan[],
  message: Uint8Array,
  req: FilterRequest,
  chunkSize = 64 * 1024,
): Promise<Decision[]> {
  const decisions: Decision[] = [];
  for (const { name, scan } of scans) {
    let verdict;
    try {
      for (let offset = 0; offset < message.length; offset += chunkSize) {
        await scan.write(message.subarray(offset, offset + chunkSize));
      }
      verdict = await scan.finish();
    } catch (error) {
      await scan.abort().catch(() => {});
      decisions.push({
        time: req.now,
        phase: "end",
        check: name,
        input: `message (${message.length} bytes), the scan failed: ${
          error instanceof Error ? error.message : String(error)
        }`,
        verdict: "pass",
      });
      continue;
    }
    const decision: Decision = {
      time: req.now,
      phase: "end",
      check: name,
      input: `message (${message.length} bytes)`,
      verdict: verdict.kind,
    };
    if ("rule" in verdict) decision.rule = verdict.rule;
    if (verdict.kind === "refuse") decision.reply = verdict.reply.join("\n");
    decisions.push(decision);
  }
  return decisions;
}
