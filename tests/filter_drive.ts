/**
 * Drives one filter check (appliance/filters/) through its lookups with
 * canned answers, keyed "TYPE name" for DNS lookups and by kind for the
 * others; a lookup with no canned answer gets NXDOMAIN. Bounded: ten lookups.
 */
import type {
  FilterCheck,
  FilterRequest,
  LookupAnswer,
  Verdict,
} from "../appliance/filters/filter.ts";

export function driveCheck<S>(
  check: FilterCheck<S>,
  request: FilterRequest,
  settings: S,
  answers: Record<string, LookupAnswer>,
): { verdict: Verdict; asked: string[] } {
  const asked: string[] = [];
  let verdict = check.check(request, settings);
  for (let i = 0; verdict.kind === "lookup" && i < 10; i++) {
    const lookup = verdict.lookup;
    const key = lookup.kind === "dns" ? `${lookup.type} ${lookup.name}` : lookup.kind;
    asked.push(key);
    const answer = answers[key] ?? { kind: "dns", records: [], nxdomain: true };
    if (check.resume === undefined) throw new Error(`${check.name} cannot resume`);
    verdict = check.resume(request, settings, answer, lookup);
  }
  return { verdict, asked };
}
