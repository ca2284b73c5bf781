/**
 * DNSBL checks in-process, as rblsmtpd (ucspi-tcp 0.88, docs/patches.md
 * seeds 000, 003 and 004) does them before qmail-smtpd runs, at the connect
 * phase. Pure: the lookups go to the session's driver.
 *
 * - `$RBLSMTPD` (per client through tcp.smtp) decides first: set and empty,
 *   nothing is blocked; set to a text, the client is blocked with `451 text`,
 *   or `553 text` when the text starts with `-` (which is dropped); unset, the
 *   sources are asked.
 * - Sources are asked in order until one decides: `-r zone` lists a.b.c.d
 *   when d.c.b.a.zone has a TXT record, whose text is the reply;
 *   `-r zone:text` when it has an A record, with `text` as the reply (`%IP%`
 *   becomes the client's address); `-a zone` anti-lists (never blocked) when
 *   it has an A record. IPv6 clients are asked by nibbles (RFC 5782 §2.4).
 * - A listed client gets 451, or 553 with `-b`. A lookup that fails
 *   temporarily is "not listed" (`-C`, the default, fail-open) or blocks with
 *   `451 temporary RBL lookup error` (`-c`, fail-closed; 451 even with -b).
 * - The reply text is cut to 200 characters and bytes outside 32..126 become
 *   `?`, as rblsmtpd does; the verdict refuses every later command (scope
 *   "session", rblsmtpd's own conversation), which `-t` ends after its
 *   seconds (`-t 0`: the reply instead of a greeting, then close).
 * - `-e ADDRESS` (seed 000's patched rblsmtpd, the spam catcher): a listed
 *   client is not refused but marked BLACKLISTED, so the session takes its
 *   mail for ADDRESS (config/rblsmtpd.ts); without an address there is
 *   nowhere to put the mail and the client is refused as without `-e`.
 * - A-record answers outside 127.0.0.0/8, 127.0.0.1 itself and the
 *   127.255.255.0/24 error codes some lists send to open resolvers do not
 *   count as listed (docs/reliability.md F1).
 */
import type {
  FilterCheck,
  FilterRequest,
  Lookup,
  LookupAnswer,
  RuleRef,
  Verdict,
} from "./filter.ts";
import { PASS } from "./filter.ts";
import type { RblOptions, RblSource } from "../../config/rblsmtpd.ts";

export type { RblOptions, RblSource };

/** One client's settings: the listener's options and the client's environment. */
export interface RblSettings extends RblOptions {
  /** $RBLSMTPD, undefined when unset. */
  rblsmtpd?: string;
}

/** rblsmtpd's default -t, also each lookup's bound when -t is 0 (config/rblsmtpd.ts). */
const DEFAULT_SECONDS = 60;
const FAIL_CLOSED_TEXT = "temporary RBL lookup error";
const MAX_TEXT = 200;

/** rblsmtpd's message: at most 200 characters of text, unprintable bytes as `?`. */
export function rblReply(code: 451 | 553, text: string): string {
  return `${code} ${text.slice(0, MAX_TEXT)}`.replace(/[^\x20-\x7e]/g, "?");
}

/**
 * rblsmtpd's log line, `rblsmtpd: IP: REPLY`: rblsmtpd writes `IP pid PID:`,
 * and qmd has no process per session; the log record carries the session id.
 */
export function formatRblsmtpdLog(ip: string, reply: string): string {
  return `rblsmtpd: ${ip}: ${reply}`;
}

function ipv4Octets(ip: string): number[] | undefined {
  const parts = ip.split(".");
  if (parts.length !== 4 || !parts.every((part) => /^\d{1,3}$/.test(part))) return undefined;
  const octets = parts.map(Number);
  return octets.every((octet) => octet <= 255) ? octets : undefined;
}

/** The eight 16-bit groups of an IPv6 address, or undefined. */
function ipv6Groups(ip: string): number[] | undefined {
  if (!/^[0-9a-f:.]+$/i.test(ip) || ip.split("::").length > 2) return undefined;
  const [head, tail] = ip.split("::");
  const parse = (part: string | undefined): number[] | undefined => {
    if (part === undefined || part === "") return [];
    const groups: number[] = [];
    for (const group of part.split(":")) {
      if (group.includes(".")) {
        const v4 = ipv4Octets(group);
        if (v4 === undefined) return undefined;
        groups.push((v4[0] << 8) | v4[1], (v4[2] << 8) | v4[3]);
      } else if (/^[0-9a-f]{1,4}$/i.test(group)) {
        groups.push(parseInt(group, 16));
      } else return undefined;
    }
    return groups;
  };
  const front = parse(head);
  const back = parse(tail);
  if (front === undefined || back === undefined) return undefined;
  const missing = 8 - front.length - back.length;
  if (tail === undefined ? missing !== 0 : missing < 1) return undefined;
  return [...front, ...Array(tail === undefined ? 0 : missing).fill(0), ...back];
}

/**
 * The name a DNSBL is asked for an address, without the zone: "4.3.2.1"
 * for 1.2.3.4, 32 reversed nibbles for IPv6 (an IPv4-mapped address is asked
 * as IPv4), undefined for what is not an address.
 */
export function reversedIp(ip: string): string | undefined {
  const v4 = ipv4Octets(ip);
  if (v4 !== undefined) return v4.reverse().join(".");
  const groups = ipv6Groups(ip);
  if (groups === undefined) return undefined;
  if (groups.slice(0, 5).every((g) => g === 0) && groups[5] === 0xffff) {
    const [hi, lo] = [groups[6], groups[7]];
    return [lo & 0xff, lo >> 8, hi & 0xff, hi >> 8].join(".");
  }
  return groups.flatMap((g) => g.toString(16).padStart(4, "0").split("")).reverse().join(".");
}

/** Whether an A record of a DNSBL means "listed" (RFC 5782 §2.1; docs/reliability.md F1). */
export function isListingAddress(address: string): boolean {
  const octets = ipv4Octets(address);
  if (octets === undefined || octets[0] !== 127) return false;
  if (octets[1] === 0 && octets[2] === 0 && octets[3] === 1) return false;
  return !(octets[1] === 255 && octets[2] === 255);
}

function queryFor(source: RblSource, reversed: string, timeoutSeconds: number): Lookup {
  return {
    kind: "dns",
    name: `${reversed}.${source.zone}`,
    type: source.kind === "block" && source.text === undefined ? "TXT" : "A",
    timeoutSeconds,
  };
}

function ruleFor(source: RblSource): RuleRef {
  const option = source.kind === "block" ? "-r" : "-a";
  return {
    check: "rbl",
    source: source.source,
    line: source.line,
    entry: `${option} ${source.zone}${source.text !== undefined ? `:${source.text}` : ""}`,
  };
}

function lookupSeconds(settings: RblOptions): number {
  return settings.timeoutSeconds > 0 ? settings.timeoutSeconds : DEFAULT_SECONDS;
}

/** The verdict for a blocked client. */
function block(
  request: FilterRequest,
  settings: RblSettings,
  code: 451 | 553,
  text: string,
  rule: RuleRef,
): Verdict {
  if (settings.blacklist && settings.blacklistTo) {
    return { kind: "blacklist", rule, recipient: settings.blacklistTo };
  }
  const reply = rblReply(code, text);
  const log = formatRblsmtpdLog(request.remoteIp, reply);
  if (settings.timeoutSeconds <= 0) {
    return { kind: "refuse", reply: [reply], rule, close: true, scope: "session", log };
  }
  return {
    kind: "refuse",
    reply: [reply],
    rule,
    scope: "session",
    sessionSeconds: settings.timeoutSeconds,
    log,
  };
}

/** Asks source `index` onwards; PASS when none is left. */
function askFrom(request: FilterRequest, settings: RblSettings, index: number): Verdict {
  const reversed = reversedIp(request.remoteIp);
  const source = settings.sources[index];
  if (reversed === undefined || source === undefined) return PASS;
  return { kind: "lookup", lookup: queryFor(source, reversed, lookupSeconds(settings)) };
}

function listedText(answer: LookupAnswer & { kind: "dns" }, source: RblSource, ip: string) {
  if (source.kind === "block" && source.text === undefined) {
    // rblsmtpd's dns_txt: every string of every TXT record, one after another.
    const text = answer.records.join("");
    return text === "" ? undefined : text;
  }
  if (!answer.records.some(isListingAddress)) return undefined;
  return (source.text ?? "").replaceAll("%IP%", ip);
}

export const rblCheck: FilterCheck<RblSettings> = {
  name: "rbl",
  phases: ["connect"],
  check(request, settings) {
    const env = settings.rblsmtpd;
    if (env !== undefined) {
      if (env === "") return PASS;
      const rule: RuleRef = { check: "rbl", source: "RBLSMTPD", entry: env };
      return env.startsWith("-")
        ? block(request, settings, 553, env.slice(1), rule)
        : block(request, settings, 451, env, rule);
    }
    return askFrom(request, settings, 0);
  },
  resume(request, settings, answer, lookup) {
    const reversed = reversedIp(request.remoteIp);
    if (reversed === undefined) return PASS;
    const index = settings.sources.findIndex((source) => {
      const query = queryFor(source, reversed, 0);
      return lookup.kind === "dns" && query.kind === "dns" && query.name === lookup.name &&
        query.type === lookup.type;
    });
    const source = settings.sources[index];
    if (source === undefined) return PASS;
    if (answer.kind !== "dns") {
      if (!settings.failClosed) return askFrom(request, settings, index + 1);
      const rule = ruleFor(source);
      const reason = answer.kind === "temporary" ? answer.reason : answer.kind;
      return block(request, settings, 451, FAIL_CLOSED_TEXT, {
        ...rule,
        entry: `${rule.entry} (${reason})`,
      });
    }
    const text = listedText(answer, source, request.remoteIp);
    if (source.kind === "anti") {
      return text === undefined ? askFrom(request, settings, index + 1) : PASS;
    }
    if (text === undefined) return askFrom(request, settings, index + 1);
    return block(request, settings, settings.bounce ? 553 : 451, text, ruleFor(source));
  },
};
