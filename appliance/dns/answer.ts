/**
 * What an answer (rcode NOERROR or NXDOMAIN) says about one question, and
 * for how long it may be cached. qmail's dns.c reads the same three outcomes
 * from res_query: records; NXDOMAIN (HOST_NOT_FOUND → DNS_HARD); no records
 * of the type (NO_DATA → DNS_HARD).
 *
 * A CNAME chain in the answer is followed from the question's name (RFC 1034
 * §3.6.2, §4.3.2) and only records owned by the chain's last name count.
 * Positive answers live for the smallest TTL among the records used (RFC 2181
 * §5.2); negative ones for the SOA in the authority section, the smaller of
 * its TTL and its MINIMUM (RFC 2308 §5), and not at all without a SOA.
 */
import type { DnsMessage, QueryType, RecordData } from "./wire.ts";
import { normaliseName, RCODE } from "./wire.ts";

export type Interpretation =
  | { kind: "found"; records: RecordData[]; ttl: number }
  | { kind: "nxdomain"; ttl: number }
  | { kind: "nodata"; ttl: number };

/** More CNAMEs than this in one answer is a loop: what is left is "no data". */
const MAX_CHAIN = 16;

export function interpretAnswer(
  message: DnsMessage,
  name: string,
  type: QueryType,
): Interpretation {
  const inClass = message.answers.filter((record) => record.class === "IN");
  let owner = normaliseName(name);
  let ttl = Infinity;
  for (let hop = 0; hop <= MAX_CHAIN; hop++) {
    const records = inClass.filter((record) => record.name === owner && record.data.type === type);
    if (records.length > 0) {
      for (const record of records) ttl = Math.min(ttl, record.ttl);
      return { kind: "found", records: records.map((record) => record.data), ttl };
    }
    const alias = type === "CNAME"
      ? undefined
      : inClass.find((record) => record.name === owner && record.data.type === "CNAME");
    if (alias === undefined || alias.data.type !== "CNAME") break;
    ttl = Math.min(ttl, alias.ttl);
    owner = alias.data.target;
  }
  const soa = message.authorities.find((record) =>
    record.class === "IN" && record.data.type === "SOA"
  );
  const negative = soa === undefined || soa.data.type !== "SOA"
    ? 0
    : Math.min(ttl, soa.ttl, soa.data.minimum);
  return { kind: message.rcode === RCODE.NXDOMAIN ? "nxdomain" : "nodata", ttl: negative };
}
