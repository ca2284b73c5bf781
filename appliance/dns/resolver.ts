/**
 * The DNS layer for remote delivery (qmail's dns.c): MX lookups with implicit
 * MX and RFC 7505 null MX, A then AAAA addresses, CNAME canonicalisation
 * (docs/queue-format.md §5.8 steps 3–4), and a bounded cache shared by every
 * delivery of the role.
 *
 * Queries go through qmd's own stub resolver (client.ts: UDP with TCP
 * fallback, every name server in turn) to the servers of control/dnsservers
 * or /etc/resolv.conf. As in qmail's dns.c, an answer is one of three things
 * (answer.ts): records; NXDOMAIN or "no data" (permanent, DNS_HARD); anything
 * else — SERVFAIL, REFUSED, other rcodes, timeouts, unreachable servers,
 * answers that do not parse — is a temporary failure (DNS_SOFT), so the
 * message is deferred and never bounced for a broken name server.
 *
 * The cache keeps answers for their real TTLs (negative ones for the SOA's,
 * RFC 2308 §5), capped by maxTtlSeconds / maxNegativeTtlSeconds; temporary
 * failures are never cached; identical lookups in flight share one query.
 */
import { isIpv4, isIpv6, loadNameServers, loadSystemNameServers } from "./name_servers.ts";
import type { NameServer } from "./name_servers.ts";
import { DnsClient } from "./client.ts";
import { interpretAnswer } from "./answer.ts";
import { normaliseName, type QueryType, type RecordData } from "./wire.ts";
import { dnsName } from "./idna.ts";

export { loadNameServers };
export type { NameServer };

export interface MxHost {
  preference: number;
  exchange: string; // lower case, no trailing dot
}

export type DnsResult<T> = { ok: true; value: T } | {
  ok: false;
  temporary: boolean;
  reason: string;
};

export interface ResolverOptions {
  /** Default: loadNameServers(home) when home is given, else /etc/resolv.conf, else 127.0.0.1:53. */
  nameServers?: NameServer[];
  /** QMAILHOME, for control/dnsservers when nameServers is not given. */
  home?: string;
  /** Per try on one name server (default 5, glibc's RES_TIMEOUT). */
  timeoutSeconds?: number;
  /** Rounds over the name servers (default 2, glibc's RES_DFLRETRY). */
  attempts?: number;
  /** Longest time a positive answer is kept, whatever its TTL (default 86,400). */
  maxTtlSeconds?: number;
  /** Longest time NXDOMAIN or no data is kept (default 3,600; RFC 2308 §5 suggests 1–3 hours). */
  maxNegativeTtlSeconds?: number;
  /** Cache bound; the oldest entry is evicted first (default 10,000). */
  cacheEntries?: number;
  /** ms clock for the cache (tests). */
  now?: () => number;
}

/** A lookup's outcome without its TTL: what the cache keeps. */
type Answer =
  | { kind: "found"; records: RecordData[] }
  | { kind: "nxdomain" }
  | { kind: "nodata" };

type Lookup = { ok: true; value: Answer } | { ok: false; temporary: true; reason: string };

interface CacheEntry {
  expires: number;
  answer: Answer;
}

const DEFAULT_TIMEOUT_SECONDS = 5;
const DEFAULT_ATTEMPTS = 2;
const DEFAULT_MAX_TTL_SECONDS = 86_400;
const DEFAULT_MAX_NEGATIVE_TTL_SECONDS = 3_600;
const DEFAULT_CACHE_ENTRIES = 10_000;
/** The name as asked: an internationalized name by its A-labels (idna.ts), lower case, no final dot. */
function queryName(name: string): string {
  return normaliseName(dnsName(name));
}

/** qmail's dns_cname gives up after 10 hops and keeps the last name (alias loop). */
const CNAME_HOPS = 10;

const utf8 = new TextEncoder();

/**
 * RFC 1035 §2.3.4 sizes counted in bytes as they go on the wire (a label of
 * 8-bit characters is longer than its string), and no characters that cannot
 * be in a host name we send.
 */
export function isQueryableName(name: string): boolean {
  if (name === "" || utf8.encode(name).length > 253) return false;
  return name.split(".").every((label) => {
    const size = utf8.encode(label).length;
    return size > 0 && size <= 63 && !/[\s\[\]\\@"()<>,;:]/.test(label);
  });
}

/** An address literal used directly (§5.8 step 4): "1.2.3.4", "[1.2.3.4]", "[IPv6:…]". */
export function parseAddressLiteral(host: string): string | undefined {
  if (isIpv4(host)) return host;
  const bracketed = /^\[(?:ipv6:)?([^\]]+)\]$/i.exec(host);
  if (bracketed === null) return undefined;
  const inner = bracketed[1];
  if (isIpv4(inner)) return inner;
  if (/^\[ipv6:/i.test(host) && isIpv6(inner)) return inner.toLowerCase();
  return undefined;
}

function permanent(reason: string): { ok: false; temporary: false; reason: string } {
  return { ok: false, temporary: false, reason };
}

/** The records of one type in a found answer ([] for NXDOMAIN and no data). */
function records<T extends RecordData["type"]>(
  answer: Answer,
  type: T,
): Extract<RecordData, { type: T }>[] {
  if (answer.kind !== "found") return [];
  return answer.records.filter((record): record is Extract<RecordData, { type: T }> =>
    record.type === type
  );
}

/** One record as text (Resolver.records). */
function recordText(record: RecordData): string[] {
  switch (record.type) {
    case "A":
    case "AAAA":
      return [record.address];
    case "MX":
      return [`${record.preference} ${record.exchange}`];
    case "CNAME":
    case "PTR":
      return [record.target];
    case "TXT":
      return [record.text];
    default:
      return [];
  }
}

export class Resolver {
  #client: DnsClient;
  #nameServers: NameServer[];
  #maxTtlMs: number;
  #maxNegativeTtlMs: number;
  #cacheEntries: number;
  #now: () => number;
  #cache = new Map<string, CacheEntry>();
  #inFlight = new Map<string, Promise<Lookup>>();

  constructor(options: ResolverOptions = {}) {
    const servers = options.nameServers ??
      (options.home === undefined ? loadSystemNameServers() : loadNameServers(options.home));
    this.#nameServers = servers.map((server) => ({ ...server }));
    this.#client = new DnsClient({
      nameServers: this.#nameServers,
      timeoutMs: (options.timeoutSeconds ?? DEFAULT_TIMEOUT_SECONDS) * 1000,
      attempts: options.attempts ?? DEFAULT_ATTEMPTS,
    });
    this.#maxTtlMs = (options.maxTtlSeconds ?? DEFAULT_MAX_TTL_SECONDS) * 1000;
    this.#maxNegativeTtlMs = (options.maxNegativeTtlSeconds ?? DEFAULT_MAX_NEGATIVE_TTL_SECONDS) *
      1000;
    this.#cacheEntries = Math.max(1, options.cacheEntries ?? DEFAULT_CACHE_ENTRIES);
    this.#now = options.now ?? Date.now;
  }

  /** The servers asked, in order. */
  get nameServers(): NameServer[] {
    return this.#nameServers.map((server) => ({ ...server }));
  }

  /** Cached entries (expired ones included until looked at or evicted). */
  get cacheSize(): number {
    return this.#cache.size;
  }

  /**
   * MX hosts by ascending preference (answer order within one preference; the
   * caller shuffles equal preferences). "none": NXDOMAIN or no MX records, so
   * the caller falls back to the domain's addresses (implicit MX, RFC 5321
   * §5.1; qmail's dns_mxip → dns_ip on DNS_HARD). "null": RFC 7505 null MX
   * (exchange "."); a "." mixed with real MX records is ignored and the real
   * ones are used.
   */
  async mx(domain: string): Promise<DnsResult<MxHost[] | "none" | "null">> {
    const name = queryName(domain);
    if (!isQueryableName(name)) return permanent(`Invalid domain name: ${domain}`);
    const result = await this.#lookup("MX", name);
    if (!result.ok) return result;
    const hosts = records(result.value, "MX").map(({ preference, exchange }) => ({
      preference,
      exchange,
    }));
    if (hosts.length === 0) return { ok: true, value: "none" };
    const real = hosts.filter((host) => host.exchange !== "");
    if (real.length === 0) return { ok: true, value: "null" };
    real.sort((a, b) => a.preference - b.preference);
    return { ok: true, value: real };
  }

  /**
   * A records then AAAA records, each in answer order. An address literal is
   * returned as is without a query. Any address found wins; otherwise
   * NXDOMAIN is permanent, a temporary failure of either family is
   * temporary, and no data for both families is permanent (qmail's dns_ip:
   * DNS_HARD → "couldn't find any host named").
   */
  async addresses(host: string): Promise<DnsResult<string[]>> {
    const literal = parseAddressLiteral(host);
    if (literal !== undefined) return { ok: true, value: [literal] };
    const name = queryName(host);
    if (!isQueryableName(name)) return permanent(`Invalid host name: ${host}`);
    const [a, aaaa] = await Promise.all([this.#lookup("A", name), this.#lookup("AAAA", name)]);
    const found = [a, aaaa].flatMap((result) =>
      result.ok
        ? [...records(result.value, "A"), ...records(result.value, "AAAA")].map((r) => r.address)
        : []
    );
    if (found.length > 0) return { ok: true, value: found };
    const answers = [a, aaaa].flatMap((result) => (result.ok ? [result.value] : []));
    if (answers.some((answer) => answer.kind === "nxdomain")) {
      return permanent(`No such host: ${name}`);
    }
    if (!a.ok) return a;
    if (!aaaa.ok) return aaaa;
    return permanent(`No address records for ${name}`);
  }

  /**
   * The canonical name (qmail's dns_cname): CNAME hops followed up to 10
   * times; NXDOMAIN or no CNAME at a hop ends the walk there; after 10 hops
   * (an alias loop) the last name is kept. Bracketed literals are returned
   * untouched. Only a temporary failure is an error (→ "CNAME lookup failed
   * temporarily").
   */
  async cname(host: string): Promise<DnsResult<string>> {
    let name = host.endsWith("]") ? host : queryName(host);
    for (let hop = 0; hop < CNAME_HOPS; hop++) {
      if (name === "" || name.endsWith("]") || isIpv4(name) || !isQueryableName(name)) break;
      const result = await this.#lookup("CNAME", name);
      if (!result.ok) return result;
      const target = records(result.value, "CNAME")[0];
      if (target === undefined) break;
      name = target.target;
    }
    return { ok: true, value: name };
  }

  /**
   * The records of one type at a name, as text (A/AAAA addresses, MX
   * "preference host", PTR and CNAME targets, TXT strings joined), for the
   * filter checks' lookups (appliance/net/filter_lookups.ts). NXDOMAIN and
   * no data are both an empty list, NXDOMAIN marked; only a failure to get
   * an answer (timeout, SERVFAIL) is an error, and it is temporary.
   */
  async records(
    name: string,
    type: QueryType,
  ): Promise<DnsResult<{ records: string[]; nxdomain: boolean }>> {
    const normalised = queryName(name);
    if (!isQueryableName(normalised)) return permanent(`Invalid domain name: ${name}`);
    const result = await this.#lookup(type, normalised);
    if (!result.ok) return result;
    const answer = result.value;
    return {
      ok: true,
      value: {
        records: answer.kind === "found" ? answer.records.flatMap(recordText) : [],
        nxdomain: answer.kind === "nxdomain",
      },
    };
  }

  /** One cached, coalesced query. */
  #lookup(type: QueryType, name: string): Promise<Lookup> {
    const key = `${type} ${name}`;
    const cached = this.#cache.get(key);
    if (cached !== undefined) {
      if (cached.expires > this.#now()) return Promise.resolve({ ok: true, value: cached.answer });
      this.#cache.delete(key);
    }
    const pending = this.#inFlight.get(key);
    if (pending !== undefined) return pending;
    const query = this.#query(type, name, key).finally(() => this.#inFlight.delete(key));
    this.#inFlight.set(key, query);
    return query;
  }

  async #query(type: QueryType, name: string, key: string): Promise<Lookup> {
    const outcome = await this.#client.query(name, type);
    if (!outcome.ok) return { ok: false, temporary: true, reason: outcome.reason };
    const interpretation = interpretAnswer(outcome.message, name, type);
    const answer: Answer = interpretation.kind === "found"
      ? { kind: "found", records: interpretation.records }
      : { kind: interpretation.kind };
    this.#remember(key, answer, interpretation.ttl);
    return { ok: true, value: answer };
  }

  #remember(key: string, answer: Answer, ttlSeconds: number): void {
    const cap = answer.kind === "found" ? this.#maxTtlMs : this.#maxNegativeTtlMs;
    const ttl = Math.min(ttlSeconds * 1000, cap);
    if (!(ttl > 0)) return;
    this.#cache.delete(key);
    this.#cache.set(key, { expires: this.#now() + ttl, answer });
    while (this.#cache.size > this.#cacheEntries) {
      const oldest = this.#cache.keys().next().value;
      if (oldest === undefined) break;
      this.#cache.delete(oldest);
    }
  }
}
