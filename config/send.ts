/**
 * qmail-send's controls (docs/queue-format.md §9), read at start and on SIGHUP
 * and returned as plain data; the send engine compiles the routing lists into
 * its lookup tables (appliance/send/routing.ts).
 */
import { ControlError, orDefault, readControlLine, readControlList } from "./control.ts";
import { lineDefault, meFallback, numberDefault } from "./controls.ts";

/**
 * conf-spawn: the most deliveries a spawner takes at once (§4.1 step 4). qmail
 * builds with 120 and cannot pass 255 (a delivery number is one byte on the
 * spawn pipe); seed 000 applies the big-concurrency patch, whose two-byte
 * numbers take it to what select() allows on Linux, (FD_SETSIZE - 5) / 2 =
 * 509. qmd has neither limit (its deliveries are promises in one isolate),
 * and takes the patch's 509 so that an operator's qmail-md setting means the
 * same here. Each remote delivery holds a socket and each local one may hold
 * a file or a program: the process's open-files limit must allow them.
 */
export const SPAWN_LIMIT = 509;

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
  const meOr = (name: string) => readControlLine(home, name) ?? me ?? meFallback(name);
  const doubleBounceTo = readControlLine(home, "doublebounceto") ?? lineDefault("doublebounceto");
  return {
    routing: readSendRouting(home),
    ...readSendConcurrency(home),
    queueLifetime: readNonNegative(home, "queuelifetime"),
    bounce: {
      bounceFrom: readControlLine(home, "bouncefrom") ?? lineDefault("bouncefrom"),
      bounceHost: meOr("bouncehost"),
      doubleBounceRecipient: `${doubleBounceTo}@${meOr("doublebouncehost")}`,
      maxBytes: readNonNegative(home, "bouncemaxbytes"),
    },
  };
}

/**
 * The four lists qmail-send routes recipients by (§4.4); smtpd's recipient
 * checks (realrcptto) route with the same ones. Throws ControlError.
 */
export function readSendRouting(home: string): SendRoutingControls {
  const me = readControlLine(home, "me");
  return {
    envnoathost: readControlLine(home, "envnoathost") ?? me ?? meFallback("envnoathost"),
    locals: readLocals(home, me),
    percenthack: listValues(home, "percenthack") ?? [],
    virtualdomains: listValues(home, "virtualdomains") ?? [],
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
    concurrencyLocal: Math.min(readNonNegative(home, "concurrencylocal"), SPAWN_LIMIT),
    concurrencyRemote: Math.min(readNonNegative(home, "concurrencyremote"), SPAWN_LIMIT),
  };
}

/** A whole number, not negative; absent or empty gives config/controls.ts's default. */
function readNonNegative(home: string, name: string): number {
  const fallback = numberDefault(name);
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
