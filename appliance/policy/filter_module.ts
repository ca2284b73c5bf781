/**
 * One check's entry in the check table (filter_modules.ts): the pure check,
 * how its control files are read, and how one client's settings come from
 * them. Apart from the table so the modules that register checks
 * (list_modules.ts, dns_checks.ts, recipient_modules.ts) and the table can
 * both import it without a cycle.
 */
import type { FilterCheck } from "../filters/filter.ts";

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
