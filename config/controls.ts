/**
 * Every control file qmd knows (docs/queue-format.md §9, qmail-control(5) and
 * the patches in the seeds (docs/patches.md)): its kind, its default, which role reads it and
 * what it means. `qmd showctl` prints this table with each file's value, and
 * config/controls_test.ts fails when code reads a control file that is not
 * listed here, so the table stays the truth.
 *
 * The entries live in config/controls/, one module per area; this index
 * puts them together in showctl's (and the README table's) order and gives
 * the loaders their defaults.
 *
 * Leaf module: plain data, no I/O.
 */
import type { ControlSpec } from "./controls/spec.ts";
import { SEND_CONTROLS } from "./controls/send.ts";
import { SMTPD_CONTROLS } from "./controls/smtpd.ts";
import { AUTH_TLS_CONTROLS } from "./controls/auth_tls.ts";
import { SESSION_CONTROLS } from "./controls/sessions.ts";
import { POP3D_CONTROLS } from "./controls/pop3d.ts";
import { INJECT_CONTROLS } from "./controls/inject.ts";
import { REMOTE_CONTROLS } from "./controls/remote.ts";
import { BMCHECKS_CONTROLS } from "./controls/bmchecks.ts";
import { CONTENT_CONTROLS } from "./controls/content.ts";
import { RECIPIENT_CONTROLS } from "./controls/recipients.ts";
import { FILTER_DNS_CONTROLS } from "./controls/filters_dns.ts";
import { MAIL_SECURITY_CONTROLS } from "./controls/mail_security.ts";
import { AUTH_RESULTS_CONTROLS } from "./controls/auth_results.ts";

export type { ControlKind, ControlReader, ControlSpec } from "./controls/spec.ts";

export const CONTROLS: readonly ControlSpec[] = [
  ...SEND_CONTROLS,
  ...SMTPD_CONTROLS,
  ...BMCHECKS_CONTROLS,
  ...CONTENT_CONTROLS,
  ...AUTH_TLS_CONTROLS,
  ...SESSION_CONTROLS,
  ...POP3D_CONTROLS,
  ...INJECT_CONTROLS,
  ...REMOTE_CONTROLS,
  ...RECIPIENT_CONTROLS,
  ...FILTER_DNS_CONTROLS,
  ...MAIL_SECURITY_CONTROLS,
  ...AUTH_RESULTS_CONTROLS,
];

/** The table entry for a control file name, if qmd knows it. */
export function findControl(name: string): ControlSpec | undefined {
  return CONTROLS.find((spec) => spec.name === name);
}

/** The entry for a name the code reads; a name missing from the table is a programming error. */
function knownControl(name: string): ControlSpec {
  const spec = findControl(name);
  if (spec === undefined) throw new Error(`control/${name} is not in config/controls.ts`);
  return spec;
}

/** A number control's default (maxcmdlen: 4096), the one place the loaders take it from. */
export function numberDefault(name: string): number {
  const spec = knownControl(name);
  if (spec.kind !== "number" || !/^\d+$/.test(spec.default)) {
    throw new Error(`control/${name} has no numeric default in config/controls.ts`);
  }
  return Number(spec.default);
}

/** A set-or-not control's default: "0" is off, "1" is on. */
export function flagDefault(name: string): boolean {
  const spec = knownControl(name);
  if (spec.kind !== "line" || (spec.default !== "0" && spec.default !== "1")) {
    throw new Error(`control/${name} has no 0 or 1 default in config/controls.ts`);
  }
  return spec.default === "1";
}

/** A line control's literal default (bouncefrom: MAILER-DAEMON), neither "none" nor "me". */
export function lineDefault(name: string): string {
  const spec = knownControl(name);
  if (spec.kind !== "line" || spec.default === "none" || spec.default === "me") {
    throw new Error(`control/${name} has no literal default in config/controls.ts`);
  }
  return spec.default;
}

/** For a control whose default is "me": qmail's literal when control/me is absent too. */
export function meFallback(name: string): string {
  const spec = knownControl(name);
  if (spec.default !== "me" || spec.fallback === undefined) {
    throw new Error(`control/${name} has no fallback for a missing me in config/controls.ts`);
  }
  return spec.fallback;
}
