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
import type { FilterCheck } from "../filters/filter.ts";
import type { ActiveCheck } from "../filters/chain.ts";
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

/** What a module knows of the client when it picks its settings. */
export interface FilterClient {
  /** Process environment layered with the listener's and tcp.smtp's variables. */
  env: Readonly<Record<string, string>>;
  remoteIp: string;
  /** smtp, submission or smtps (the listener the client came in on). */
  listener: string;
}

export interface FilterModule<C = unknown, S = unknown> {
  check: FilterCheck<S>;
  /** Reads this check's control files from the home (once per reload). */
  load(home: string): C;
  /** This client's settings, or undefined when the check is off for it. */
  settings(controls: C, client: FilterClient): S | undefined;
}

/** Registers a module with its types checked, stored untyped in the table. */
export function filterModule<C, S>(module: FilterModule<C, S>): FilterModule {
  return module as unknown as FilterModule;
}

export const FILTER_MODULES: readonly FilterModule[] = [
  // Client and HELO checks (connect, helo).
  RBL_MODULE,
  HELO_DNS_MODULE,
  // Sender checks (mail).
  ANTISPOOFING_MODULE,
  SPF_MODULE,
  MFCHECK_MODULE,
  // Recipient checks (rcpt).
  REALRCPTTO_MODULE,
  RECIPIENTS_MODULE,
  RCPTCHECK_MODULE,
  GREYLIST_MODULE,
  // Whole-transaction checks (data, end).
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
