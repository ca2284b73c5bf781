/**
 * antispoofing (docs/patches.md seed 001): `control/antispoofing` names
 * senders, by address or by domain, and the networks they may connect from:
 *
 *     dan@foo.com: 10.10.10/255.255.0.0 10.195.4
 *     bar.org: 10.98.8.3
 *
 * A MAIL FROM listed there from an address outside every one of its
 * networks is refused (an address line wins over its domain's line);
 * senders not listed are not affected. `$NOANTISPOOFING` turns the check
 * off. The seed gives no reply text; qmd answers
 * `553 sorry, this sender is not allowed from your IP address (#5.7.1)`.
 * An authenticated client proved who it is and is not checked (qmd's
 * choice: the seed's networks are about unauthenticated forgeries).
 *
 * The networks are parsed by config/filter_dns.ts. Pure.
 */
import type { FilterCheck, RuleRef } from "./filter.ts";
import { PASS, refuse } from "./filter.ts";
import type { AntispoofingRule, Ipv4Network } from "../../config/filter_dns.ts";
import { asciiLower } from "../../config/ascii.ts";
import { utf8ByteString } from "../bytes.ts";

export type { AntispoofingRule, Ipv4Network };

export interface AntispoofingSettings {
  rules: readonly AntispoofingRule[];
}

export const ANTISPOOFING_REPLY =
  "553 sorry, this sender is not allowed from your IP address (#5.7.1)";

function octets(text: string): number[] | undefined {
  const parts = text.split(".");
  if (parts.length < 1 || parts.length > 4) return undefined;
  if (!parts.every((part) => /^\d{1,3}$/.test(part) && Number(part) <= 255)) return undefined;
  return parts.map(Number);
}

function toNumber(parts: number[]): number {
  return parts.reduce((value, part) => ((value << 8) | part) >>> 0, 0);
}

/** An IPv4 client address as a number (IPv4-mapped IPv6 too), or undefined. */
export function ipv4Number(ip: string): number | undefined {
  const text = ip.toLowerCase().replace(/^::ffff:/, "");
  const parts = octets(text);
  return parts === undefined || parts.length !== 4 ? undefined : toNumber(parts);
}

export function inNetwork(ip: number, network: Ipv4Network): boolean {
  return ((ip & network.mask) >>> 0) === network.address;
}

/** The rule for a sender: its address's line, else its domain's. */
export function ruleFor(
  rules: readonly AntispoofingRule[],
  sender: string,
): AntispoofingRule | undefined {
  // The sender is a byte string: rule lines compare as their UTF-8 bytes, ASCII case-insensitively.
  const address = asciiLower(sender);
  const domain = address.slice(address.lastIndexOf("@") + 1);
  const matches = (rule: AntispoofingRule, key: string) =>
    asciiLower(utf8ByteString(rule.sender)) === key;
  return rules.find((rule) => matches(rule, address)) ??
    (address.includes("@") ? rules.find((rule) => matches(rule, domain)) : undefined);
}

export const antispoofingCheck: FilterCheck<AntispoofingSettings> = {
  name: "antispoofing",
  phases: ["mail"],
  check(request, settings) {
    const sender = request.sender ?? "";
    if (sender === "" || request.authUser !== undefined) return PASS;
    const rule = ruleFor(settings.rules, sender);
    if (rule === undefined) return PASS;
    const ip = ipv4Number(request.remoteIp);
    if (ip !== undefined && rule.networks.some((network) => inNetwork(ip, network))) return PASS;
    const ref: RuleRef = {
      check: "antispoofing",
      source: "control/antispoofing",
      line: rule.line,
      entry: rule.text,
    };
    return refuse(ANTISPOOFING_REPLY, ref);
  },
};
