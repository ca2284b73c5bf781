/**
 * Which name servers the resolver asks. control/dnsservers is qmd's own
 * control file (qmail has none: it uses the libc resolver): one server per
 * line, `IP`, `IP:PORT`, `[IPv6]:PORT` or a bare IPv6 address, `#` comments
 * and blank lines skipped. Without it, /etc/resolv.conf `nameserver` lines are
 * used with port 53 (at most three, like glibc's MAXNS), else 127.0.0.1:53
 * (the libc default when resolv.conf names no server).
 */
import { ControlError, parseControlList, readControlText } from "../../config/control.ts";

export interface NameServer {
  ipAddr: string;
  port: number;
}

const RESOLV_CONF_LIMIT = 3;
const FALLBACK: NameServer = { ipAddr: "127.0.0.1", port: 53 };

export function isIpv4(text: string): boolean {
  const parts = text.split(".");
  return parts.length === 4 && parts.every((part) => /^\d{1,3}$/.test(part) && Number(part) <= 255);
}

export function isIpv6(text: string): boolean {
  if (!/^[0-9A-Fa-f:.]+$/.test(text) || !text.includes(":")) return false;
  const halves = text.split("::");
  if (halves.length > 2) return false;
  const groups = halves.flatMap((half) => (half === "" ? [] : half.split(":")));
  let count = 0;
  for (const [index, group] of groups.entries()) {
    if (index === groups.length - 1 && group.includes(".")) {
      if (!isIpv4(group)) return false;
      count += 2;
    } else if (/^[0-9A-Fa-f]{1,4}$/.test(group)) {
      count += 1;
    } else {
      return false;
    }
  }
  return halves.length === 2 ? count < 8 : count === 8;
}

function parsePort(text: string): number | undefined {
  if (!/^\d{1,5}$/.test(text)) return undefined;
  const port = Number(text);
  return port >= 1 && port <= 65535 ? port : undefined;
}

/** One control/dnsservers line, or a reason why it does not parse. */
export function parseNameServer(line: string): NameServer | string {
  const text = line.trim();
  const bracketed = /^\[([^\]]+)\](?::(.*))?$/.exec(text);
  if (bracketed !== null) {
    const port = bracketed[2] === undefined ? 53 : parsePort(bracketed[2]);
    if (!isIpv6(bracketed[1])) return `not an IPv6 address: ${JSON.stringify(bracketed[1])}`;
    if (port === undefined) return `bad port: ${JSON.stringify(bracketed[2])}`;
    return { ipAddr: bracketed[1], port };
  }
  if (isIpv6(text)) return { ipAddr: text, port: 53 };
  const colon = text.indexOf(":");
  const ip = colon < 0 ? text : text.slice(0, colon);
  if (!isIpv4(ip)) return `not an IP address: ${JSON.stringify(text)}`;
  if (colon < 0) return { ipAddr: ip, port: 53 };
  const port = parsePort(text.slice(colon + 1));
  if (port === undefined) return `bad port: ${JSON.stringify(text.slice(colon + 1))}`;
  return { ipAddr: ip, port };
}

/** The `nameserver` lines of a resolv.conf text (IPv6 zone ids dropped), port 53. */
export function parseResolvConf(text: string): NameServer[] {
  const servers: NameServer[] = [];
  for (const raw of text.split("\n")) {
    const fields = raw.replace(/[#;].*$/, "").trim().split(/\s+/);
    if (fields[0] !== "nameserver" || fields[1] === undefined) continue;
    const ip = fields[1].replace(/%.*$/, "");
    if (!isIpv4(ip) && !isIpv6(ip)) continue;
    servers.push({ ipAddr: ip, port: 53 });
    if (servers.length === RESOLV_CONF_LIMIT) break;
  }
  return servers;
}

/**
 * control/dnsservers when it exists and names a server, else resolv.conf,
 * else 127.0.0.1:53. A bad dnsservers line is a ControlError naming the line.
 */
export function loadNameServers(home: string, resolvConf = "/etc/resolv.conf"): NameServer[] {
  const text = readControlText(home, "dnsservers");
  if (text !== undefined) {
    const servers: NameServer[] = [];
    for (const entry of parseControlList(text)) {
      const parsed = parseNameServer(entry.value);
      if (typeof parsed === "string") {
        throw new ControlError(`${home}/control/dnsservers`, entry.line, parsed);
      }
      servers.push(parsed);
    }
    if (servers.length > 0) return servers;
  }
  return loadSystemNameServers(resolvConf);
}

/** resolv.conf's name servers, else 127.0.0.1:53. */
export function loadSystemNameServers(resolvConf = "/etc/resolv.conf"): NameServer[] {
  let conf: string | undefined;
  try {
    conf = Deno.readTextFileSync(resolvConf);
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  }
  const servers = conf === undefined ? [] : parseResolvConf(conf);
  return servers.length > 0 ? servers : [{ ...FALLBACK }];
}
