/**
 * datechecks (docs/patches.md seed 000, md16, "mostly from fefe"): a line
 * `prefix:days` makes a recipient whose local part is `prefix` followed by a
 * date `YYYYMMDD` valid for `days` days after that date; later dates are
 * valid too. With `qmail-list-:7` on 2004-11-14, `qmail-list-20041213` is
 * taken and `qmail-list-20041103` refused. A local part with the prefix but
 * no valid date after it is not this check's business. Dates are UTC days
 * of the session's clock. Pure.
 */
import { asciiLower } from "../../config/ascii.ts";
import { type FilterCheck, PASS } from "./filter.ts";
import { withLog } from "./list_check.ts";

/** qmd's wording: the seed gives none. */
export const REPLY_ADDRESS_EXPIRED = "553 5.1.1 sorry, that address has expired";

export interface DateCheck {
  prefix: string;
  days: number;
  line: number;
}

export interface DatechecksSettings {
  source: string;
  checks: readonly DateCheck[];
  /** control/log/datechecks. */
  log: boolean;
}

const DAY_MS = 86_400_000;

/** Unix ms of 00:00 UTC of YYYYMMDD, or undefined when it is not a real date. */
export function parseDateStamp(stamp: string): number | undefined {
  const match = /^(\d{4})(\d{2})(\d{2})$/.exec(stamp);
  if (match === null) return undefined;
  const [year, month, day] = match.slice(1).map(Number);
  const time = Date.UTC(year, month - 1, day);
  const date = new Date(time);
  if (date.getUTCFullYear() !== year || date.getUTCMonth() !== month - 1) return undefined;
  if (date.getUTCDate() !== day) return undefined;
  return time;
}

/** The line that refuses this local part at `now`, if any. */
export function expiredBy(
  checks: readonly DateCheck[],
  localPart: string,
  now: number,
): DateCheck | undefined {
  const lower = asciiLower(localPart);
  const today = Math.floor(now / DAY_MS) * DAY_MS;
  for (const check of checks) {
    if (!lower.startsWith(asciiLower(check.prefix))) continue;
    const date = parseDateStamp(lower.slice(check.prefix.length, check.prefix.length + 8));
    if (date === undefined) continue;
    return date < today - check.days * DAY_MS ? check : undefined;
  }
  return undefined;
}

export const datechecksCheck: FilterCheck<DatechecksSettings> = {
  name: "datechecks",
  phases: ["rcpt"],
  check(request, settings) {
    const recipient = request.recipient;
    if (recipient === undefined) return PASS;
    const at = recipient.lastIndexOf("@");
    const localPart = at >= 0 ? recipient.slice(0, at) : recipient;
    const hit = expiredBy(settings.checks, localPart, request.now);
    if (hit === undefined) return PASS;
    const entry = `${hit.prefix}:${hit.days}`;
    const log = settings.log
      ? `datechecks: <${recipient}> expired (${settings.source} line ${hit.line}: ${entry})`
      : undefined;
    return withLog({
      kind: "refuse",
      reply: [REPLY_ADDRESS_EXPIRED],
      rule: { check: "datechecks", source: settings.source, line: hit.line, entry },
    }, log);
  },
};
