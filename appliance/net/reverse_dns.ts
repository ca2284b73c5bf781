/**
 * TCPREMOTEHOST for tcprules' `=host` keys: the PTR name of the client's
 * address, as tcpserver looks it up. Only done when tcp.smtp has such keys
 * (tcpserver -H turns it off the same way). Bounded by a timeout: a slow
 * resolver costs a connection at most this long, never the whole isolate.
 */

/** Seconds to wait for a PTR answer (tcpserver's default DNS timeouts total 26 s; shorter here). */
const TIMEOUT_SECONDS = 5;

/** The in-addr.arpa / ip6.arpa name for an address, or undefined when it does not parse. */
export function formatPtrName(ip: string): string | undefined {
  const v4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(ip);
  if (v4 !== null) {
    const parts = v4.slice(1).map(Number);
    if (parts.some((part) => part > 255)) return undefined;
    return `${parts.reverse().join(".")}.in-addr.arpa`;
  }
  if (!ip.includes(":")) return undefined;
  const halves = ip.split("::");
  if (halves.length > 2) return undefined;
  const head = halves[0] === "" ? [] : halves[0].split(":");
  const tail = halves.length === 2 && halves[1] !== "" ? halves[1].split(":") : [];
  const missing = 8 - head.length - tail.length;
  if (missing < 0 || (halves.length === 1 && missing !== 0)) return undefined;
  const groups = [...head, ...Array(missing).fill("0"), ...tail];
  if (!groups.every((group) => /^[0-9a-fA-F]{1,4}$/.test(group))) return undefined;
  const nibbles = groups.map((group) => group.padStart(4, "0")).join("").toLowerCase();
  return `${[...nibbles].reverse().join(".")}.ip6.arpa`;
}

/** The client's host name, lower case without the final dot; undefined when unknown. */
export async function reverseLookup(ip: string): Promise<string | undefined> {
  const name = formatPtrName(ip);
  if (name === undefined) return undefined;
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), TIMEOUT_SECONDS * 1000);
  try {
    const names = await Deno.resolveDns(name, "PTR", { signal: controller.signal });
    const first = names[0];
    return first === undefined ? undefined : first.replace(/\.$/, "").toLowerCase();
  } catch {
    return undefined;
  } finally {
    clearTimeout(timer);
  }
}
