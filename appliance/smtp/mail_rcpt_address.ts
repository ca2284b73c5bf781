/**
 * MAIL FROM / RCPT TO addresses as qmail-smtpd reads and judges them
 * (docs/queue-format.md §8.4–§8.6). Pure. Addresses are "byte strings": one char
 * (code 0–255) per byte of the command line, so any byte but NUL survives
 * exactly; `bytesToString`/`stringToBytes` convert at the edges.
 */

import { asciiLower as asciiLowerCase } from "../../config/ascii.ts";

/**
 * qmail-smtpd refuses an address when `addr.len > 900`, and addr.len counts the
 * NUL it appends, so an address of 900 bytes or more is a syntax error. This
 * is qmail-smtpd.c's arithmetic, one byte stricter than "longer than 900".
 */
export const MAX_ADDRESS_LENGTH = 899;

/** Where `[d.d.d.d]` literals naming this host are rewritten (§8.4, control/localiphost). */
export interface LocalIpOptions {
  /** control/localiphost (default `me`); undefined or empty turns the rewrite off. */
  localIpHost?: string;
  /** This host's IPv4 addresses, dotted quads. */
  localIps?: readonly string[];
  /**
   * Longest address accepted (control/maxaddrlen, docs/patches.md seed 000); default
   * MAX_ADDRESS_LENGTH.
   */
  maxAddressLength?: number;
}

/**
 * qmail-smtpd's addrparse on the argument of MAIL or RCPT (everything after
 * the verb and its spaces). With a `<`, the address runs from after the first
 * `<` to the first unquoted `>`; without one, from after the first `:` (leading
 * spaces skipped) to the first unquoted space. The keyword (`FROM:`/`TO:`) is
 * not checked. A leading source route (`@a,@b:`) is dropped, double quotes
 * are removed and a backslash makes the next byte literal. A missing `>` is
 * not an error. Returns the address (possibly empty, for `<>`), or null when
 * it is too long (555).
 */
export function parseSmtpAddress(argument: string, options: LocalIpOptions = {}): string | null {
  let rest: string;
  let terminator: string;
  const open = argument.indexOf("<");
  if (open >= 0) {
    terminator = ">";
    rest = argument.slice(open + 1);
  } else {
    // "partner should go read rfc 821"
    terminator = " ";
    const colon = argument.indexOf(":");
    rest = colon >= 0 ? argument.slice(colon + 1) : "";
    let start = 0;
    while (rest[start] === " ") start++;
    rest = rest.slice(start);
  }

  // Source route: `@a,@b:user@host` → `user@host`; with no `:` nothing is left.
  if (rest.startsWith("@")) {
    const colon = rest.indexOf(":");
    rest = colon >= 0 ? rest.slice(colon + 1) : "";
  }

  let address = "";
  let escaped = false;
  let quoted = false;
  for (const ch of rest) {
    if (escaped) {
      address += ch;
      escaped = false;
    } else if (!quoted && ch === terminator) {
      break;
    } else if (ch === "\\") {
      escaped = true;
    } else if (ch === '"') {
      quoted = !quoted;
    } else {
      address += ch;
    }
  }

  address = replaceLocalIpLiteral(address, options);
  if (address.length > (options.maxAddressLength ?? MAX_ADDRESS_LENGTH)) return null;
  return address;
}

/**
 * `box@[d.d.d.d]` naming one of this host's addresses becomes
 * `box@LOCALIPHOST`, before any rcpthosts check (§8.4). qmail's ip_scan keeps
 * each number modulo 256; qmd requires 0–255, so `[192.0.2.281]` stays as it is.
 */
function replaceLocalIpLiteral(address: string, options: LocalIpOptions): string {
  if (!options.localIpHost || !options.localIps || options.localIps.length === 0) return address;
  const at = address.lastIndexOf("@");
  if (at < 0) return address;
  const literal = /^\[(\d+)\.(\d+)\.(\d+)\.(\d+)\]$/.exec(address.slice(at + 1));
  if (literal === null) return address;
  const ip = normalizeIpv4(literal.slice(1, 5));
  if (ip === undefined) return address;
  const mine = options.localIps.some((local) => {
    const parts = /^(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(local);
    return parts !== null && normalizeIpv4(parts.slice(1, 5)) === ip;
  });
  return mine ? address.slice(0, at + 1) + options.localIpHost : address;
}

function normalizeIpv4(parts: string[]): string | undefined {
  const numbers = parts.map((part) => Number(part));
  if (numbers.some((n) => !Number.isSafeInteger(n) || n > 255)) return undefined;
  return numbers.join(".");
}

export { asciiLowerCase };

/**
 * The rcpthosts lookup (§8.5): called with a lower-case domain or `.suffix`
 * (ASCII-lowered, one char per byte); true when that exact string is listed
 * (control/rcpthosts or morercpthosts.cdb). null means there is no
 * control/rcpthosts.
 */
export type RcptHostsLookup = ((domain: string) => boolean) | null;

/**
 * Whether a recipient may be accepted without RELAYCLIENT (§8.5). Addresses
 * without `@` are accepted (qmail-send appends envnoathost). Otherwise the
 * domain after the last `@`, lower-cased, must be listed itself or through a
 * suffix starting at one of its dots (`.b.c`, `.c` for `a.b.c`), so
 * `.example.com` covers subdomains only.
 *
 * Departure from qmail (docs/reliability.md R20): when control/rcpthosts
 * does not exist qmail accepts every recipient, an open relay. qmd refuses
 * every recipient with a domain instead.
 *
 * A trailing dot (R15) is not stripped: `u@example.net.` is a different string
 * from `example.net`, so it is refused unless `example.net.` itself (or a
 * suffix such as `.net.`) is listed. The domain that is checked is therefore
 * always the domain that routing will see.
 */
export function isRcptAllowed(address: string, rcptHosts: RcptHostsLookup): boolean {
  const at = address.lastIndexOf("@");
  if (at < 0) return true;
  if (rcptHosts === null) return false;
  const domain = asciiLowerCase(address.slice(at + 1));
  for (let i = 0; i < domain.length; i++) {
    if ((i === 0 || domain[i] === ".") && rcptHosts(domain.slice(i))) return true;
  }
  return false;
}

/**
 * Whether a recipient's local part (everything before its last `@`, or the
 * whole address without one) holds `%`, `!` or another `@`: the percent hack,
 * UUCP bang paths and embedded domains (docs/reliability.md R2–R13).
 *
 * Departure from qmail: qmail accepts these for allowed domains and delivers
 * them locally to the literal local part, which is safe only while no later
 * component re-parses the local part (control/percenthack does exactly that).
 * qmd refuses them for clients without RELAYCLIENT, so no configuration turns
 * them into relaying.
 */
export function hasRoutingLocalPart(address: string): boolean {
  const at = address.lastIndexOf("@");
  const local = at < 0 ? address : address.slice(0, at);
  return /[%!@]/.test(local);
}
