import { assertEquals } from "../../tests/assert.ts";
import { interpretAnswer } from "./answer.ts";
import { type DnsMessage, RCODE, type RecordData, type ResourceRecord } from "./wire.ts";

function rr(name: string, ttl: number, data: RecordData, klass = "IN"): ResourceRecord {
  return { name, class: klass, ttl, data };
}

function message(
  rcode: number,
  answers: ResourceRecord[],
  authorities: ResourceRecord[] = [],
): DnsMessage {
  return { id: 1, response: true, truncated: false, rcode, questions: [], answers, authorities };
}

const A1: RecordData = { type: "A", address: "192.0.2.1" };
const A2: RecordData = { type: "A", address: "192.0.2.2" };
const SOA: RecordData = { type: "SOA", minimum: 30 };

Deno.test("answer: records of the type at the name; the smallest TTL of the set", () => {
  const result = interpretAnswer(
    message(RCODE.NOERROR, [rr("a.x", 300, A1), rr("a.x", 200, A2)]),
    "A.X.",
    "A",
  );
  assertEquals(result, { kind: "found", records: [A1, A2], ttl: 200 });
});

Deno.test("answer: a CNAME chain is followed; its TTLs count; records of other owners do not", () => {
  const chain = [
    rr("a.x", 50, { type: "CNAME", target: "b.x" }),
    rr("b.x", 3600, { type: "CNAME", target: "c.x" }),
    rr("c.x", 600, A1),
    rr("elsewhere.x", 1, A2),
  ];
  assertEquals(interpretAnswer(message(RCODE.NOERROR, chain), "a.x", "A"), {
    kind: "found",
    records: [A1],
    ttl: 50,
  });
  // A CNAME question takes the CNAME itself, not its target.
  assertEquals(interpretAnswer(message(RCODE.NOERROR, chain), "a.x", "CNAME"), {
    kind: "found",
    records: [{ type: "CNAME", target: "b.x" }],
    ttl: 50,
  });
  // Only A records of another owner: no data for us.
  assertEquals(
    interpretAnswer(message(RCODE.NOERROR, [rr("other.x", 60, A1)]), "a.x", "A").kind,
    "nodata",
  );
  // Records of another class are not ours either.
  assertEquals(
    interpretAnswer(message(RCODE.NOERROR, [rr("a.x", 60, A1, "CH")]), "a.x", "A").kind,
    "nodata",
  );
});

Deno.test("answer: NXDOMAIN and no data last min(SOA TTL, SOA MINIMUM); no SOA, not cached", () => {
  assertEquals(
    interpretAnswer(message(RCODE.NXDOMAIN, [], [rr("x", 100, SOA)]), "a.x", "A"),
    { kind: "nxdomain", ttl: 30 },
  );
  assertEquals(
    interpretAnswer(message(RCODE.NOERROR, [], [rr("x", 10, SOA)]), "a.x", "MX"),
    { kind: "nodata", ttl: 10 },
  );
  assertEquals(interpretAnswer(message(RCODE.NXDOMAIN, []), "a.x", "A"), {
    kind: "nxdomain",
    ttl: 0,
  });
  // NXDOMAIN at the end of a chain (RFC 6604): the alias's TTL bounds it too.
  const chain = [rr("a.x", 5, { type: "CNAME", target: "gone.x" })];
  assertEquals(interpretAnswer(message(RCODE.NXDOMAIN, chain, [rr("x", 100, SOA)]), "a.x", "A"), {
    kind: "nxdomain",
    ttl: 5,
  });
});

Deno.test("answer: a CNAME loop in an answer ends as no data", () => {
  const loop = [
    rr("a.x", 60, { type: "CNAME", target: "b.x" }),
    rr("b.x", 60, { type: "CNAME", target: "a.x" }),
  ];
  assertEquals(interpretAnswer(message(RCODE.NOERROR, loop), "a.x", "A"), {
    kind: "nodata",
    ttl: 0,
  });
});
