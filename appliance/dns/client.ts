/**
 * A stub resolver's query loop, as glibc's res_send does it for qmail's
 * dns.c: each name server in order, `attempts` rounds (resolv.conf's default
 * is 2), one `timeoutMs` per try. Each try is a UDP query with a random ID
 * (node:crypto) and EDNS0; a FORMERR or NOTIMP to the EDNS0 query is asked
 * again without it (RFC 6891 §7); a truncated answer (TC) is asked again
 * over TCP on the same server (RFC 1035 §4.2.1, RFC 7766 §5; qmail's bigdns
 * patch). NOERROR and NXDOMAIN are answers; SERVFAIL, REFUSED and every other
 * rcode, a timeout or an unusable answer move on to the next server, and
 * when no server answers the query has failed temporarily.
 */
import { randomInt } from "node:crypto";
import type { NameServer } from "./name_servers.ts";
import { exchangeTcp, exchangeUdp, type Query, serverLabel } from "./transport.ts";
import { type DnsMessage, encodeQuery, type QueryType, RCODE, rcodeName } from "./wire.ts";

export type QueryOutcome = { ok: true; message: DnsMessage } | { ok: false; reason: string };

export interface DnsClientOptions {
  nameServers: NameServer[];
  /** Per try, on one server. */
  timeoutMs: number;
  /** Rounds over the name servers (glibc's RES_DFLRETRY is 2). */
  attempts: number;
  /** Set AD in queries (a validating resolver for DANE, RFC 6840 §5.7). */
  authenticData?: boolean;
}

function makeQuery(name: string, type: QueryType, edns: boolean, authenticData: boolean): Query {
  const id = randomInt(0, 0x10000);
  return { id, name, type, bytes: encodeQuery(id, name, type, edns, authenticData) };
}

export class DnsClient {
  #nameServers: NameServer[];
  #timeoutMs: number;
  #attempts: number;
  #authenticData: boolean;

  constructor(options: DnsClientOptions) {
    if (options.nameServers.length === 0) throw new Error("No name servers configured");
    this.#nameServers = options.nameServers.map((server) => ({ ...server }));
    this.#timeoutMs = options.timeoutMs;
    this.#attempts = Math.max(1, options.attempts);
    this.#authenticData = options.authenticData ?? false;
  }

  /** The answer (rcode NOERROR or NXDOMAIN) from the first server that gives one. */
  async query(name: string, type: QueryType): Promise<QueryOutcome> {
    let last: QueryOutcome = { ok: false, reason: "No name server answered" };
    for (let round = 0; round < this.#attempts; round++) {
      for (const server of this.#nameServers) {
        last = await this.#ask(server, name, type);
        if (last.ok) return last;
      }
    }
    return last;
  }

  async #ask(server: NameServer, name: string, type: QueryType): Promise<QueryOutcome> {
    let edns = true;
    let exchange = await exchangeUdp(
      server,
      makeQuery(name, type, edns, this.#authenticData),
      this.#timeoutMs,
    );
    if (!exchange.ok) return exchange;
    const first = exchange.message.rcode;
    if (first === RCODE.FORMERR || first === RCODE.NOTIMP) {
      // RFC 6891 §7: a server that does not know EDNS0 is asked without it.
      edns = false;
      exchange = await exchangeUdp(
        server,
        makeQuery(name, type, edns, this.#authenticData),
        this.#timeoutMs,
      );
      if (!exchange.ok) return exchange;
    }
    if (exchange.message.truncated) {
      exchange = await exchangeTcp(
        server,
        makeQuery(name, type, edns, this.#authenticData),
        this.#timeoutMs,
      );
      if (!exchange.ok) return exchange;
      if (exchange.message.truncated) {
        return this.#unusable(server, name, type, "a truncated answer over TCP");
      }
    }
    const { rcode } = exchange.message;
    if (rcode === RCODE.NOERROR || rcode === RCODE.NXDOMAIN) return exchange;
    return this.#unusable(server, name, type, rcodeName(rcode));
  }

  #unusable(server: NameServer, name: string, type: QueryType, what: string): QueryOutcome {
    return {
      ok: false,
      reason: `DNS ${type} query for ${name} to ${serverLabel(server)}: ${what}`,
    };
  }
}
