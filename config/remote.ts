/**
 * qmail-remote's controls (docs/queue-format.md §5.8, §9) with the seed patches,
 * read per delivery batch and returned as plain data:
 *
 * - helohost (default `me`; neither → null, and the remote role defers: §9),
 *   timeoutconnect (60), timeoutremote (1200);
 * - smtprelays (docs/patches.md seed 000 README.rauth: `key:relay[:port]|user|password|mech`,
 *   key = domain, `.suffix`, `user@domain` (the envelope sender) or empty),
 *   smtproutes (§5.8.1 `domain:relay[:port]`, seed 001 `... user password`
 *   after white space), qmtproutes (`domain:relay[:port]`, QMTP port 209);
 * - outgoingip (seed 001/003: 0.0.0.0 = system default), senderip (seed 001
 *   `domain:ip`), bindroutes (seed 001 `prefix:ip`, empty ip = never send);
 * - moreipme, notipme (seed 001: `a.b.c.d[/m.m.m.m]`, longest mask wins);
 * - tlsremote, secauthremote, straightfallback, extraremote, qmtpc (flags: the
 *   file exists and its first line is not "0"), tlsclientciphers;
 * - signkey, signkeystale (7 days), nosignhosts, nosignmydoms (BATV).
 *
 * Routing lookups (findRoute) follow §5.8.1: the host, each `.suffix` longest
 * first, then the empty key; the files are tried in README.rauth's order
 * smtprelays, smtproutes, qmtproutes, and a relay named by smtprelays is looked
 * up once more in smtproutes (README.rauth's "virtual relays").
 *
 * This module is a leaf: it never imports appliance/. Bad lines throw
 * ControlError(file, line, reason).
 */
import { checkCipherList } from "./tls_ciphers.ts";
import {
  ControlError,
  type ListEntry,
  orDefault,
  readControlLine,
  readControlList,
  readControlNumber,
} from "./control.ts";
import { flagDefault } from "./controls.ts";

/** The SMTP port. */
export const SMTP_PORT = 25;
/** The QMTP port (qmail-qmtpc, docs/patches.md seed 000). */
export const QMTP_PORT = 209;

/** Credentials for a smart host (smtprelays, or smtproutes' `user password`). */
export interface RouteAuth {
  user: string;
  password: string;
  /** The mechanism the route names (upper case), or undefined = best offered. */
  mechanism?: string;
}

/** One parsed line of smtprelays, smtproutes or qmtproutes. */
export interface RouteEntry {
  /** Lower-cased key: a domain, `.suffix`, `user@domain` (smtprelays) or "". */
  key: string;
  /** Relay host (lower case, brackets kept for literals), "" = use MX as usual. */
  relay: string;
  port: number;
  auth?: RouteAuth;
  line: number;
}

/** A network in moreipme/notipme: address plus prefix length (32 = one address). */
export interface IpNet {
  address: string;
  prefixLength: number;
}

/** Everything the remote role reads from control/. */
export interface RemoteControls {
  /** helohost, else me, else null (qmail-remote then fails temporarily, §9). */
  helohost: string | null;
  smtprelays: RouteEntry[];
  smtproutes: RouteEntry[];
  qmtproutes: RouteEntry[];
  timeoutConnect: number;
  timeoutRemote: number;
  /** outgoingip; null when absent, empty or 0.0.0.0 (system default). */
  outgoingIp: string | null;
  /** senderip lines `domain:ip`, domains lower case. */
  senderIp: { domain: string; ip: string; line: number }[];
  /** bindroutes lines `prefix:ip` ("" ip = never send to it). */
  bindRoutes: { prefix: string; ip: string; line: number }[];
  moreIpMe: IpNet[];
  notIpMe: IpNet[];
  tlsRemote: boolean;
  secAuthRemote: boolean;
  straightFallback: boolean;
  extraRemote: boolean;
  /** tlsclientciphers (OpenSSL cipher string) or null. */
  tlsClientCiphers: string | null;
  /** signkey (BATV secret) or null = do not sign. */
  signKey: string | null;
  signKeyStale: number;
  /** nosignhosts: recipient domains (lower case) whose mail is not signed. */
  noSignHosts: string[];
  /** nosignmydoms: sender domains (lower case) whose mail is not signed. */
  noSignMyDoms: string[];
  /** log/remote_fd: log each session (commands and replies; never DATA or AUTH). */
  logSession: boolean;
  /** qmtpc (qmd's switch for seed 000's qmtpc patch): QMTP first for mail sent by MX. */
  qmtpc: boolean;
  /** The port qmtpc tries: QMTP_PORT; only tests change it (no control file sets it). */
  qmtpcPort: number;
}

/** Where mail for one domain goes. */
export interface Route {
  kind: "smtp" | "qmtp";
  /** The relay host; undefined = MX lookup of the recipient domain as usual. */
  relay?: string;
  port: number;
  auth?: RouteAuth;
  /** The control file that decided, or "none" (no entry: plain MX delivery). */
  source: "smtprelays" | "smtproutes" | "qmtproutes" | "none";
}

/** Where the local end of a connection is bound. */
export type LocalBind =
  | { kind: "default" }
  | { kind: "bind"; ip: string; source: "senderip" | "bindroutes" | "outgoingip" }
  /** bindroutes names the remote IP with an empty address: do not send (defer). */
  | { kind: "refuse" };

function controlPath(home: string, name: string): string {
  return `${home}/control/${name}`;
}

/**
 * Set or not: a file that exists is set unless its first line is "0" (docs/patches.md seed 001).
 */
function flag(home: string, name: string): boolean {
  const line = readControlLine(home, name);
  if (line === undefined) return flagDefault(name);
  return line.trim() !== "0";
}

/** A log switch: on when set and neither empty nor "0", as smtpd's log/ files. */
function readLogSwitch(home: string, name: string): boolean {
  const line = readControlLine(home, name)?.trim();
  if (line === undefined) return flagDefault(name);
  return line !== "" && line !== "0";
}

/**
 * control/extraremote (docs/patches.md seed 001, "set or not"): run HOME/bin/qmail-remote.extra
 * in qmail-remote's place. An empty file is set. The remote role and the
 * supervisor (which lets the role run the wrapper) both ask here.
 */
export function readExtraRemote(home: string): boolean {
  return flag(home, "extraremote");
}

function values(home: string, name: string): string[] {
  return (readControlList(home, name) ?? []).map((entry) => entry.value.trim().toLowerCase());
}

const PORT = /^\d{1,5}$/;

function parsePort(file: string, line: number, text: string): number {
  const port = Number(text);
  if (!PORT.test(text) || port < 1 || port > 65535) {
    throw new ControlError(file, line, `bad port ${JSON.stringify(text)}`);
  }
  return port;
}

/** `relay[:port]` (a bracketed literal may hold colons: `[::1]:25`). */
function parseRelay(
  file: string,
  line: number,
  text: string,
  defaultPort: number,
): { relay: string; port: number } {
  const trimmed = text.trim();
  if (trimmed.startsWith("[")) {
    const close = trimmed.indexOf("]");
    if (close < 0) throw new ControlError(file, line, "unclosed [ in relay");
    const rest = trimmed.slice(close + 1);
    if (rest === "") return { relay: trimmed.toLowerCase(), port: defaultPort };
    if (!rest.startsWith(":")) throw new ControlError(file, line, "junk after ] in relay");
    return {
      relay: trimmed.slice(0, close + 1).toLowerCase(),
      port: parsePort(file, line, rest.slice(1)),
    };
  }
  const colon = trimmed.indexOf(":");
  if (colon < 0) return { relay: trimmed.toLowerCase(), port: defaultPort };
  const relay = trimmed.slice(0, colon).toLowerCase();
  if (relay === "") throw new ControlError(file, line, "port without a relay");
  return { relay, port: parsePort(file, line, trimmed.slice(colon + 1)) };
}

function splitKey(file: string, entry: ListEntry): [string, string] {
  const colon = entry.value.indexOf(":");
  if (colon < 0) throw new ControlError(file, entry.line, "expected key:relay");
  return [entry.value.slice(0, colon).trim().toLowerCase(), entry.value.slice(colon + 1)];
}

const MECHANISMS = new Set(["PLAIN", "LOGIN", "CRAM-MD5", "CRAM-SHA1", "CRAM-RIPEMD"]);

/**
 * smtproutes: `domain:relay[:port]` then optionally ` user password` (docs/patches.md seed 001).
 */
export function parseSmtpRoutes(file: string, entries: ListEntry[]): RouteEntry[] {
  return entries.map((entry) => {
    const [key, rest] = splitKey(file, entry);
    const match = /^(\S*)(?:[ \t]+(\S+)[ \t]+(.+))?$/.exec(rest.trim());
    if (!match) throw new ControlError(file, entry.line, "expected relay[:port] [user password]");
    const { relay, port } = match[1] === ""
      ? { relay: "", port: SMTP_PORT }
      : parseRelay(file, entry.line, match[1], SMTP_PORT);
    const route: RouteEntry = { key, relay, port, line: entry.line };
    if (match[2] !== undefined) {
      if (relay === "") throw new ControlError(file, entry.line, "credentials without a relay");
      route.auth = { user: match[2], password: match[3] };
    }
    return route;
  });
}

/**
 * smtprelays (docs/patches.md seed 000 README.rauth): `key:relay[:port]` or
 * `key:relay[:port]|user|pass|mech`.
 */
export function parseSmtpRelays(file: string, entries: ListEntry[]): RouteEntry[] {
  return entries.map((entry) => {
    const [key, rest] = splitKey(file, entry);
    const fields = rest.split("|");
    if (fields.length !== 1 && fields.length !== 4) {
      throw new ControlError(file, entry.line, "expected relay or relay|user|password|mechanism");
    }
    if (fields[0].trim() === "") throw new ControlError(file, entry.line, "empty relay");
    const { relay, port } = parseRelay(file, entry.line, fields[0], SMTP_PORT);
    const route: RouteEntry = { key, relay, port, line: entry.line };
    if (fields.length === 4) {
      const mechanism = fields[3].trim().toUpperCase();
      if (mechanism !== "" && !MECHANISMS.has(mechanism)) {
        throw new ControlError(file, entry.line, `unknown mechanism ${JSON.stringify(fields[3])}`);
      }
      if (fields[1] === "") throw new ControlError(file, entry.line, "empty user");
      route.auth = { user: fields[1], password: fields[2] };
      if (mechanism !== "") route.auth.mechanism = mechanism;
    }
    return route;
  });
}

/** qmtproutes: `domain:relay[:port]` (port 209). */
export function parseQmtpRoutes(file: string, entries: ListEntry[]): RouteEntry[] {
  return entries.map((entry) => {
    const [key, rest] = splitKey(file, entry);
    if (rest.trim() === "") return { key, relay: "", port: QMTP_PORT, line: entry.line };
    const { relay, port } = parseRelay(file, entry.line, rest, QMTP_PORT);
    return { key, relay, port, line: entry.line };
  });
}

const IPV4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/;

/** A dotted quad as a 32-bit number, or undefined. */
export function parseIpv4(text: string): number | undefined {
  const match = IPV4.exec(text);
  if (!match) return undefined;
  let value = 0;
  for (let i = 1; i <= 4; i++) {
    const part = Number(match[i]);
    if (part > 255) return undefined;
    value = value * 256 + part;
  }
  return value;
}

/**
 * moreipme/notipme (docs/patches.md seed 001): `a.b.c.d` or `a.b.c.d/m.m.m.m` (a contiguous
 * netmask).
 */
export function parseIpNets(file: string, entries: ListEntry[]): IpNet[] {
  return entries.map((entry) => {
    const [address, mask] = entry.value.trim().split("/", 2);
    if (parseIpv4(address) === undefined) {
      throw new ControlError(file, entry.line, `bad IPv4 address ${JSON.stringify(address)}`);
    }
    if (mask === undefined) return { address, prefixLength: 32 };
    const bits = parseIpv4(mask);
    if (bits === undefined) {
      throw new ControlError(file, entry.line, `bad netmask ${JSON.stringify(mask)}`);
    }
    const binary = bits.toString(2).padStart(32, "0");
    if (!/^1*0*$/.test(binary)) {
      throw new ControlError(file, entry.line, `netmask ${mask} is not contiguous`);
    }
    return { address, prefixLength: binary.indexOf("0") < 0 ? 32 : binary.indexOf("0") };
  });
}

function checkIp(file: string, line: number, ip: string): string {
  if (parseIpv4(ip) === undefined && !(ip.includes(":") && /^[0-9a-fA-F:.]+$/.test(ip))) {
    throw new ControlError(file, line, `bad IP address ${JSON.stringify(ip)}`);
  }
  return ip;
}

/** Reads every remote control with its default. Throws ControlError. */
export function loadRemoteControls(home: string): RemoteControls {
  const list = (name: string) => readControlList(home, name) ?? [];
  const outgoing = readControlLine(home, "outgoingip")?.trim() ?? "";
  // A list qmd's TLS cannot keep to is refused (tls_ciphers.ts), not ignored.
  const ciphers = orDefault(() => {
    const list = readControlLine(home, "tlsclientciphers")?.trim() ?? "";
    if (list !== "") checkCipherList(controlPath(home, "tlsclientciphers"), 1, list);
    return list;
  }, "");
  const signKey = readControlLine(home, "signkey") ?? "";
  const senderIpFile = controlPath(home, "senderip");
  const bindFile = controlPath(home, "bindroutes");
  return {
    helohost: readControlLine(home, "helohost") ?? readControlLine(home, "me") ?? null,
    smtprelays: orDefault(
      () => parseSmtpRelays(controlPath(home, "smtprelays"), list("smtprelays")),
      [],
    ),
    smtproutes: orDefault(
      () => parseSmtpRoutes(controlPath(home, "smtproutes"), list("smtproutes")),
      [],
    ),
    qmtproutes: orDefault(
      () => parseQmtpRoutes(controlPath(home, "qmtproutes"), list("qmtproutes")),
      [],
    ),
    timeoutConnect: readControlNumber(home, "timeoutconnect"),
    timeoutRemote: readControlNumber(home, "timeoutremote"),
    outgoingIp: outgoing === "" || outgoing === "0.0.0.0"
      ? null
      : orDefault(() => checkIp(controlPath(home, "outgoingip"), 1, outgoing), null),
    senderIp: orDefault(() =>
      list("senderip").map((entry) => {
        const colon = entry.value.indexOf(":");
        if (colon <= 0) throw new ControlError(senderIpFile, entry.line, "expected domain:ip");
        return {
          domain: entry.value.slice(0, colon).trim().toLowerCase(),
          ip: checkIp(senderIpFile, entry.line, entry.value.slice(colon + 1).trim()),
          line: entry.line,
        };
      }), []),
    bindRoutes: orDefault(() =>
      list("bindroutes").map((entry) => {
        // The prefix is IPv4 text ("10.", "10.10.10.10", ""), so the first colon splits.
        const colon = entry.value.indexOf(":");
        if (colon < 0) throw new ControlError(bindFile, entry.line, "expected prefix:ip");
        const ip = entry.value.slice(colon + 1).trim();
        return {
          prefix: entry.value.slice(0, colon).trim(),
          ip: ip === "" ? "" : checkIp(bindFile, entry.line, ip),
          line: entry.line,
        };
      }), []),
    moreIpMe: orDefault(() => parseIpNets(controlPath(home, "moreipme"), list("moreipme")), []),
    notIpMe: orDefault(() => parseIpNets(controlPath(home, "notipme"), list("notipme")), []),
    tlsRemote: flag(home, "tlsremote"),
    secAuthRemote: flag(home, "secauthremote"),
    straightFallback: flag(home, "straightfallback"),
    extraRemote: readExtraRemote(home),
    tlsClientCiphers: ciphers === "" ? null : ciphers,
    signKey: signKey === "" ? null : signKey,
    signKeyStale: readControlNumber(home, "signkeystale"),
    noSignHosts: values(home, "nosignhosts"),
    noSignMyDoms: values(home, "nosignmydoms"),
    logSession: readLogSwitch(home, "log/remote_fd"),
    qmtpc: flag(home, "qmtpc"),
    qmtpcPort: QMTP_PORT,
  };
}

/** The keys §5.8.1 tries for a host: itself, each `.suffix` longest first, then "". */
export function routeKeys(host: string): string[] {
  const lower = host.toLowerCase();
  const keys = [lower];
  for (let dot = lower.indexOf("."); dot >= 0; dot = lower.indexOf(".", dot + 1)) {
    keys.push(lower.slice(dot));
  }
  keys.push("");
  return keys;
}

function lookup(entries: RouteEntry[], keys: string[]): RouteEntry | undefined {
  for (const key of keys) {
    const hit = entries.find((entry) => entry.key === key);
    if (hit) return hit;
  }
  return undefined;
}

/**
 * The route for a recipient domain (§5.8.1, docs/patches.md seed 000 README.rauth): smtprelays
 * (first the envelope sender `user@domain` when given, then the domain's keys), then
 * smtproutes, then qmtproutes. A relay named by smtprelays is looked up once
 * more in smtproutes by its own name (a "virtual relay"), keeping the
 * smtprelays credentials. An empty relay means MX as usual.
 */
export function findRoute(controls: RemoteControls, domain: string, sender?: string): Route {
  const keys = routeKeys(domain);
  const relayKeys = sender !== undefined && sender.includes("@")
    ? [sender.toLowerCase(), ...keys]
    : keys;
  const relayed = lookup(controls.smtprelays, relayKeys);
  if (relayed) {
    const virtual = controls.smtproutes.find((entry) => entry.key === relayed.relay);
    const target = virtual && virtual.relay !== "" ? virtual : relayed;
    return {
      kind: "smtp",
      relay: target.relay,
      port: target.port,
      ...(relayed.auth ? { auth: relayed.auth } : virtual?.auth ? { auth: virtual.auth } : {}),
      source: "smtprelays",
    };
  }
  const routed = lookup(controls.smtproutes, keys);
  if (routed) {
    return {
      kind: "smtp",
      ...(routed.relay === "" ? {} : { relay: routed.relay }),
      port: routed.port,
      ...(routed.auth ? { auth: routed.auth } : {}),
      source: "smtproutes",
    };
  }
  const qmtp = lookup(controls.qmtproutes, keys);
  if (qmtp) {
    return {
      kind: "qmtp",
      ...(qmtp.relay === "" ? {} : { relay: qmtp.relay }),
      port: qmtp.port,
      source: "qmtproutes",
    };
  }
  return { kind: "smtp", port: SMTP_PORT, source: "none" };
}

/**
 * The local address for a connection to remoteIp carrying mail from sender
 * (docs/patches.md seed 001): senderip (the sender's domain) overrides bindroutes (the remote
 * IP's text: the whole address, then each shorter prefix ending in ".", then
 * ""), which overrides outgoingip. A bindroutes hit with an empty address
 * means "don't send any mail to this": { kind: "refuse" }.
 */
export function findLocalBind(
  controls: RemoteControls,
  sender: string,
  remoteIp: string,
): LocalBind {
  const at = sender.lastIndexOf("@");
  if (at >= 0) {
    const domain = sender.slice(at + 1).toLowerCase();
    const hit = controls.senderIp.find((entry) => entry.domain === domain);
    if (hit) return { kind: "bind", ip: hit.ip, source: "senderip" };
  }
  const prefixes = [remoteIp];
  for (let dot = remoteIp.lastIndexOf("."); dot >= 0; dot = remoteIp.lastIndexOf(".", dot - 1)) {
    prefixes.push(remoteIp.slice(0, dot + 1));
    if (dot === 0) break;
  }
  prefixes.push("");
  for (const prefix of prefixes) {
    const hit = controls.bindRoutes.find((entry) => entry.prefix === prefix);
    if (hit) {
      return hit.ip === ""
        ? { kind: "refuse" }
        : { kind: "bind", ip: hit.ip, source: "bindroutes" };
    }
  }
  if (controls.outgoingIp !== null) {
    return { kind: "bind", ip: controls.outgoingIp, source: "outgoingip" };
  }
  return { kind: "default" };
}
