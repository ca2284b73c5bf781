/**
 * The DNS-based checks as filter modules (filter_modules.ts): each check
 * (appliance/filters/), its loader (config/filter_dns.ts, config/rblsmtpd.ts)
 * and how one client's settings come from the files and the client's
 * layered environment (docs/patches.md seeds 000, 001, 004):
 *
 * - rbl: the listener's rblsmtpd options; RBLSMTPD (unset, empty, text,
 *   -text);
 * - helodnschk: HELODNSCHKEXT / HELODNSCHKINT override the files;
 * - spf: SPFBEHAVIOR overrides spfbehavior (values past 3 read as 3);
 * - antispoofing: NOANTISPOOFING turns it off;
 * - mfcheck: MFCHECK overrides mfcheck (values past 2 read as 2).
 *
 * As everywhere in the seeds, a variable that is set overrides its file; a
 * number that does not parse is ignored and the file's value kept, as
 * config/smtpd.ts does. Pure.
 */
import { type FilterClient, filterModule } from "./filter_module.ts";
import { rblCheck, type RblSettings } from "../filters/rbl.ts";
import { heloDnsCheck } from "../filters/helodnschk.ts";
import { spfCheck } from "../filters/spf.ts";
import { antispoofingCheck } from "../filters/antispoofing.ts";
import { mfcheckCheck } from "../filters/mfcheck.ts";
import { normaliseAddress } from "../filters/mxblacklist.ts";
import {
  loadAntispoofingControls,
  loadHeloDnsCheckControls,
  loadMfcheckControls,
  loadSpfControls,
} from "../../config/filter_dns.ts";
import {
  loadRblControls,
  RBL_DEFAULT_TIMEOUT_SECONDS,
  type RblListener,
} from "../../config/rblsmtpd.ts";

type Env = FilterClient["env"];

/** A whole number from the environment, or undefined (the file's value is kept). */
function envNumber(env: Env, name: string): number | undefined {
  const value = env[name]?.trim();
  return value !== undefined && /^\d{1,15}$/.test(value) ? Number(value) : undefined;
}

/** Set and not "0" (aio's "if the environment variable X is set, it overrides x"). */
function envFlag(env: Env, name: string): boolean | undefined {
  const value = env[name];
  return value === undefined ? undefined : value.trim() !== "0";
}

export const RBL_MODULE = filterModule({
  check: rblCheck,
  load: loadRblControls,
  settings(controls, client: FilterClient): RblSettings | undefined {
    const options = controls[client.listener as RblListener];
    const rblsmtpd = client.env.RBLSMTPD;
    // RBLSMTPD set to a text blocks even on a listener without lists, as rblsmtpd would.
    if (options === undefined && (rblsmtpd === undefined || rblsmtpd === "")) return undefined;
    const settings: RblSettings = options !== undefined ? { ...options } : {
      sources: [],
      bounce: false,
      failClosed: false,
      timeoutSeconds: RBL_DEFAULT_TIMEOUT_SECONDS,
      blacklist: false,
    };
    if (rblsmtpd !== undefined) settings.rblsmtpd = rblsmtpd;
    return settings;
  },
});

export const HELO_DNS_MODULE = filterModule({
  check: heloDnsCheck,
  load: loadHeloDnsCheckControls,
  settings(controls, client) {
    const external = envFlag(client.env, "HELODNSCHKEXT") ?? controls.external;
    const internal = envFlag(client.env, "HELODNSCHKINT") ?? controls.internal;
    return external || internal ? { external, internal } : undefined;
  },
});

export const SPF_MODULE = filterModule({
  check: spfCheck,
  load: loadSpfControls,
  settings(controls, client) {
    const fromEnv = envNumber(client.env, "SPFBEHAVIOR");
    // The SPF patch's 4 to 6 read as 3: seed 004 defines 0 to 3.
    const behavior = Math.min(fromEnv ?? controls.behavior, 3);
    if (behavior === 0) return undefined;
    return { behavior, source: fromEnv !== undefined ? "SPFBEHAVIOR" : "control/spfbehavior" };
  },
});

export const ANTISPOOFING_MODULE = filterModule({
  check: antispoofingCheck,
  load: loadAntispoofingControls,
  settings(rules, client) {
    if (rules.length === 0 || client.env.NOANTISPOOFING !== undefined) return undefined;
    return { rules };
  },
});

export const MFCHECK_MODULE = filterModule({
  check: mfcheckCheck,
  load: loadMfcheckControls,
  settings(controls, client) {
    const fromEnv = envNumber(client.env, "MFCHECK");
    const level = Math.min(fromEnv ?? controls.level, 2);
    if (level === 0) return undefined;
    return {
      level,
      source: fromEnv !== undefined ? "MFCHECK" : "control/mfcheck",
      timeoutSeconds: controls.timeoutSeconds,
      mxBlacklist: controls.mxBlacklist.map(normaliseAddress),
    };
  },
});
