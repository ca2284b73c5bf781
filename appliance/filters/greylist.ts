/**
 * Greylisting, built in (seed 000 leaves it to a control/rcptcheck script;
 * docs/patches.md). The first time a client network, sender and recipient
 * come together the RCPT gets a temporary refusal; a real mail server
 * retries, and once greylistdelay seconds have passed since the first try the
 * triplet passes and stays passed while it keeps being seen within
 * greylistlifetime seconds. Clients that relay (RELAYCLIENT, AUTH) are never
 * greylisted, nor those with $NOGREYLIST.
 *
 * The triplet's network is the client's /24 (IPv4) or /64 (IPv6): large
 * senders retry from another address of the same pool, and an exact address
 * would greylist them again on every retry.
 *
 * The triplets live in the accounts database (the auth role keeps them:
 * accounts/greylist_store.ts); greylistStep is the store's rule, pure.
 */
import { asciiLower } from "../../config/ascii.ts";
import type { FilterCheck, FilterRequest, LookupAnswer, Verdict } from "./filter.ts";
import { PASS, refuse } from "./filter.ts";
import { feedsSpamCatcher } from "./realrcptto.ts";

/** The first refusal of a triplet: 451, so the client retries. */
export const REPLY_GREYLISTED = "451 4.7.1 greylisted, please try again later";
/** When the store cannot be asked: temporary too (never an accept by accident, never a 5xx). */
export const REPLY_GREYLIST_UNAVAILABLE = "451 4.3.0 greylisting unavailable, try again later";

export interface GreylistSettings {
  /** greylistdelay: seconds from the first try until a retry passes. */
  delaySeconds: number;
  /** greylistlifetime: seconds a triplet is remembered after it was last seen. */
  lifetimeSeconds: number;
}

/** What the store keeps per triplet (Unix seconds). */
export interface GreylistRecord {
  firstSeen: number;
  lastSeen: number;
  passed: boolean;
}

/**
 * The client's network for the triplet: a.b.c.0/24 for IPv4, the first four
 * groups /64 for IPv6; anything else as it is.
 */
export function greylistNetwork(ip: string): string {
  const v4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.\d{1,3}$/.exec(ip);
  if (v4 !== null) return `${v4[1]}.${v4[2]}.${v4[3]}.0/24`;
  if (ip.includes(":")) {
    const groups = expandIpv6(ip);
    if (groups !== undefined) return `${groups.slice(0, 4).join(":")}::/64`;
  }
  return ip;
}

/** The eight groups of an IPv6 address (lower case, no leading zeros), or undefined. */
function expandIpv6(ip: string): string[] | undefined {
  const halves = ip.toLowerCase().split("::");
  if (halves.length > 2) return undefined;
  const head = halves[0] === "" ? [] : halves[0].split(":");
  const tail = halves.length === 2 && halves[1] !== "" ? halves[1].split(":") : [];
  if (tail.some((group) => group.includes("."))) return undefined;
  const missing = 8 - head.length - tail.length;
  if (missing < 0 || (halves.length === 1 && missing !== 0)) return undefined;
  const groups = [...head, ...Array<string>(missing).fill("0"), ...tail];
  if (!groups.every((group) => /^[0-9a-f]{1,4}$/.test(group))) return undefined;
  return groups.map((group) => group.replace(/^0+(?=.)/, ""));
}

/**
 * The store's rule for one try at `now` (Unix seconds): a triplet never seen,
 * or not seen for `lifetime` seconds, starts over; one first seen `delay` or
 * more seconds ago passes (and stays passed); every try counts as seen.
 */
export function greylistStep(
  existing: GreylistRecord | undefined,
  now: number,
  delay: number,
  lifetime: number,
): GreylistRecord {
  if (existing === undefined || now - existing.lastSeen > lifetime) {
    return { firstSeen: now, lastSeen: now, passed: delay <= 0 };
  }
  return {
    firstSeen: existing.firstSeen,
    lastSeen: now,
    passed: existing.passed || now - existing.firstSeen >= delay,
  };
}

/** The triplet of this RCPT: network, sender and recipient, addresses in lower case. */
export function greylistTriplet(
  request: FilterRequest,
): { ip: string; sender: string; recipient: string } {
  return {
    ip: greylistNetwork(request.remoteIp),
    sender: asciiLower(request.sender ?? ""),
    recipient: asciiLower(request.recipient ?? ""),
  };
}

export const greylistCheck: FilterCheck<GreylistSettings> = {
  name: "greylist",
  phases: ["rcpt"],
  check(request, settings): Verdict {
    if (request.relaying || (request.recipient ?? "") === "" || feedsSpamCatcher(request)) {
      return PASS;
    }
    return {
      kind: "lookup",
      lookup: {
        kind: "greylist",
        ...greylistTriplet(request),
        delaySeconds: settings.delaySeconds,
        lifetimeSeconds: settings.lifetimeSeconds,
        now: Math.floor(request.now / 1000),
      },
    };
  },
  resume(request, settings, answer: LookupAnswer): Verdict {
    const triplet = greylistTriplet(request);
    const entry = `${triplet.ip} ${triplet.sender} ${triplet.recipient}`;
    if (answer.kind === "greylist") {
      if (answer.passed) return PASS;
      const wait = Math.max(0, answer.firstSeen + settings.delaySeconds - request.now / 1000);
      return refuse(REPLY_GREYLISTED, {
        check: "greylist",
        source: "control/greylist",
        entry: `${entry} (retry in ${Math.ceil(wait)} s)`,
      });
    }
    const reason = answer.kind === "temporary" ? answer.reason : `unexpected ${answer.kind}`;
    return refuse(REPLY_GREYLIST_UNAVAILABLE, {
      check: "greylist",
      source: "control/greylist",
      entry: `${entry}: ${reason}`,
    });
  },
};
