/**
 * control/mxblacklist (docs/patches.md seed 000): addresses that are never a
 * valid mail exchanger for a sender's domain, "at least 127.0.0.1", so that
 * a domain whose MX resolves to the loopback is refused. With mfcheck 2 the
 * callback skips these addresses; when nothing else is left the sender is
 * refused with seed 000's `451 4.1.8 bad sender's system address, your mx is
 * blacklisted!`. Pure.
 */

export const MX_BLACKLISTED_REPLY =
  "451 4.1.8 bad sender's system address, your mx is blacklisted!";

/** An address as written in the file or an answer, compared in one spelling. */
export function normaliseAddress(address: string): string {
  const text = address.trim().toLowerCase().replace(/^\[|\]$/g, "");
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  return mapped !== null ? mapped[1] : text;
}

/** The addresses left once the blacklisted ones are taken out, in order. */
export function withoutBlacklisted(
  addresses: readonly string[],
  blacklist: readonly string[],
): string[] {
  const banned = new Set(blacklist.map(normaliseAddress));
  return addresses.filter((address) => !banned.has(normaliseAddress(address)));
}
