/**
 * The filter checks' lookup runners against a fake DNS server on loopback:
 * a DNSBL hit and miss, MX answers, SERVFAIL and a server that never
 * answers (both `temporary`), and the fallbacks for kinds without a runner,
 * runners that throw and runners that hang.
 */
import { assertEquals } from "../../tests/assert.ts";
import { type FakeZone, startFakeDns } from "../../tests/fakes/fake_dns.ts";
import { Resolver } from "../dns/resolver.ts";
import { type LookupContext, runLookup } from "./filter_lookups.ts";

const ZONE: FakeZone = {
  "2.0.0.127.zen.example": { a: ["127.0.0.2"] },
  "mx.example": { mx: [{ preference: 10, exchange: "mail.mx.example" }] },
  "fail.example": { servfail: true },
  "drop.example": { drop: true },
};

async function withContext(body: (context: LookupContext) => Promise<void>): Promise<void> {
  const fake = await startFakeDns(ZONE);
  try {
    await body({
      resolver: new Resolver({
        nameServers: [{ ipAddr: "127.0.0.1", port: fake.port }],
        timeoutSeconds: 0.3,
        attempts: 1,
      }),
      sessionId: "test",
    });
  } finally {
    await fake.close();
  }
}

Deno.test("dns runner: a DNSBL hit, a miss (NXDOMAIN), MX records", async () => {
  await withContext(async (context) => {
    assertEquals(
      await runLookup({ kind: "dns", name: "2.0.0.127.zen.example", type: "A" }, context),
      { kind: "dns", records: ["127.0.0.2"] },
    );
    assertEquals(
      await runLookup({ kind: "dns", name: "3.0.0.127.zen.example", type: "A" }, context),
      { kind: "dns", records: [], nxdomain: true },
    );
    assertEquals(
      await runLookup({ kind: "dns", name: "mx.example", type: "MX" }, context),
      { kind: "dns", records: ["10 mail.mx.example"] },
    );
  });
});

Deno.test("dns runner: SERVFAIL and no answer at all are temporary", async () => {
  await withContext(async (context) => {
    const servfail = await runLookup({ kind: "dns", name: "fail.example", type: "A" }, context);
    assertEquals(servfail.kind, "temporary");
    const dropped = await runLookup({ kind: "dns", name: "drop.example", type: "A" }, context);
    assertEquals(dropped.kind, "temporary");
  });
});

Deno.test("runLookup: no runner, a throwing runner and a hanging one answer temporary", async () => {
  const context = {
    resolver: new Resolver({ nameServers: [{ ipAddr: "127.0.0.1", port: 9 }] }),
    sessionId: "test",
  };
  assertEquals(
    await runLookup({ kind: "recipient", address: "a@example.net" }, context, { runners: {} }),
    { kind: "temporary", reason: "no runner for recipient" },
  );
  assertEquals(
    await runLookup({ kind: "recipient", address: "a@example.net" }, context, {
      runners: { recipient: () => Promise.reject(new Error("boom")) },
    }),
    { kind: "temporary", reason: "recipient lookup failed: boom" },
  );
  let release: () => void = () => {};
  const hang = new Promise<void>((resolve) => release = resolve);
  const answer = await runLookup(
    { kind: "callback", sender: "a@example.org", timeoutSeconds: 0.05 },
    context,
    {
      runners: {
        callback: async () => {
          await hang;
          return { kind: "callback", accepted: true };
        },
      },
    },
  );
  release();
  assertEquals(answer, { kind: "temporary", reason: "callback lookup timed out (0.05 s)" });
});
