/**
 * The recipient block of the filter chain (filter_modules.ts): realrcptto,
 * recipients/recipientchk, rcptcheck and greylisting (appliance/filters/),
 * each joined with its control files (config/recipient_checks.ts) and with
 * how one client's environment (process, listener, tcp.smtp) switches it:
 * NOREALRCPTTO, RECIPIENTCHK, RECIPIENTCHKDELAY, RCPTCHECK, NOGREYLIST.
 */
import { buildRoutingTable, type RoutingTable } from "../send/routing.ts";
import { realRcptToCheck, type RealRcptToSettings } from "../filters/realrcptto.ts";
import { recipientsCheck, type RecipientsSettings } from "../filters/recipients.ts";
import { rcptCheck, type RcptCheckSettings } from "../filters/rcptcheck.ts";
import { greylistCheck, type GreylistSettings } from "../filters/greylist.ts";
import {
  type GreylistControls,
  loadGreylist,
  loadRcptCheck,
  loadRealRcptTo,
  loadRecipients,
  type RcptCheckControls,
  type RealRcptToControls,
  type RecipientsControls,
} from "../../config/recipient_checks.ts";
import type { SendRoutingControls } from "../../config/send.ts";
import { filterModule } from "./filter_module.ts";

/** Routing tables compiled once per reload (each reload loads a new controls object). */
const compiled = new WeakMap<SendRoutingControls, RoutingTable>();

function routingTable(controls: SendRoutingControls): RoutingTable {
  let table = compiled.get(controls);
  if (table === undefined) {
    table = buildRoutingTable(controls);
    compiled.set(controls, table);
  }
  return table;
}

/** An environment number as qmail's scan_ulong reads it: leading digits, else 0. */
export function envNumber(value: string): number {
  const digits = /^\s*(\d+)/.exec(value);
  return digits === null ? 0 : Number(digits[1]);
}

export const REALRCPTTO_MODULE = filterModule<RealRcptToControls, RealRcptToSettings>({
  check: realRcptToCheck,
  load: loadRealRcptTo,
  settings: (controls, client) =>
    controls.enabled && client.env.NOREALRCPTTO === undefined
      ? { routing: routingTable(controls.routing) }
      : undefined,
});

/**
 * recipientchk's mode: $RECIPIENTCHK, else control/recipientchk, else 2 when
 * control/recipients lists a cdb. Mode 2 without a cdb would refuse every
 * recipient: the extension passes then, as seed 001's does without the file.
 */
export const RECIPIENTS_MODULE = filterModule<RecipientsControls, RecipientsSettings>({
  check: recipientsCheck,
  load: loadRecipients,
  settings: (controls, client) => {
    const fromEnv = client.env.RECIPIENTCHK;
    const mode = fromEnv !== undefined
      ? envNumber(fromEnv)
      : controls.mode ?? (controls.tables.length > 0 ? 2 : 0);
    if (mode !== 1 && (mode !== 2 || controls.tables.length === 0)) return undefined;
    const delay = client.env.RECIPIENTCHKDELAY;
    return {
      mode,
      tables: controls.tables,
      routing: routingTable(controls.routing),
      delaySeconds: delay !== undefined ? envNumber(delay) : controls.delaySeconds,
      source: fromEnv !== undefined
        ? "RECIPIENTCHK"
        : controls.mode !== undefined
        ? "control/recipientchk"
        : "control/recipients",
    };
  },
});

/** $RCPTCHECK overrides control/rcptcheck; set empty, it turns the check off. */
export const RCPTCHECK_MODULE = filterModule<RcptCheckControls, RcptCheckSettings>({
  check: rcptCheck,
  load: loadRcptCheck,
  settings: (controls, client) => {
    const fromEnv = client.env.RCPTCHECK;
    const program = (fromEnv ?? controls.program ?? "").trim();
    if (program === "") return undefined;
    return {
      program,
      source: fromEnv !== undefined ? "RCPTCHECK" : "control/rcptcheck",
      timeoutSeconds: controls.timeoutSeconds,
    };
  },
});

export const GREYLIST_MODULE = filterModule<GreylistControls, GreylistSettings>({
  check: greylistCheck,
  load: loadGreylist,
  settings: (controls, client) =>
    controls.enabled && client.env.NOGREYLIST === undefined
      ? { delaySeconds: controls.delaySeconds, lifetimeSeconds: controls.lifetimeSeconds }
      : undefined,
});
