/**
 * The fake DNS server answers as its zone says, seen through Deno.resolveDns
 * (the client the resolver uses).
 */
import { assert, assertEquals } from "../assert.ts";
import { startFakeDns } from "./fake_dns.ts";

const BIG = Array.from({ length: 40 }, (_, i) => `10.1.0.${i + 1}`);

Deno.test("fake_dns: answers MX, A, AAAA, CNAME; NXDOMAIN outside the zone; TC then TCP", async () => {
  const fake = await startFakeDns({
    "mail.example": {
      mx: [{ preference: 10, exchange: "mx.mail.example" }, { preference: 0, exchange: "." }],
      a: ["192.0.2.1"],
      aaaa: ["2001:db8::1"],
    },
    "www.example": { cname: "mail.example" },
    "big.example": { a: BIG },
    "fail.example": { servfail: true },
  });
  try {
    const nameServer = { ipAddr: "127.0.0.1", port: fake.port };
    const mx = await Deno.resolveDns("mail.example", "MX", { nameServer });
    assertEquals(mx.map((record) => ({ ...record })), [
      { preference: 10, exchange: "mx.mail.example." },
      { preference: 0, exchange: "." },
    ]);
    assertEquals(await Deno.resolveDns("MAIL.example", "A", { nameServer }), ["192.0.2.1"]);
    assertEquals(await Deno.resolveDns("mail.example", "AAAA", { nameServer }), ["2001:db8::1"]);
    assertEquals(await Deno.resolveDns("www.example", "CNAME", { nameServer }), ["mail.example."]);
    assertEquals(await Deno.resolveDns("www.example", "A", { nameServer }), ["192.0.2.1"]);
    assertEquals(await Deno.resolveDns("big.example", "A", { nameServer }), BIG);
    for (const name of ["nowhere.example", "fail.example"]) {
      const error = await Deno.resolveDns(name, "A", { nameServer }).then(() => null, (e) => e);
      assert(error instanceof Deno.errors.NotFound, String(error));
    }
    assertEquals(
      fake.queries.filter((q) => q.name === "big.example").map((q) => q.transport),
      ["udp", "tcp"],
    );
    assert(fake.queries.every((q) => q.name !== "big.example" || q.type === "A"));
  } finally {
    await fake.close();
  }
});

Deno.test("fake_dns: a dropped name never answers; close() is idempotent", async () => {
  const fake = await startFakeDns({ "drop.example": { drop: true } });
  const controller = new AbortController();
  const query = Deno.resolveDns("drop.example", "A", {
    nameServer: { ipAddr: "127.0.0.1", port: fake.port },
    signal: controller.signal,
  }).then(() => "answered", () => "aborted");
  // Abort once the server has seen the question.
  await fake.waitForQueries(1);
  assertEquals(fake.queries[0], { name: "drop.example", type: "A", transport: "udp" });
  controller.abort();
  assertEquals(await query, "aborted");
  await fake.close();
  await fake.close();
});
