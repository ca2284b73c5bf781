/**
 * The DNS layer for remote delivery (qmail's dns.c over Deno.resolveDns):
 * MX lookups with implicit MX and RFC 7505 null MX, A then AAAA addresses,
 * CNAME canonicalisation (qmail-formats §5.8 steps 3–4), per-query timeouts
 * tried on each name server in turn, and a bounded TTL cache shared by
 * every delivery of the role.
 *
 * What Deno 2.9.6's resolveDns (hickory-resolver) allows, and what follows:
 * - NXDOMAIN, "no data", SERVFAIL, REFUSED and the other error rcodes all
 *   reject with the same Deno.errors.NotFound ("no records found for Query
 *   ..."): the rcode is not exposed. NotFound is therefore read as "this name
 *   has no such records" (qmail's NXDOMAIN/no-data path); a SERVFAIL or
 *   REFUSED answer cannot be told apart and is NOT temporary here. Timeouts,
 *   unreachable servers and other errors are temporary.
 * - Record TTLs are not exposed, so the cache uses fixed TTLs (positive
 *   `ttlSeconds`, default 300; NotFound `negativeTtlSeconds`, default 60).
 *   Temporary failures are never cached.
 * - A truncated UDP answer (TC bit) is retried over TCP by hickory itself
 *   (qmail's bigdns patch is not needed).
 * - A null MX comes back as an MX record whose exchange is ".".
 * - CNAME chains in an answer are followed by hickory for MX/A/AAAA queries;
 *   a CNAME query returns one hop, so cname() walks the chain itself.
 */
import {
  isIpv4,
  isIpv6,
  loadNameServers,
  loadSystemNameServers,
  type NameServer,
} from "./name_servers.ts";

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
  /** Per query, tried on each name server in turn (default 5). */
  timeoutSeconds?: number;
  /** Positive cache (Deno.resolveDns exposes no TTLs): default 300. */
  ttlSeconds?: number;
  /** NotFound (NXDOMAIN or no data) cache: default 60. */
  negativeTtlSeconds?: number;
  /** Cache bound; the oldest entry is evicted first (default 10,000). */
  cacheEntries?: number;
  /** ms clock for the cache (tests). */
  now?: () => number;
}

type QueryType = "MX" | "A" | "AAAA" | "CNAME";
type MxRecord = { preference: number; exchange: string };
/** Records, or null when the server had none (NXDOMAIN or no data: Deno cannot tell). */
type Answer = unknown[] | null;

interface CacheEntry {
  expires: number;
  answer: Answer;
}

const DEFAULT_TIMEOUT_SECONDS = 5;
const DEFAULT_TTL_SECONDS = 300;
const DEFAULT_NEGATIVE_TTL_SECONDS = 60;
const DEFAULT_CACHE_ENTRIES = 10_000;
/** qmail's dns_cname gives up after 10 hops and keeps the last name (alias loop). */
const CNAME_HOPS = 10;

/** Lower case, without one trailing dot. */
function normaliseName(name: string): string {
  return name.toLowerCase().replace(/\.$/, "");
}

/** RFC 1035 §2.3.4 sizes; hickory rejects the rest with a plain Error. */
export function isQueryableName(name: string): boolean {
  if (name === "" || name.length > 253) return false;
  return name.split(".").every((label) =>
    label.length > 0 && label.length <= 63 && !/[\s\[\]\\@"()<>,;:]/.test(label)
  );
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

function temporary(reason: string): { ok: false; temporary: true; reason: string } {
  return { ok: false, temporary: true, reason };
}

function permanent(reason: string): { ok: false; temporary: false; reason: string } {
  return { ok: false, temporary: false, reason };
}

export class Resolver {
  #nameServers: NameServer[];
  #timeoutMs: number;
  #ttlMs: number;
  #negativeTtlMs: number;
  #cacheEntries: number;
  #now: () => number;
  #cache = new Map<string, CacheEntry>();
  #inFlight = new Map<string, Promise<DnsResult<Answer>>>();

  constructor(options: ResolverOptions = {}) {
    const servers = options.nameServers ??
      (options.home === undefined ? loadSystemNameServers() : loadNameServers(options.home));
    this.#nameServers = servers.map((server) => ({ ...server }));
    if (this.#nameServers.length === 0) throw new Error("No name servers configured");
    this.#timeoutMs = (options.timeoutSeconds ?? DEFAULT_TIMEOUT_SECONDS) * 1000;
    this.#ttlMs = (options.ttlSeconds ?? DEFAULT_TTL_SECONDS) * 1000;
    this.#negativeTtlMs = (options.negativeTtlSeconds ?? DEFAULT_NEGATIVE_TTL_SECONDS) * 1000;
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
   * §5.1). "null": RFC 7505 null MX (exchange "."); a "." mixed with real MX
   * records is ignored and the real ones are used.
   */
  async mx(domain: string): Promise<DnsResult<MxHost[] | "none" | "null">> {
    const name = normaliseName(domain);
    if (!isQueryableName(name)) return permanent(`Invalid domain name: ${domain}`);
    const result = await this.#lookup("MX", name);
    if (!result.ok) return result;
    if (result.value === null || result.value.length === 0) return { ok: true, value: "none" };
    const hosts = (result.value as MxRecord[]).map((record) => ({
      preference: record.preference,
      exchange: normaliseName(record.exchange),
    }));
    const real = hosts.filter((host) => host.exchange !== "");
    if (real.length === 0) return { ok: true, value: "null" };
    real.sort((a, b) => a.preference - b.preference);
    return { ok: true, value: real };
  }

  /**
   * A records then AAAA records, each in answer order. An address literal is
   * returned as is without a query. Both lookups NotFound → permanent failure
   * (Deno cannot tell NXDOMAIN from "no data", see above; [] only when the
   * server answered with empty data). One family failing temporarily while the
   * other has addresses still gives those addresses.
   */
  async addresses(host: string): Promise<DnsResult<string[]>> {
    const literal = parseAddressLiteral(host);
    if (literal !== undefined) return { ok: true, value: [literal] };
    const name = normaliseName(host);
    if (!isQueryableName(name)) return permanent(`Invalid host name: ${host}`);
    const [a, aaaa] = await Promise.all([this.#lookup("A", name), this.#lookup("AAAA", name)]);
    const found = [a, aaaa].flatMap((result) =>
      result.ok && result.value !== null ? result.value as string[] : []
    );
    if (found.length > 0) return { ok: true, value: found.map((ip) => ip.toLowerCase()) };
    if (!a.ok) return a;
    if (!aaaa.ok) return aaaa;
    if (a.value === null && aaaa.value === null) return permanent(`No such host: ${name}`);
    return { ok: true, value: [] };
  }

  /**
   * The canonical name (qmail's dns_cname): CNAME hops followed up to 10
   * times; NotFound at a hop ends the walk there; after 10 hops (an alias
   * loop) the last name is kept. Bracketed literals are returned untouched.
   * Only a temporary failure is an error (→ "CNAME lookup failed temporarily").
   */
  async cname(host: string): Promise<DnsResult<string>> {
    let name = host.endsWith("]") ? host : normaliseName(host);
    for (let hop = 0; hop < CNAME_HOPS; hop++) {
      if (name === "" || name.endsWith("]") || isIpv4(name) || !isQueryableName(name)) break;
      const result = await this.#lookup("CNAME", name);
      if (!result.ok) return result;
      const target = result.value?.[0];
      if (typeof target !== "string") break;
      name = normaliseName(target);
    }
    return { ok: true, value: name };
  }

  /** One cached, coalesced query of every name server in turn. */
  #lookup(type: QueryType, name: string): Promise<DnsResult<Answer>> {
    const key = `${type} ${name}`;
    const cached = this.#cache.get(key);
    if (cached !== undefined) {
      if (cached.expires > this.#now()) return Promise.resolve({ ok: true, value: cached.answer });
      this.#cache.delete(key);
    }
    const pending = this.#inFlight.get(key);
    if (pending !== undefined) return pending;
    const query = this.#queryServers(type, name).then((result) => {
      if (result.ok) this.#remember(key, result.value);
      return result;
    }).finally(() => this.#inFlight.delete(key));
    this.#inFlight.set(key, query);
    return query;
  }

  #remember(key: string, answer: Answer): void {
    const ttl = answer === null ? this.#negativeTtlMs : this.#ttlMs;
    if (ttl <= 0) return;
    this.#cache.delete(key);
    this.#cache.set(key, { expires: this.#now() + ttl, answer });
    while (this.#cache.size > this.#cacheEntries) {
      const oldest = this.#cache.keys().next().value;
      if (oldest === undefined) break;
      this.#cache.delete(oldest);
    }
  }

  async #queryServers(type: QueryType, name: string): Promise<DnsResult<Answer>> {
    let last: DnsResult<Answer> = temporary("No name server answered");
    for (const server of this.#nameServers) {
      last = await this.#queryOne(type, name, server);
      if (last.ok || !last.temporary) return last;
    }
    return last;
  }

  async #queryOne(type: QueryType, name: string, server: NameServer): Promise<DnsResult<Answer>> {
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), this.#timeoutMs);
    const where = server.ipAddr.includes(":")
      ? `[${server.ipAddr}]:${server.port}`
      : `${server.ipAddr}:${server.port}`;
    try {
      const records = await Deno.resolveDns(`${name}.`, type, {
        nameServer: server,
        signal: controller.signal,
      });
      return { ok: true, value: records };
    } catch (error) {
      if (error instanceof Deno.errors.NotFound) return { ok: true, value: null };
      if (controller.signal.aborted || error instanceof Deno.errors.TimedOut) {
        return temporary(`DNS ${type} query for ${name} to ${where} timed out`);
      }
      const message = error instanceof Error ? error.message : String(error);
      return temporary(`DNS ${type} query for ${name} to ${where} failed: ${message}`);
    } finally {
      clearTimeout(timer);
    }
  }
}
