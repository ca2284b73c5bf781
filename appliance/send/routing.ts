/**
 * Address routing of qmail-send's preprocessing (docs/queue-format.md §4.4):
 * envnoathost, percenthack, locals and virtualdomains decide whether a
 * recipient is delivered by the local or the remote channel, and how its
 * address is rewritten. Also stripvdomprepend (§4.8 step 1), which undoes the
 * virtual-domain prefix for bounce paragraphs. Pure.
 *
 * Addresses are Uint8Array or byte strings (one char per byte). Control file
 * values arrive as JS strings decoded from UTF-8; they are turned back into
 * their UTF-8 bytes so that they compare with address bytes as qmail's
 * byte-wise constmap does. Domain comparison is ASCII case-insensitive.
 */
import { bytesToString, stringToBytes, utf8ByteString } from "../bytes.ts";
import { asciiLower } from "../../config/ascii.ts";

export type Channel = "local" | "remote";

/** The control files routing reads, as plain data (one entry per list line). */
export interface RoutingControls {
  /** control/envnoathost: appended to recipients lacking `@`. */
  envnoathost: string;
  /** control/locals. */
  locals: readonly string[];
  /** control/percenthack. */
  percenthack: readonly string[];
  /** control/virtualdomains lines, `key:prepend`. */
  virtualdomains: readonly string[];
}

/** RoutingControls compiled into lookup tables (qmail's constmaps). */
export interface RoutingTable {
  readonly envnoathost: string;
  readonly locals: ReadonlySet<string>;
  readonly percenthack: ReadonlySet<string>;
  /** Lower-cased key → prepend ("" = explicitly not virtual). */
  readonly virtualdomains: ReadonlyMap<string, string>;
}

export interface Route {
  channel: Channel;
  /** The address to record in the channel file (after `T`). */
  address: Uint8Array;
}

export { asciiLower };

/**
 * Compiles the control values. virtualdomains lines without a colon are
 * ignored; with duplicate keys the last line wins, as in qmail's constmap
 * (later entries sit first in the hash chain).
 */
export function buildRoutingTable(controls: RoutingControls): RoutingTable {
  const virtualdomains = new Map<string, string>();
  for (const line of controls.virtualdomains) {
    const colon = line.indexOf(":");
    if (colon < 0) continue;
    virtualdomains.set(
      asciiLower(utf8ByteString(line.slice(0, colon))),
      utf8ByteString(line.slice(colon + 1)),
    );
  }
  return {
    envnoathost: utf8ByteString(controls.envnoathost),
    locals: new Set(controls.locals.map((value) => asciiLower(utf8ByteString(value)))),
    percenthack: new Set(controls.percenthack.map((value) => asciiLower(utf8ByteString(value)))),
    virtualdomains,
  };
}

function asByteString(address: Uint8Array | string): string {
  return typeof address === "string" ? address : bytesToString(address);
}

/**
 * Routes one recipient of a todo file (§4.4, qmail-send's rewrite()):
 *
 * 1. no `@` → append `@` + envnoathost;
 * 2. percenthack: while the domain is listed, turn the last `%` of the local
 *    part into the `@` (`u%h2%h1@D` → `u%h2@h1`, then looked at again);
 * 3. domain in locals → local, unchanged;
 * 4. virtualdomains, first hit of: `user@domain`, `domain`, each `.suffix`
 *    longest first, the empty key. An empty prepend means "not virtual" →
 *    remote; otherwise local with `prepend-` + the whole address;
 * 5. otherwise remote.
 *
 * A string address must be a byte string (chars 0–255).
 */
export function routeRecipient(address: Uint8Array | string, table: RoutingTable): Route {
  let addr = asByteString(address);
  let at = addr.lastIndexOf("@");
  if (at < 0) {
    at = addr.length;
    addr += "@" + table.envnoathost;
  }
  while (table.percenthack.has(asciiLower(addr.slice(at + 1)))) {
    const percent = addr.lastIndexOf("%", at - 1);
    if (percent < 0) break;
    addr = addr.slice(0, percent) + "@" + addr.slice(percent + 1, at);
    at = percent;
  }
  at = addr.lastIndexOf("@");
  if (table.locals.has(asciiLower(addr.slice(at + 1)))) {
    return { channel: "local", address: stringToBytes(addr) };
  }
  const lower = asciiLower(addr);
  for (let i = 0; i <= addr.length; i++) {
    if (i === 0 || i === at + 1 || i === addr.length || (i > at && addr[i] === ".")) {
      const prepend = table.virtualdomains.get(lower.slice(i));
      if (prepend === undefined) continue;
      if (prepend === "") break;
      return { channel: "local", address: stringToBytes(`${prepend}-${addr}`) };
    }
  }
  return { channel: "remote", address: stringToBytes(addr) };
}

/**
 * stripvdomprepend (§4.8 step 1): the recipient of a local channel record
 * without its virtual-domain prefix. The recipient's domain, then its
 * `.suffix`es, then the empty key are looked up in virtualdomains; when the
 * first hit has a non-empty prepend `P` and the address starts with `P-`,
 * that is removed. Works on byte strings.
 */
export function stripVirtualDomainPrepend(recipient: string, table: RoutingTable): string {
  const at = recipient.lastIndexOf("@");
  if (at < 0) return recipient;
  const domain = asciiLower(recipient.slice(at + 1));
  for (let i = 0; i <= domain.length; i++) {
    if (i !== 0 && i !== domain.length && domain[i] !== ".") continue;
    const prepend = table.virtualdomains.get(domain.slice(i));
    if (prepend === undefined) continue;
    if (prepend === "" || !recipient.startsWith(`${prepend}-`)) break;
    return recipient.slice(prepend.length + 1);
  }
  return recipient;
}
