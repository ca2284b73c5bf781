/**
 * The anti-spam and policy checks (appliance/filters/) in chain order, each
 * with how its control files are read and how one client's settings come
 * from them. The role loads every module's controls once per reload
 * (loadFilterControls: plain data, so it crosses postMessage; a broken file
 * throws a ControlError naming the file and line) and, per connection, turns
 * them into the session's ActiveChecks with the client's layered
 * environment (process, listener, tcp.smtp), where the NO... and BAD...
 * switches live.
 *
 * Order matters: within a phase the first refusal or acceptance decides.
 */
import type { ActiveCheck } from "../filters/chain.ts";
import type { FilterClient, FilterModule } from "./filter_module.ts";
import {
  BADHELO_MODULE,
  BADMAILFROM_MODULE,
  BADMAILTO_MODULE,
  BADRCPTTO_MODULE,
  BADRMHOST_MODULE,
  DATECHECKS_MODULE,
  GOODMAILFROM_MODULE,
  REQBRACKETS_MODULE,
  WHOLE_MESSAGE_MODULE,
} from "./list_modules.ts";
import {
  GREYLIST_MODULE,
  RCPTCHECK_MODULE,
  REALRCPTTO_MODULE,
  RECIPIENTS_MODULE,
} from "./recipient_modules.ts";
import {
  ANTISPOOFING_MODULE,
  HELO_DNS_MODULE,
  MFCHECK_MODULE,
  RBL_MODULE,
  SPF_MODULE,
} from "./dns_checks.ts";

export type { FilterClient, FilterModule } from "./filter_module.ts";
export { filterModule } from "./filter_module.ts";

export const FILTER_MODULES: readonly FilterModule[] = [
  // Client and HELO checks (connect, helo).
  RBL_MODULE,
  BADHELO_MODULE,
  HELO_DNS_MODULE,
  // Sender checks (mail).
  // reqbrackets first: an address without <> is a syntax error before any list is asked (it
  // also runs at rcpt). badrmhost and antispoofing before goodmailfrom, whose acceptance ends
  // the mail phase: a goodmailfrom sender skips badmailfrom, SPF and mfcheck.
  REQBRACKETS_MODULE,
  BADRMHOST_MODULE,
  ANTISPOOFING_MODULE,
  GOODMAILFROM_MODULE,
  BADMAILFROM_MODULE,
  SPF_MODULE,
  MFCHECK_MODULE,
  // Recipient checks (rcpt).
  BADMAILTO_MODULE,
  BADRCPTTO_MODULE,
  DATECHECKS_MODULE,
  REALRCPTTO_MODULE,
  RECIPIENTS_MODULE,
  RCPTCHECK_MODULE,
  GREYLIST_MODULE,
  // Whole-transaction checks (data, end).
  WHOLE_MESSAGE_MODULE,
];

/** Every module's controls, in FILTER_MODULES order. */
export type FilterControls = readonly unknown[];

export function loadFilterControls(
  home: string,
  modules: readonly FilterModule[] = FILTER_MODULES,
): FilterControls {
  return modules.map((module) => module.load(home));
}

/** The checks on for this client, with their settings, in chain order. */
export function activeChecks(
  controls: FilterControls,
  client: FilterClient,
  modules: readonly FilterModule[] = FILTER_MODULES,
): ActiveCheck[] {
  const active: ActiveCheck[] = [];
  modules.forEach((module, i) => {
    const settings = module.settings(controls[i], client);
    if (settings !== undefined) active.push({ check: module.check, settings });
  });
  return active;
}
