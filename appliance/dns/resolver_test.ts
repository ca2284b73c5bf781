import { assert, assertEquals, assertMatch } from "../../tests/assert.ts";
import {
  type FakeDecoy,
  type FakeDns,
  type FakeZone,
  startFakeDns,
} from "../../tests/fakes/fake_dns.ts";
import {
  isQueryableName,
  parseAddressLiteral,
  Resolver,
  type ResolverOptions,
} from "./resolver.ts";

const MX_ONE = { preference: 1, exchange: "mx.example" };

const BIG: string[] = Array.from({ length: 60 }, (_, i) => `10.0.${i >> 4}.${(i % 16) + 1}`);

const ZONE: FakeZone = {
  "mx.example": {
    mx: [
      { preference: 20, exchange: "b.mx.example" },
      { preference: 10, exchange: "A.MX.Example." },
      { preference: 20, exchange: "c.mx.example" },
      { preference: 5, exchange: "d.mx.example" },
    ],
  },
  "implicit.example": { a: ["192.0.2.1"] },
  "null.example": { mx: [{ preference: 0, exchange: "." }] },
  "mixednull.example": {
    mx: [{ preference: 0, exchange: "." }, { preference: 10, exchange: "real.example" }],
  },
  "dual.example": { a: ["192.0.2.5", "192.0.2.6"], aaaa: ["2001:DB8::1"] },
  "v6only.example": { aaaa: ["2001:db8::2"] },
  "empty.example": {},
  "alias.example": { cname: "alias2.example" },
  "alias2.example": { cname: "Target.Example." },
  "target.example": { a: ["192.0.2.9"], mx: [{ preference: 5, exchange: "mx.target.example" }] },
  "loop1.example": { cname: "loop2.example" },
  "loop2.example": { cname: "loop1.example" },
  "fail.example": { servfail: true },
  "refused.example": { refused: true },
  "notimp.example": { rcode: 4 },
  "formerr.example": { rcode: 1 },
  "drop.example": { drop: true },
  "big.example": { a: BIG },
  "small-tc.example": { a: ["192.0.2.77"], truncate: true },
  "old-server.example": { a: ["192.0.2.78"], noEdns: true },
  "mxfail.example": { mx: [{ preference: 10, exchange: "fail.example" }] },
};

async function withFake(
  zone: FakeZone,
  body: (fake: FakeDns, make: (options?: ResolverOptions) => Resolver) => Promise<void>,
): Promise<void> {
  const fake = await startFakeDns(zone);
  try {
    await body(fake, (options = {}) =>
      new Resolver({
        nameServers: [{ ipAddr: "127.0.0.1", port: fake.port }],
        timeoutSeconds: 0.3,
        attempts: 1,
        ...options,
      }));
  } finally {
    await fake.close();
  }
}

Deno.test("resolver: MX hosts sorted by preference, lower case, answer order kept within one preference", async () => {
  await withFake(ZONE, async (_fake, make) => {
    const result = await make().mx("MX.example.");
    assertEquals(result, {
      ok: true,
      value: [
        { preference: 5, exchange: "d.mx.example" },
        { preference: 10, exchange: "a.mx.example" },
        { preference: 20, exchange: "b.mx.example" },
        { preference: 20, exchange: "c.mx.example" },
      ],
    });
  });
});

Deno.test('resolver: no MX records and NXDOMAIN are both implicit MX ("none")', async () => {
  await withFake(ZONE, async (_fake, make) => {
    const resolver = make();
    assertEquals(await resolver.mx("implicit.example"), { ok: true, value: "none" });
    assertEquals(await resolver.mx("missing.example"), { ok: true, value: "none" });
    assertEquals(await resolver.addresses("implicit.example"), { ok: true, value: ["192.0.2.1"] });
  });
});

Deno.test("resolver: RFC 7505 null MX; a null MX mixed with real ones is ignored", async () => {
  await withFake(ZONE, async (_fake, make) => {
    const resolver = make();
    assertEquals(await resolver.mx("null.example"), { ok: true, value: "null" });
    assertEquals(await resolver.mx("mixednull.example"), {
      ok: true,
      value: [{ preference: 10, exchange: "real.example" }],
    });
  });
});

Deno.test("resolver: addresses are A then AAAA in answer order", async () => {
  await withFake(ZONE, async (_fake, make) => {
    const resolver = make();
    assertEquals(await resolver.addresses("dual.example"), {
      ok: true,
      value: ["192.0.2.5", "192.0.2.6", "2001:db8::1"],
    });
    assertEquals(await resolver.addresses("v6only.example"), {
      ok: true,
      value: ["2001:db8::2"],
    });
  });
});

Deno.test("resolver: NXDOMAIN and no data (no A, no AAAA) are permanent failures", async () => {
  await withFake(ZONE, async (_fake, make) => {
    const resolver = make();
    const missing = await resolver.addresses("missing.example");
    assert(!missing.ok && !missing.temporary, JSON.stringify(missing));
    const empty = await resolver.addresses("empty.example");
    assert(!empty.ok && !empty.temporary, JSON.stringify(empty));
  });
});

Deno.test("resolver: address literals are used without a query", async () => {
  await withFake(ZONE, async (fake, make) => {
    const resolver = make();
    assertEquals(await resolver.addresses("192.0.2.7"), { ok: true, value: ["192.0.2.7"] });
    assertEquals(await resolver.addresses("[192.0.2.8]"), { ok: true, value: ["192.0.2.8"] });
    assertEquals(await resolver.addresses("[IPv6:2001:DB8::3]"), {
      ok: true,
      value: ["2001:db8::3"],
    });
    assertEquals(fake.queries, []);
  });
});

Deno.test("resolver: CNAME chain followed to the canonical name; none → the host itself", async () => {
  await withFake(ZONE, async (_fake, make) => {
    const resolver = make();
    assertEquals(await resolver.cname("Alias.Example."), { ok: true, value: "target.example" });
    assertEquals(await resolver.cname("target.example"), { ok: true, value: "target.example" });
    assertEquals(await resolver.cname("missing.example"), { ok: true, value: "missing.example" });
    assertEquals(await resolver.cname("[192.0.2.1]"), { ok: true, value: "[192.0.2.1]" });
    // MX and A lookups of an alias follow the chain in the answer.
    assertEquals(await resolver.mx("alias.example"), {
      ok: true,
      value: [{ preference: 5, exchange: "mx.target.example" }],
    });
    assertEquals(await resolver.addresses("alias.example"), { ok: true, value: ["192.0.2.9"] });
  });
});

Deno.test("resolver: a CNAME loop stops after 10 hops with the last name (qmail's alias loop)", async () => {
  await withFake(ZONE, async (fake, make) => {
    const result = await make().cname("loop1.example");
    // Ten hops from loop1: loop2, loop1, ... ends on loop1. After the first
    // two, each hop is answered from the cache.
    assertEquals(result, { ok: true, value: "loop1.example" });
    assertEquals(fake.queries.map((q) => `${q.type} ${q.name}`), [
      "CNAME loop1.example",
      "CNAME loop2.example",
    ]);
  });
});

Deno.test("resolver: a dropped query is a temporary failure after the timeout", async () => {
  await withFake(ZONE, async (fake, make) => {
    const resolver = make();
    const result = await resolver.addresses("drop.example");
    assert(!result.ok && result.temporary, JSON.stringify(result));
    assertMatch(result.reason, /timed out/);
    const mx = await resolver.mx("drop.example");
    assert(!mx.ok && mx.temporary);
    const cname = await resolver.cname("drop.example");
    assert(!cname.ok && cname.temporary);
    // Temporary failures are not cached: each call asked again.
    assertEquals(fake.queries.filter((q) => q.type === "MX").length, 1);
    assertEquals(await resolver.mx("drop.example").then((r) => r.ok), false);
    assertEquals(fake.queries.filter((q) => q.type === "MX").length, 2);
  });
});

Deno.test("resolver: SERVFAIL, REFUSED, NOTIMP and FORMERR are temporary for MX, A/AAAA and CNAME", async () => {
  // qmail's dns.c: res_query's TRY_AGAIN (and every failure but NXDOMAIN and
  // no data) is DNS_SOFT, so the message is deferred, never bounced.
  await withFake(ZONE, async (_fake, make) => {
    const resolver = make();
    for (const name of ["fail", "refused", "notimp", "formerr"].map((n) => `${n}.example`)) {
      const mx = await resolver.mx(name);
      assert(!mx.ok && mx.temporary, `${name} MX: ${JSON.stringify(mx)}`);
      const addresses = await resolver.addresses(name);
      assert(!addresses.ok && addresses.temporary, `${name} A: ${JSON.stringify(addresses)}`);
      const cname = await resolver.cname(name);
      assert(!cname.ok && cname.temporary, `${name} CNAME: ${JSON.stringify(cname)}`);
    }
    const reason = await resolver.mx("fail.example");
    assert(!reason.ok);
    assertMatch(reason.reason, /SERVFAIL/);
    // An MX whose exchange cannot be resolved for now: the exchange's lookup is temporary.
    const mx = await resolver.mx("mxfail.example");
    assert(mx.ok && Array.isArray(mx.value));
    const exchange = await resolver.addresses(mx.value[0].exchange);
    assert(!exchange.ok && exchange.temporary, JSON.stringify(exchange));
  });
});

Deno.test("resolver: temporary failures are not cached; a later good answer is used", async () => {
  const zone: FakeZone = { "flaky.example": { servfail: true } };
  await withFake(zone, async (fake, make) => {
    const resolver = make();
    assert(!(await resolver.mx("flaky.example")).ok);
    zone["flaky.example"].servfail = false;
    zone["flaky.example"].mx = [{ preference: 1, exchange: "mx.flaky.example" }];
    assertEquals(await resolver.mx("flaky.example"), {
      ok: true,
      value: [{ preference: 1, exchange: "mx.flaky.example" }],
    });
    assertEquals(fake.queries.length, 2);
  });
});

Deno.test("resolver: each name server in order, for `attempts` rounds (glibc's res_send)", async () => {
  const failing = await startFakeDns({ "x.example": { servfail: true } });
  const dropping = await startFakeDns({ "x.example": { drop: true } });
  try {
    const resolver = new Resolver({
      nameServers: [
        { ipAddr: "127.0.0.1", port: failing.port },
        { ipAddr: "127.0.0.1", port: dropping.port },
      ],
      timeoutSeconds: 0.2,
      attempts: 2,
    });
    const result = await resolver.addresses("x.example");
    assert(!result.ok && result.temporary, JSON.stringify(result));
    for (const fake of [failing, dropping]) {
      assertEquals(fake.queries.filter((q) => q.type === "A").length, 2);
    }
  } finally {
    await failing.close();
    await dropping.close();
  }
});

Deno.test("resolver: the next name server is asked after a timeout, SERVFAIL or REFUSED", async () => {
  const dead = await startFakeDns({ "x.example": { drop: true } });
  const failing = await startFakeDns({ "x.example": { servfail: true } });
  const refusing = await startFakeDns({ "x.example": { refused: true } });
  const live = await startFakeDns({ "x.example": { a: ["192.0.2.44"] } });
  const fakes = [dead, failing, refusing, live];
  try {
    const resolver = new Resolver({
      nameServers: fakes.map((fake) => ({ ipAddr: "127.0.0.1", port: fake.port })),
      timeoutSeconds: 0.3,
      attempts: 1,
    });
    assertEquals(await resolver.addresses("x.example"), { ok: true, value: ["192.0.2.44"] });
    assert(fakes.every((fake) => fake.queries.length > 0));
  } finally {
    for (const fake of fakes) await fake.close();
  }
});

Deno.test("resolver: NXDOMAIN from the first server is final (it is an answer)", async () => {
  const first = await startFakeDns({});
  const second = await startFakeDns({ "x.example": { a: ["192.0.2.45"] } });
  try {
    const resolver = new Resolver({
      nameServers: [first, second].map((fake) => ({ ipAddr: "127.0.0.1", port: fake.port })),
      timeoutSeconds: 0.3,
    });
    const result = await resolver.addresses("x.example");
    assert(!result.ok && !result.temporary, JSON.stringify(result));
    assertEquals(second.queries, []);
  } finally {
    await first.close();
    await second.close();
  }
});

Deno.test("resolver: a big answer is truncated over UDP and fetched over TCP", async () => {
  await withFake(ZONE, async (fake, make) => {
    assertEquals(await make().addresses("big.example"), { ok: true, value: BIG });
    const transports = fake.queries.filter((q) => q.name === "big.example" && q.type === "A")
      .map((q) => q.transport);
    assertEquals(transports, ["udp", "tcp"]);
    // A small answer with TC set is fetched over TCP too.
    const resolver = make();
    assertEquals(await resolver.addresses("small-tc.example"), {
      ok: true,
      value: ["192.0.2.77"],
    });
    assertEquals(
      fake.queries.filter((q) => q.name === "small-tc.example" && q.type === "A")
        .map((q) => q.transport),
      ["udp", "tcp"],
    );
  });
});

Deno.test("resolver: EDNS0 is offered; a server that answers it with FORMERR is asked without", async () => {
  await withFake(ZONE, async (fake, make) => {
    const resolver = make();
    assertEquals(await resolver.addresses("dual.example").then((r) => r.ok), true);
    assert(fake.queries.filter((q) => q.name === "dual.example").every((q) => q.edns));
    assertEquals(await resolver.addresses("old-server.example"), {
      ok: true,
      value: ["192.0.2.78"],
    });
    assertEquals(
      fake.queries.filter((q) => q.name === "old-server.example" && q.type === "A")
        .map((q) => q.edns),
      [true, false],
    );
  });
});

Deno.test("resolver: forged UDP answers (other ID, other question, other port, garbage) are ignored", async () => {
  const decoys: FakeDecoy[] = ["id", "question", "source", "garbage"];
  const zone: FakeZone = {};
  for (const decoy of decoys) zone[`${decoy}.example`] = { a: ["192.0.2.80"], decoy };
  await withFake(zone, async (fake, make) => {
    const resolver = make();
    for (const decoy of decoys) {
      // Each decoy is an NXDOMAIN sent before the real answer: taking it would bounce.
      assertEquals(await resolver.addresses(`${decoy}.example`), {
        ok: true,
        value: ["192.0.2.80"],
      }, decoy);
    }
    assertEquals(fake.queries.filter((q) => q.transport === "tcp"), []);
  });
});

Deno.test("resolver: answers are cached for their TTLs, negative ones for the SOA's (RFC 2308)", async () => {
  let now = 1_000_000;
  const fake = await startFakeDns({
    "long.example": { mx: [MX_ONE], ttl: 600 },
    "short.example": { mx: [MX_ONE], ttl: 30 },
    "zero.example": { mx: [MX_ONE], ttl: 0 },
    "alias.example": { cname: "long.example", ttl: 20 },
    "nodata.example": { negativeTtl: 45 },
    "gone.example": { nxdomain: true, negativeTtl: 90 },
  });
  const resolver = new Resolver({
    nameServers: [{ ipAddr: "127.0.0.1", port: fake.port }],
    timeoutSeconds: 0.3,
    attempts: 1,
    now: () => now,
  });
  const names = ["long", "short", "zero", "alias", "nodata", "gone"].map((n) => `${n}.example`);
  const snapshot = async () => {
    const out: Record<string, string> = {};
    for (const name of names) {
      const result = await resolver.mx(name);
      out[name] = result.ok ? "cached" : result.temporary ? "asked" : "permanent";
    }
    return out;
  };
  try {
    for (const name of names) await resolver.mx(name);
  } finally {
    await fake.close();
  }
  // The server is gone: what is still cached answers, the rest fails temporarily.
  assertEquals(await snapshot(), {
    "long.example": "cached",
    "short.example": "cached",
    "zero.example": "asked",
    "alias.example": "cached",
    "nodata.example": "cached",
    "gone.example": "cached",
  });
  now += 31_000;
  assertEquals(await snapshot(), {
    "long.example": "cached",
    "short.example": "asked",
    "zero.example": "asked",
    // The chain's smallest TTL (the CNAME's 20 s) bounds the answer.
    "alias.example": "asked",
    "nodata.example": "cached",
    "gone.example": "cached",
  });
  now += 30_000;
  const later = await snapshot();
  assertEquals([later["nodata.example"], later["gone.example"]], ["asked", "cached"]);
  now += 30_000;
  assertEquals((await snapshot())["gone.example"], "asked");
  now += 600_000;
  assertEquals((await snapshot())["long.example"], "asked");
});

Deno.test("resolver: without a SOA a negative answer is not cached; TTLs are capped", async () => {
  let now = 0;
  const fake = await startFakeDns({ "big-ttl.example": { mx: [MX_ONE], ttl: 2_000_000 } }, {
    negativeTtl: null,
  });
  const resolver = new Resolver({
    nameServers: [{ ipAddr: "127.0.0.1", port: fake.port }],
    timeoutSeconds: 0.3,
    attempts: 1,
    maxTtlSeconds: 100,
    now: () => now,
  });
  try {
    assertEquals(await resolver.mx("missing.example"), { ok: true, value: "none" });
    assertEquals(await resolver.mx("missing.example"), { ok: true, value: "none" });
    assertEquals(fake.queries.length, 2);
    assert((await resolver.mx("big-ttl.example")).ok);
  } finally {
    await fake.close();
  }
  now += 99_000;
  assert((await resolver.mx("big-ttl.example")).ok);
  now += 2_000;
  assert(!(await resolver.mx("big-ttl.example")).ok);
});

Deno.test("resolver: concurrent identical queries share one lookup; the cache is bounded", async () => {
  await withFake(ZONE, async (fake, make) => {
    const resolver = make({ cacheEntries: 2 });
    const results = await Promise.all([1, 2, 3].map(() => resolver.mx("mx.example")));
    assert(results.every((r) => r.ok));
    assertEquals(fake.queries.filter((q) => q.name === "mx.example").length, 1);
    await resolver.mx("implicit.example");
    await resolver.mx("null.example");
    assertEquals(resolver.cacheSize, 2);
    // mx.example was the oldest and was evicted: asking again reaches the server.
    await resolver.mx("mx.example");
    assertEquals(fake.queries.filter((q) => q.name === "mx.example").length, 2);
  });
});

Deno.test("resolver: malformed names fail permanently without a query", async () => {
  await withFake(ZONE, async (fake, make) => {
    const resolver = make();
    const bad = await resolver.mx("a..b");
    assert(!bad.ok && !bad.temporary);
    const long = await resolver.addresses(`${"x".repeat(64)}.example`);
    assert(!long.ok && !long.temporary);
    assertEquals(await resolver.cname("a..b"), { ok: true, value: "a..b" });
    assertEquals(fake.queries, []);
  });
});

Deno.test("resolver: pure helpers", () => {
  assertEquals(isQueryableName("mx.example"), true);
  assertEquals(isQueryableName("_dmarc.example"), true);
  assertEquals(isQueryableName("a..b"), false);
  assertEquals(isQueryableName("has space.example"), false);
  assertEquals(isQueryableName(`${"a".repeat(63)}.example`), true);
  // 32 two-byte characters are 64 bytes on the wire: one too many for a label.
  assertEquals(isQueryableName(`${"é".repeat(31)}.example`), true);
  assertEquals(isQueryableName(`${"é".repeat(32)}.example`), false);
  assertEquals(parseAddressLiteral("192.0.2.1"), "192.0.2.1");
  assertEquals(parseAddressLiteral("[192.0.2.1]"), "192.0.2.1");
  assertEquals(parseAddressLiteral("[IPv6:::1]"), "::1");
  assertEquals(parseAddressLiteral("[::1]"), undefined);
  assertEquals(parseAddressLiteral("999.0.0.1"), undefined);
  assertEquals(parseAddressLiteral("example.com"), undefined);
});

Deno.test("resolver: name servers come from control/dnsservers when home is given", async () => {
  const home = await Deno.makeTempDir();
  try {
    await Deno.mkdir(`${home}/control`);
    await Deno.writeTextFile(`${home}/control/dnsservers`, "127.0.0.1:5353\n[::1]:53\n");
    assertEquals(new Resolver({ home }).nameServers, [
      { ipAddr: "127.0.0.1", port: 5353 },
      { ipAddr: "::1", port: 53 },
    ]);
  } finally {
    await Deno.remove(home, { recursive: true });
  }
});

Deno.test("resolver: records() gives TXT texts (character-strings joined), NXDOMAIN and no data apart, temporary failures", async () => {
  const zone: FakeZone = {
    "2.0.0.127.bl.example": {
      a: ["127.0.0.2"],
      txt: ["Listed, see https://bl.example/?127.0.0.2", ["v=spf1 ", "-all"]],
    },
    "empty.example": {},
    "drop.example": { drop: true },
    "fail.example": { servfail: true },
  };
  await withFake(zone, async (_fake, make) => {
    const resolver = make();
    const txt = await resolver.records("2.0.0.127.BL.example.", "TXT");
    assert(txt.ok);
    assertEquals(txt.value, {
      records: ["Listed, see https://bl.example/?127.0.0.2", "v=spf1 -all"],
      nxdomain: false,
    });
    const a = await resolver.records("2.0.0.127.bl.example", "A");
    assert(a.ok);
    assertEquals(a.value.records, ["127.0.0.2"]);
    assertEquals(await resolver.records("3.0.0.127.bl.example", "TXT"), {
      ok: true,
      value: { records: [], nxdomain: true },
    });
    assertEquals(await resolver.records("empty.example", "TXT"), {
      ok: true,
      value: { records: [], nxdomain: false },
    });
    for (const name of ["drop.example", "fail.example"]) {
      const failed = await resolver.records(name, "TXT");
      assert(!failed.ok && failed.temporary, name);
    }
    const bad = await resolver.records("a..b", "TXT");
    assert(!bad.ok && !bad.temporary);
  });
});
