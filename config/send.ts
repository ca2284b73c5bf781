/**
 * qmail-send's controls (qmail-formats.md §9), read at start and on SIGHUP
 * and returned as plain data; the send engine compiles the routing lists into
 * its lookup tables (appliance/send/routing.ts).
 */
import { ControlError, orDefault, readControlLine, readControlList } from "./control.ts";

/** conf-spawn: the most deliveries a qmail spawner accepts at once (§4.1 step 4). */
export const SPAWN_LIMIT = 120;

/** control/queuelifetime's default: one week. */
export const DEFAULT_QUEUE_LIFETIME = 604800;

/** control/bouncemaxbytes's default (qmail aio patch, seed 001). */
export const DEFAULT_BOUNCE_MAX_BYTES = 50000;

/** The lists todo/ is routed by (§4.4); appliance/send/routing.ts's RoutingControls. */
export interface SendRoutingControls {
  /** control/envnoathost: appended to recipients lacking `@`. */
  envnoathost: string;
  locals: string[];
  percenthack: string[];
  /** control/virtualdomains lines, `key:prepend`. */
  virtualdomains: string[];
}

/** The bounce controls (§4.8); appliance/queue/inject_bounce.ts's BounceSettings. */
export interface SendBounceControls {
  bounceFrom: string;
  bounceHost: string;
  /** doublebounceto + "@" + doublebouncehost. */
  doubleBounceRecipient: string;
  /** bouncemaxbytes; 0 = copy the whole message. */
  maxBytes: number;
}

/** concurrencylocal and concurrencyremote, capped at SPAWN_LIMIT. */
export interface SendConcurrency {
  concurrencyLocal: number;
  concurrencyRemote: number;
}

/** Everything qmail-send reads from control/ (§9). */
export interface SendControls extends SendConcurrency {
  routing: SendRoutingControls;
  queueLifetime: number;
  bounce: SendBounceControls;
}

/** Reads qmail-send's controls with qmail's defaults (§9). Throws ControlError. */
export function readSendControls(home: string): SendControls {
  const me = readControlLine(home, "me");
  const meOr = (name: string, fallback: string) => readControlLine(home, name) ?? me ?? fallback;
  const doubleBounceTo = readControlLine(home, "doublebounceto") ?? "postmaster";
  return {
    routing: {
      envnoathost: meOr("envnoathost", "envnoathost"),
      locals: readLocals(home, me),
      percenthack: listValues(home, "percenthack") ?? [],
      virtualdomains: listValues(home, "virtualdomains") ?? [],
    },
    ...readSendConcurrency(home),
    queueLifetime: readNonNegative(home, "queuelifetime", DEFAULT_QUEUE_LIFETIME),
    bounce: {
      bounceFrom: readControlLine(home, "bouncefrom") ?? "MAILER-DAEMON",
      bounceHost: meOr("bouncehost", "bouncehost"),
      doubleBounceRecipient: `${doubleBounceTo}@${meOr("doublebouncehost", "doublebouncehost")}`,
      maxBytes: readNonNegative(home, "bouncemaxbytes", DEFAULT_BOUNCE_MAX_BYTES),
    },
  };
}

/**
 * The routing lists qmail-send re-reads on SIGHUP: locals and virtualdomains
 * (§4.7). Throws ControlError.
 */
export function readSendLocals(
  home: string,
): Pick<SendRoutingControls, "locals" | "virtualdomains"> {
  const me = readControlLine(home, "me");
  return {
    locals: readLocals(home, me),
    virtualdomains: listValues(home, "virtualdomains") ?? [],
  };
}

/** The concurrency limits, capped at SPAWN_LIMIT (§9). Throws ControlError. */
export function readSendConcurrency(home: string): SendConcurrency {
  return {
    concurrencyLocal: Math.min(readNonNegative(home, "concurrencylocal", 10), SPAWN_LIMIT),
    concurrencyRemote: Math.min(readNonNegative(home, "concurrencyremote", 20), SPAWN_LIMIT),
  };
}

function readNonNegative(home: string, name: string, fallback: number): number {
  const line = readControlLine(home, name);
  if (line === undefined || line.trim() === "") return fallback;
  const text = line.trim();
  return orDefault(() => {
    if (!/^\d+$/.test(text) || !Number.isSafeInteger(Number(text))) {
      throw new ControlError(
        `${home}/control/${name}`,
        1,
        `expected a non-negative whole number, found ${JSON.stringify(text)}`,
      );
    }
    return Number(text);
  }, fallback);
}

function listValues(home: string, name: string): string[] | undefined {
  return readControlList(home, name)?.map((entry) => entry.value);
}

/** locals, or `me` when it is missing; neither is a fatal error (§9). */
function readLocals(home: string, me: string | undefined): string[] {
  const locals = listValues(home, "locals");
  if (locals !== undefined) return locals;
  if (me !== undefined) return [me];
  throw new ControlError(`${home}/control/locals`, 0, "missing, and so is control/me");
}
