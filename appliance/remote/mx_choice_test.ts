import { assertEquals, assertStringIncludes } from "../../tests/assert.ts";
import { buildIpMe } from "./ipme.ts";
import { orderMxHosts } from "./mx_choice.ts";
import { deliverRemote } from "./remote_delivery.ts";
import { makeTestRemote, withMx, ZONE } from "./test_remote.ts";

Deno.test("orderMxHosts: ascending preference, equal preferences shuffled", () => {
  const hosts = [
    { preference: 20, exchange: "c" },
    { preference: 10, exchange: "a" },
    { preference: 10, exchange: "b" },
  ];
  assertEquals(orderMxHosts(hosts, () => 0.5).map((h) => h.exchange), ["a", "b", "c"]);
  let n = 0;
  const descending = () => 1 - (n++) / 10;
  assertEquals(orderMxHosts(hosts, descending).map((h) => h.exchange), ["b", "a", "c"]);
});

Deno.test("remote: no MX → A; NXDOMAIN → D; null MX → D; ourselves → #5.4.6", async () => {
  await withMx([{ host: "127.0.0.2" }], async ([mx]) => {
    const s = await makeTestRemote(ZONE, mx.port);
    try {
      assertEquals((await deliverRemote(await s.job("x@amx.test"), s.ctx)).status, "K");
      const missing = await deliverRemote(await s.job("x@nomx.test"), s.ctx);
      assertEquals(missing, { ...missing, status: "D" });
      assertStringIncludes(missing.text, "couldn't find any host named nomx.test");
      const nullMx = await deliverRemote(await s.job("x@nullmx.test"), s.ctx);
      assertEquals(nullMx.status, "D");
      s.ctx.ipme = buildIpMe({ moreIpMe: [], notIpMe: [] }, []);
      const self = await deliverRemote(await s.job("x@amx.test"), s.ctx);
      assertEquals(self.status, "D");
      assertStringIncludes(self.text, "(#5.4.6)");
    } finally {
      await s.close();
    }
  });
});

Deno.test("remote: DNS SERVFAIL or REFUSED defers (Z), NXDOMAIN bounces (D), as qmail's dns.c", async () => {
  await withMx([{ host: "127.0.0.2" }], async ([mx]) => {
    const s = await makeTestRemote(ZONE, mx.port);
    try {
      // The domain's own lookups fail: qmail 1.03's CNAME step reports it first.
      for (const domain of ["servfail.test", "refused.test"]) {
        const report = await deliverRemote(await s.job(`x@${domain}`), s.ctx);
        assertEquals(report.status, "Z", `${domain}: ${report.text}`);
        assertStringIncludes(report.text, "CNAME lookup failed temporarily. (#4.4.3)");
      }
      // The MX is there but its exchange's address lookup fails.
      const exchange = await deliverRemote(await s.job("x@badmx.test"), s.ctx);
      assertEquals(exchange.status, "Z", exchange.text);
      assertStringIncludes(exchange.text, "Sorry, I couldn't find any host by that name. (#4.1.2)");
      const missing = await deliverRemote(await s.job("x@nomx.test"), s.ctx);
      assertEquals(missing.status, "D", missing.text);
      assertStringIncludes(
        missing.text,
        "Sorry, I couldn't find any host named nomx.test. (#5.1.2)",
      );
      assertEquals(mx.messages.length, 0);
    } finally {
      await s.close();
    }
  });
});
