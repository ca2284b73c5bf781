/**
 * qmail's ipme list with the moreipme/notipme patch (docs/patches.md seed 001; docs/queue-format.md
 * §5.8 step 5): the addresses that are this machine, so qmail-remote never
 * delivers to itself.
 *
 *   ipme  = 127.0.0.0/8, 0.0.0.0, every interface address (in the order
 *           Deno.networkInterfaces() reports them), then control/moreipme;
 *   notipme = control/notipme.
 * An address is "me" when the longest-mask matching ipme entry is longer than
 * the longest-mask matching notipme entry; equal lengths → notipme wins; no
 * ipme match → not me. IPv6 interface addresses are included as /128 entries
 * (plus ::1 and ::), compared after normalisation; moreipme/notipme are IPv4.
 */
import { type IpNet, parseIpv4 } from "../../config/remote.ts";

/** One entry of the list: an IPv4 network or an exact IPv6 address. */
export interface IpMeEntry {
  address: string;
  prefixLength: number;
}

export interface IpMeSources {
  moreIpMe: IpNet[];
  notIpMe: IpNet[];
}

/** An IPv6 address in one canonical form (8 lower-case groups), or undefined. */
export function normalizeIpv6(text: string): string | undefined {
  let address = text.toLowerCase().replace(/%.*$/, "");
  if (address.startsWith("[") && address.endsWith("]")) address = address.slice(1, -1);
  if (!address.includes(":")) return undefined;
  const v4 = /(\d+\.\d+\.\d+\.\d+)$/.exec(address);
  if (v4) {
    const value = parseIpv4(v4[1]);
    if (value === undefined) return undefined;
    const high = Math.floor(value / 65536).toString(16);
    const low = (value % 65536).toString(16);
    address = `${address.slice(0, v4.index)}${high}:${low}`;
  }
  const halves = address.split("::");
  if (halves.length > 2) return undefined;
  const head = halves[0] === "" ? [] : halves[0].split(":");
  const tail = halves.length === 2 && halves[1] !== "" ? halves[1].split(":") : [];
  const missing = 8 - head.length - tail.length;
  if (halves.length === 1 ? missing !== 0 : missing < 1) return undefined;
  const groups = [...head, ...Array(halves.length === 2 ? missing : 0).fill("0"), ...tail];
  if (groups.some((group) => !/^[0-9a-f]{1,4}$/.test(group))) return undefined;
  return groups.map((group) => group.replace(/^0+(?=.)/, "")).join(":");
}

function matches(entry: IpMeEntry, ip: string, v4: number | undefined): boolean {
  if (v4 !== undefined) {
    const net = parseIpv4(entry.address);
    if (net === undefined) return false;
    if (entry.prefixLength === 0) return true;
    const shift = 32 - entry.prefixLength;
    return Math.floor(net / 2 ** shift) === Math.floor(v4 / 2 ** shift);
  }
  return normalizeIpv6(entry.address) === ip;
}

function longestMatch(entries: IpMeEntry[], ip: string, v4: number | undefined): number {
  let best = -1;
  for (const entry of entries) {
    if (entry.prefixLength > best && matches(entry, ip, v4)) best = entry.prefixLength;
  }
  return best;
}

/** The ipme and notipme lists and the longest-mask decision. */
export class IpMe {
  readonly #me: IpMeEntry[];
  readonly #not: IpMeEntry[];

  constructor(me: IpMeEntry[], not: IpMeEntry[]) {
    this.#me = me;
    this.#not = not;
  }

  /** The ipme list in qmail's order (ipmeprint). */
  get entries(): IpMeEntry[] {
    return [...this.#me];
  }

  /** The notipme list. */
  get excluded(): IpMeEntry[] {
    return [...this.#not];
  }

  /** Whether ip (dotted quad or IPv6, brackets allowed) is this machine (ipmetest). */
  isMe(ip: string): boolean {
    const bare = ip.startsWith("[") && ip.endsWith("]") ? ip.slice(1, -1) : ip;
    const v4 = parseIpv4(bare);
    const key = v4 !== undefined ? bare : normalizeIpv6(bare);
    if (key === undefined) return false;
    const me = longestMatch(this.#me, key, v4);
    if (me < 0) return false;
    return me > longestMatch(this.#not, key, v4);
  }
}

/**
 * Builds the ipme list from the controls and the interfaces (default
 * Deno.networkInterfaces(), which needs --allow-sys; tests inject a list).
 */
export function buildIpMe(
  sources: IpMeSources,
  interfaces: Pick<Deno.NetworkInterfaceInfo, "family" | "address">[] = Deno.networkInterfaces(),
): IpMe {
  const me: IpMeEntry[] = [
    { address: "127.0.0.0", prefixLength: 8 },
    { address: "0.0.0.0", prefixLength: 32 },
    { address: "::1", prefixLength: 128 },
    { address: "::", prefixLength: 128 },
  ];
  for (const info of interfaces) {
    me.push({ address: info.address, prefixLength: info.family === "IPv4" ? 32 : 128 });
  }
  me.push(...sources.moreIpMe);
  return new IpMe(me, [...sources.notIpMe]);
}
