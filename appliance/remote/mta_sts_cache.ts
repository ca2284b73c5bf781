/**
 * The MTA-STS policies of recipient domains (RFC 8461 §3 and §5.1): the
 * `_mta-sts.DOMAIN` TXT record through qmd's resolver, the policy file
 * fetched when its id is new (mta_sts_fetch.ts), and a cache in memory and in
 * a file under the home (HOME/mailsec/mtasts.json) so a restart keeps what
 * was learnt. A cached policy is used until its max_age runs out, also when
 * the TXT record has gone or cannot be looked up (§5.1, §8.3: an attacker who
 * blocks DNS must not strip the policy); a new id fetches the policy again,
 * and a failed fetch keeps the cached one. A failed fetch with nothing cached
 * is "no policy" (§5), remembered for a few minutes so every delivery to the
 * domain does not fetch again.
 */
import { parseStsPolicy, parseStsRecord, type StsPolicy } from "../mta_sts/policy_text.ts";
import type { DnsResult } from "../dns/resolver.ts";
import { fetchStsPolicyText, type PolicyFetch, type PolicyFetchOptions } from "./mta_sts_fetch.ts";

/** What deliveries to a domain follow. */
export type StsLookup =
  | { kind: "policy"; domain: string; id: string; policy: StsPolicy }
  /** No policy; reason says why when one was announced but could not be had (TLS-RPT). */
  | { kind: "none"; reason?: string };

interface CachedPolicy {
  id: string;
  policy: StsPolicy;
  /** Unix ms. */
  expires: number;
}

/** The parts of the resolver this uses. */
export interface StsResolver {
  records(name: string, type: "TXT"): Promise<DnsResult<{ records: string[]; nxdomain: boolean }>>;
  addresses(host: string): Promise<DnsResult<string[]>>;
}

export interface StsPoliciesOptions {
  resolver: StsResolver;
  /** The cache file; undefined keeps the cache in memory only. */
  file?: string;
  now: () => number;
  /** Trust anchors for the fetch (the system roots plus control/remoteca.pem). */
  ca: () => string[];
  /** The HTTPS port (443; tests use a loopback port). */
  port?: number;
  timeoutMs?: number;
  /** The fetch (tests may count calls). */
  fetch?: (domain: string, options: PolicyFetchOptions) => Promise<PolicyFetch>;
}

/** How long a failed fetch with nothing cached is not tried again. */
const FAILED_FETCH_MS = 5 * 60 * 1000;
const DEFAULT_TIMEOUT_MS = 30_000;
const FILE_VERSION = 1;

export class StsPolicies {
  readonly #options: StsPoliciesOptions;
  #cache: Map<string, CachedPolicy> | undefined;
  readonly #failed = new Map<string, { id: string; until: number; reason: string }>();
  readonly #inFlight = new Map<string, Promise<StsLookup>>();

  constructor(options: StsPoliciesOptions) {
    this.#options = options;
  }

  /** The policy deliveries to `domain` follow now. */
  policyFor(domain: string): Promise<StsLookup> {
    const name = domain.toLowerCase().replace(/\.$/, "");
    const pending = this.#inFlight.get(name);
    if (pending !== undefined) return pending;
    const lookup = this.#find(name).finally(() => this.#inFlight.delete(name));
    this.#inFlight.set(name, lookup);
    return lookup;
  }

  async #find(domain: string): Promise<StsLookup> {
    const cache = this.#load();
    const now = this.#options.now();
    let cached = cache.get(domain);
    if (cached !== undefined && cached.expires <= now) {
      cache.delete(domain);
      cached = undefined;
    }
    const txt = await this.#options.resolver.records(`_mta-sts.${domain}`, "TXT");
    const record = txt.ok ? parseStsRecord(txt.value.records) : undefined;
    if (record === undefined || !record.ok) {
      // No (usable) record: a cached policy stays in force until it expires (§5.1).
      return cached === undefined ? { kind: "none" } : this.#use(domain, cached);
    }
    if (cached !== undefined && cached.id === record.id) return this.#use(domain, cached);
    const failed = this.#failed.get(domain);
    if (failed !== undefined && failed.id === record.id && failed.until > now) {
      return cached === undefined
        ? { kind: "none", reason: failed.reason }
        : this.#use(domain, cached);
    }
    const fetched = await this.#fetch(domain);
    if (!fetched.ok) {
      this.#failed.set(domain, {
        id: record.id,
        until: now + FAILED_FETCH_MS,
        reason: fetched.reason,
      });
      return cached === undefined
        ? { kind: "none", reason: fetched.reason }
        : this.#use(domain, cached);
    }
    this.#failed.delete(domain);
    const fresh: CachedPolicy = {
      id: record.id,
      policy: fetched.policy,
      expires: now + fetched.policy.maxAge * 1000,
    };
    cache.set(domain, fresh);
    await this.#save(cache);
    return this.#use(domain, fresh);
  }

  #use(domain: string, cached: CachedPolicy): StsLookup {
    return { kind: "policy", domain, id: cached.id, policy: cached.policy };
  }

  async #fetch(
    domain: string,
  ): Promise<{ ok: true; policy: StsPolicy } | { ok: false; reason: string }> {
    const host = `mta-sts.${domain}`;
    const addresses = await this.#options.resolver.addresses(host);
    if (!addresses.ok) return { ok: false, reason: `${host}: ${addresses.reason}` };
    const fetch = this.#options.fetch ?? fetchStsPolicyText;
    const text = await fetch(domain, {
      addresses: addresses.value,
      ca: this.#options.ca(),
      port: this.#options.port ?? 443,
      timeoutMs: this.#options.timeoutMs ?? DEFAULT_TIMEOUT_MS,
    });
    if (!text.ok) return text;
    const parsed = parseStsPolicy(text.text);
    return parsed.ok ? parsed : { ok: false, reason: `policy of ${domain}: ${parsed.reason}` };
  }

  /** The cache file, read once; a missing or broken file is an empty cache. */
  #load(): Map<string, CachedPolicy> {
    if (this.#cache !== undefined) return this.#cache;
    this.#cache = new Map();
    const file = this.#options.file;
    if (file === undefined) return this.#cache;
    try {
      const data = JSON.parse(Deno.readTextFileSync(file));
      if (data?.version !== FILE_VERSION || typeof data.policies !== "object") return this.#cache;
      for (const [domain, entry] of Object.entries(data.policies as Record<string, unknown>)) {
        const cached = readEntry(entry);
        if (cached !== undefined) this.#cache.set(domain, cached);
      }
    } catch {
      // absent or unreadable: start empty, the next fetch writes it again
    }
    return this.#cache;
  }

  /** Writes the cache whole (a temporary file renamed over the old one). */
  async #save(cache: Map<string, CachedPolicy>): Promise<void> {
    const file = this.#options.file;
    if (file === undefined) return;
    const now = this.#options.now();
    const policies = Object.fromEntries([...cache].filter(([, entry]) => entry.expires > now));
    const directory = file.slice(0, file.lastIndexOf("/"));
    try {
      await Deno.mkdir(directory, { recursive: true, mode: 0o700 });
      const temporary = `${file}.tmp`;
      await Deno.writeTextFile(temporary, JSON.stringify({ version: FILE_VERSION, policies }));
      await Deno.rename(temporary, file);
    } catch {
      // the memory cache still holds it; the file is only a head start after a restart
    }
  }
}

/** One entry of the cache file, checked. */
function readEntry(entry: unknown): CachedPolicy | undefined {
  if (typeof entry !== "object" || entry === null) return undefined;
  const { id, policy, expires } = entry as Record<string, unknown>;
  if (typeof id !== "string" || typeof expires !== "number") return undefined;
  if (typeof policy !== "object" || policy === null) return undefined;
  const { mode, maxAge, mx } = policy as Record<string, unknown>;
  if (mode !== "enforce" && mode !== "testing" && mode !== "none") return undefined;
  if (typeof maxAge !== "number" || !Array.isArray(mx)) return undefined;
  if (!mx.every((pattern) => typeof pattern === "string")) return undefined;
  return { id, policy: { mode, maxAge, mx: mx as string[] }, expires };
}

/** Where the remote role keeps what it learns about other domains' TLS. */
export function mailSecurityDirectory(home: string): string {
  return `${home}/mailsec`;
}
