/**
 * What the bmchecks (badhelo, badmailfrom, goodmailfrom, badmailto,
 * badrmhost, badrcptto) share: lists that apply to every client, to clients
 * that do not relay (the `...ext` files of docs/patches.md seed 001, and seed
 * 003's exemption of trusted clients) or to clients that do (`...int`), the
 * RuleRef of a hit and the control/log/bmchecks line. Pure.
 */
import { findMatch, type MatchOptions, type PatternLine, type PatternList } from "./bm_patterns.ts";
import type { FilterRequest, RuleRef, Verdict } from "./filter.ts";

/** all: every client; ext: clients that do not relay; int: clients that relay (seed 001). */
export type ListScope = "all" | "ext" | "int";

export interface ScopedList {
  list: PatternList;
  scope: ListScope;
}

/** A bmcheck's settings for one client: its lists (switched-off ones left out) and logging. */
export interface ListCheckSettings {
  lists: readonly ScopedList[];
  /** control/log/bmchecks: log each match. */
  log: boolean;
}

export interface ListHit {
  list: PatternList;
  line: PatternLine;
}

/**
 * Relaying means RELAYCLIENT, AUTH or a tlsclients certificate: the
 * clients seed 001 calls "RELAYCLIENT set" and seed 003 trusts.
 */
function applies(scope: ListScope, request: FilterRequest): boolean {
  return scope === "all" || (scope === "int") === request.relaying;
}

/** The first matching line of the lists that apply to this client, in list order. */
export function matchLists(
  settings: ListCheckSettings,
  request: FilterRequest,
  subject: string,
  options: MatchOptions,
): ListHit | undefined {
  for (const { list, scope } of settings.lists) {
    if (!applies(scope, request)) continue;
    const line = findMatch(list, subject, options);
    if (line !== undefined) return { list, line };
  }
  return undefined;
}

/** The rule a hit names: the check, the file, its line and the line as written. */
export function hitRule(check: string, hit: ListHit): RuleRef {
  return { check, source: hit.list.source, line: hit.line.line, entry: hit.line.value };
}

/**
 * The control/log/bmchecks line (qmd's wording; seed 000 names the file but
 * not its lines): `bmchecks: badmailfrom control/badmailfrom line 3 (@spam.example) matched <a@spam.example>`.
 */
export function bmcheckLog(check: string, hit: ListHit, subject: string): string {
  return `bmchecks: ${check} ${hit.list.source} line ${hit.line.line} (${hit.line.value}) matched ${subject}`;
}

/**
 * A verdict with a log line. `log` is the optional field the session logs
 * (filter.ts); built by spreading so it type-checks whether or not the field
 * is declared yet.
 */
export function withLog(verdict: Verdict, log: string | undefined): Verdict {
  if (log === undefined) return verdict;
  const logged = { ...verdict, log };
  return logged as Verdict;
}

/** A list-check refusal: one reply line, the hit's rule, the log line when logging is on. */
export function listRefusal(
  reply: string,
  check: string,
  hit: ListHit,
  log: string | undefined,
  options: { tarpitted?: boolean } = {},
): Verdict {
  return withLog({ kind: "refuse", reply: [reply], rule: hitRule(check, hit), ...options }, log);
}
