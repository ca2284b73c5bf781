/**
 * mailauth's SPF evaluation from Deno over qmd's resolver, against the fake
 * DNS server on loopback: each result, the Received-SPF header, DNS trouble
 * as temperror, RFC 7208 §4.6.4's lookup limit (docs/reliability.md F3).
 */
import { assert, assertEquals, assertMatch } from "../../tests/assert.ts";
import { type FakeZone, startFakeDns } from "../../tests/fakes/fake_dns.ts";
import { Resolver } from "../dns/resolver.ts";
import { runSpfLookup } from "./spf_lookup.ts";

const includes: FakeZone = {};
for (let i = 0; i < 11; i++) {
  includes[`i${i}.deep.example`] = { txt: [`v=spf1 include:i${i + 1}.deep.example -all`] };
}

const ZONE: FakeZone = {
  "pass.example": { txt: ["v=spf1 ip4:127.0.0.0/8 -all"], a: ["127.0.0.1"] },
  "fail.example": { txt: ["v=spf1 ip4:192.0.2.0/24 -all"] },
  "soft.example": { txt: ["v=spf1 ~all"] },
  "neutral.example": { txt: [["v=spf1 ", "?all"]] },
  "none.example": { txt: ["some other text"] },
  "inc.example": { txt: ["v=spf1 include:pass.example -all"] },
  "mx.example": { txt: ["v=spf1 mx -all"], mx: [{ preference: 10, exchange: "mail.mx.example" }] },
  "mail.mx.example": { a: ["127.0.0.9"] },
  "broken.example": { txt: ["v=spf1 ip4:300.1.1.1 -all"] },
  "slow.example": { drop: true },
  "servfail.example": { servfail: true },
  "helo.example": { txt: ["v=spf1 a -all"], a: ["127.0.0.9"] },
  ...includes,
};

async function withSpf(
  body: (
    ask: (sender: string, ip?: string, helo?: string) => ReturnType<typeof runSpfLookup>,
  ) => Promise<void>,
) {
  const fake = await startFakeDns(ZONE);
  try {
    const resolver = new Resolver({
      nameServers: [{ ipAddr: "127.0.0.1", port: fake.port }],
      timeoutSeconds: 0.3,
      attempts: 1,
    });
    await body((sender, ip = "127.0.0.9", helo = "client.example") =>
      runSpfLookup(
        { kind: "spf", ip, helo, sender, timeoutSeconds: 10 },
        { resolver, mta: "mx.qmd.test" },
      )
    );
  } finally {
    await fake.close();
  }
}

Deno.test("spf_lookup: pass, fail, softfail, neutral, none, include and mx through the fake DNS", async () => {
  await withSpf(async (ask) => {
    const results: Record<string, string> = {};
    for (
      const domain of [
        "pass",
        "fail",
        "soft",
        "neutral",
        "none",
        "inc",
        "mx",
        "nowhere",
      ]
    ) {
      const answer = await ask(`joe@${domain}.example`);
      results[domain] = answer.kind === "spf" ? answer.result : `${answer.kind}`;
    }
    assertEquals(results, {
      pass: "pass",
      fail: "fail",
      soft: "softfail",
      neutral: "neutral",
      none: "none",
      inc: "pass",
      mx: "pass",
      nowhere: "none",
    });
  });
});

Deno.test("spf_lookup: the Received-SPF header names the result, the host and the client", async () => {
  await withSpf(async (ask) => {
    const answer = await ask("joe@fail.example");
    assert(answer.kind === "spf");
    assertMatch(
      answer.header ?? "",
      /^Received-SPF: fail \(mx\.qmd\.test: domain of joe@fail\.example does not designate 127\.0\.0\.9 as permitted sender\) client-ip=127\.0\.0\.9;/,
    );
    assertMatch(answer.explanation ?? "", /does not designate/);
  });
});

Deno.test("spf_lookup: <> is checked as postmaster@HELO", async () => {
  await withSpf(async (ask) => {
    const answer = await ask("", "127.0.0.9", "helo.example");
    assert(answer.kind === "spf");
    assertEquals(answer.result, "pass");
    assertMatch(answer.header ?? "", /postmaster@helo\.example/);
  });
});

Deno.test("spf_lookup: a DNS timeout or SERVFAIL is temperror; a broken record permerror", async () => {
  await withSpf(async (ask) => {
    for (const domain of ["slow", "servfail"]) {
      const answer = await ask(`joe@${domain}.example`);
      assertEquals(answer.kind === "spf" && answer.result, "temperror", domain);
    }
    const broken = await ask("joe@broken.example");
    assertEquals(broken.kind === "spf" && broken.result, "permerror");
  });
});

Deno.test("spf_lookup: F3, more than 10 DNS-querying terms is permerror", async () => {
  await withSpf(async (ask) => {
    const answer = await ask("joe@i0.deep.example");
    assertEquals(answer.kind === "spf" && answer.result, "permerror");
  });
});

Deno.test("spf_lookup: past timeoutSeconds the answer is temporary", async () => {
  const fake = await startFakeDns(ZONE);
  try {
    const resolver = new Resolver({
      nameServers: [{ ipAddr: "127.0.0.1", port: fake.port }],
      timeoutSeconds: 5,
      attempts: 1,
    });
    const answer = await runSpfLookup(
      {
        kind: "spf",
        ip: "127.0.0.9",
        helo: "h.example",
        sender: "a@slow.example",
        timeoutSeconds: 0.2,
      },
      { resolver, mta: "mx.qmd.test" },
    );
    assertEquals(answer, { kind: "temporary", reason: "SPF evaluation took over 0.2s" });
  } finally {
    await fake.close();
  }
});
