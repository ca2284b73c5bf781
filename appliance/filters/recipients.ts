/**
 * recipientchk and control/recipients (docs/patches.md, seed 001: the
 * RECIPIENTS extension of the aio patch). For clients that do not relay,
 * each RCPT is checked:
 *
 * - recipientchk 1: against the accounts local delivery knows (qmd has no
 *   system accounts to look up: the local role answers a `recipient` lookup,
 *   as for realrcptto), for addresses qmd delivers itself;
 * - recipientchk 2: against the fastforward-compatible cdbs listed in
 *   control/recipients: key `:address` in lower case (what `qmd recipients`
 *   and qmail-recipients write), `!@domain` taking a whole domain, an
 *   address with an extension found by `:user-@domain` (qmail's address
 *   extensions, VERP), an address without `@` taken as `@localhost`.
 *
 * A refusal waits recipientchkdelay seconds first, against dictionary
 * attacks. Pure: the cdbs come in as their keys (config/recipient_checks.ts
 * reads them once per reload).
 */
import { asciiLower } from "../../config/ascii.ts";
import type { RoutingTable } from "../send/routing.ts";
import type { FilterCheck, FilterRequest, LookupAnswer, RuleRef, Verdict } from "./filter.ts";
import { PASS, refuse } from "./filter.ts";
import { feedsSpamCatcher, localAddress, REPLY_CANNOT_VERIFY } from "./realrcptto.ts";

/** Seed 001's text for an unknown recipient (its RCPTCHECK 100 reply; the extension has none of its own). */
export const REPLY_NOT_LISTED = "553 sorry, no mailbox here by that name. (#5.1.1)";

/** One cdb named in control/recipients: its path as written, its line, and its keys. */
export interface RecipientTable {
  file: string;
  line: number;
  /** The cdb's keys as byte strings (one char per byte). */
  keys: ReadonlySet<string>;
}

export interface RecipientsSettings {
  /** 1: local delivery's accounts; 2: the cdbs. */
  mode: 1 | 2;
  tables: readonly RecipientTable[];
  /** For mode 1: which addresses qmd delivers itself. */
  routing: RoutingTable;
  /** recipientchkdelay: seconds before a refusal. */
  delaySeconds: number;
  /** Where the mode came from: control/recipientchk, RECIPIENTCHK, or control/recipients. */
  source: string;
}

/**
 * The keys that take `address`, in the order they are tried in each cdb:
 * the domain wildcard (`!@domain`, with and without fastforward's `:`), the
 * address, then `user-@domain` for each extension boundary, longest first.
 */
export function recipientKeys(address: string): string[] {
  let lower = asciiLower(address);
  if (!lower.includes("@")) lower += "@localhost";
  const at = lower.lastIndexOf("@");
  const local = lower.slice(0, at);
  const domain = lower.slice(at + 1);
  const keys = [`:!@${domain}`, `!@${domain}`, `:${lower}`];
  for (let i = local.lastIndexOf("-"); i > 0; i = local.lastIndexOf("-", i - 1)) {
    keys.push(`:${local.slice(0, i + 1)}@${domain}`);
  }
  return keys;
}

/** The first table and key that take the address, or undefined. */
export function findRecipient(
  address: string,
  tables: readonly RecipientTable[],
): { table: RecipientTable; key: string } | undefined {
  const keys = recipientKeys(address);
  for (const table of tables) {
    for (const key of keys) if (table.keys.has(key)) return { table, key };
  }
  return undefined;
}

function refusal(request: FilterRequest, settings: RecipientsSettings, entry?: string): Verdict {
  const rule: RuleRef = {
    check: "recipients",
    source: settings.source,
    entry: entry ?? request.recipient ?? "",
  };
  return refuse(REPLY_NOT_LISTED, rule, { tarpitSeconds: settings.delaySeconds });
}

export const recipientsCheck: FilterCheck<RecipientsSettings> = {
  name: "recipients",
  phases: ["rcpt"],
  check(request, settings): Verdict {
    const recipient = request.recipient ?? "";
    if (recipient === "" || request.relaying || feedsSpamCatcher(request)) return PASS;
    if (settings.mode === 1) {
      const address = localAddress(recipient, settings.routing);
      if (address === undefined) return PASS;
      return { kind: "lookup", lookup: { kind: "recipient", address } };
    }
    return findRecipient(recipient, settings.tables) !== undefined
      ? PASS
      : refusal(request, settings);
  },
  resume(request, settings, answer: LookupAnswer): Verdict {
    if (answer.kind === "recipient") {
      return answer.deliverable ? PASS : refusal(request, settings);
    }
    const reason = answer.kind === "temporary" ? answer.reason : `unexpected ${answer.kind}`;
    return refuse(REPLY_CANNOT_VERIFY, {
      check: "recipients",
      source: settings.source,
      entry: `${request.recipient}: ${reason}`,
    });
  },
};
