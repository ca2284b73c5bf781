/**
 * The fake DNS server answers as its zone says. Seen through two clients that
 * are not qmd's resolver: Deno.resolveDns (hickory) for the ordinary
 * answers, and raw datagrams parsed by dns2 for what hickory hides (rcodes,
 * TTLs, the SOA of negative answers, the TC bit, EDNS0, forged answers).
 */
import type { Buffer } from "node:buffer";
import { createSocket } from "node:dgram";
import dns2 from "dns2";
import { assert, assertEquals } from "../assert.ts";
import { type FakeDns, type FakeZone, startFakeDns } from "./fake_dns.ts";

const { Packet } = dns2;
type DnsPacket = InstanceType<typeof dns2.Packet>;

const BIG = Array.from({ length: 40 }, (_, i) => `10.1.0.${i + 1}`);

interface Datagram {
  packet: DnsPacket | undefined;
  port: number;
}

/**
 * Sends one UDP question and collects `count` datagrams in arrival order
 * (undefined packet: it did not parse).
 */
function ask(
  fake: FakeDns,
  name: string,
  type: number,
  count = 1,
  edns = false,
): Promise<Datagram[]> {
  const query = new Packet();
  query.header.id = 4242;
  query.header.rd = 1;
  query.questions.push(new Packet.Question(name, type, Packet.CLASS.IN));
  if (edns) query.additionals.push(Packet.Resource.EDNS([]));
  const socket = createSocket("udp4");
  const received: Datagram[] = [];
  return new Promise((resolve, reject) => {
    socket.on("error", reject);
    socket.on("message", (data: Buffer, from: { port: number }) => {
      let packet: DnsPacket | undefined;
      try {
        packet = Packet.parse(data);
      } catch {
        packet = undefined;
      }
      received.push({ packet, port: from.port });
      if (received.length === count) {
        socket.close();
        resolve(received);
      }
    });
    socket.send(query.toBuffer(), fake.port, "127.0.0.1");
  });
}

Deno.test("fake_dns: answers MX, A, AAAA, CNAME; NXDOMAIN outside the zone; TC then TCP", async () => {
  const fake = await startFakeDns({
    "mail.example": {
      mx: [{ preference: 10, exchange: "mx.mail.example" }, { preference: 0, exchange: "." }],
      a: ["192.0.2.1"],
      aaaa: ["2001:db8::1"],
    },
    "www.example": { cname: "mail.example" },
    "big.example": { a: BIG },
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
    const error = await Deno.resolveDns("nowhere.example", "A", { nameServer })
      .then(() => null, (e) => e);
    assert(error instanceof Deno.errors.NotFound, String(error));
    assertEquals(
      fake.queries.filter((q) => q.name === "big.example").map((q) => q.transport),
      ["udp", "tcp"],
    );
    assert(fake.queries.every((q) => q.name !== "big.example" || q.type === "A"));
  } finally {
    await fake.close();
  }
});

Deno.test("fake_dns: rcodes, TTLs, the SOA of negative answers, forced TC, EDNS0", async () => {
  const zone: FakeZone = {
    "fail.example": { servfail: true },
    "refused.example": { refused: true },
    "notimp.example": { rcode: 4 },
    "gone.example": { nxdomain: true, negativeTtl: 90 },
    "nodata.example": { a: ["192.0.2.3"] },
    "ttl.example": { a: ["192.0.2.4"], ttl: 42 },
    "tc.example": { a: ["192.0.2.5"], truncate: true },
    "old.example": { a: ["192.0.2.6"], noEdns: true },
  };
  const fake = await startFakeDns(zone);
  const bare = await startFakeDns(zone, { negativeTtl: null });
  try {
    const rcode = async (name: string) =>
      (await ask(fake, name, Packet.TYPE.A))[0].packet?.header.rcode;
    assertEquals(await rcode("fail.example"), Packet.RCODE.SERVFAIL);
    assertEquals(await rcode("refused.example"), Packet.RCODE.REFUSED);
    assertEquals(await rcode("notimp.example"), 4);
    assertEquals(await rcode("nowhere.example"), Packet.RCODE.NXDOMAIN);

    const [gone] = await ask(fake, "gone.example", Packet.TYPE.A);
    assertEquals(gone.packet?.header.rcode, Packet.RCODE.NXDOMAIN);
    assertEquals(gone.packet?.authorities.map((r) => [r.type, r.ttl, r.minimum]), [
      [Packet.TYPE.SOA, 90, 90],
    ]);
    const [nodata] = await ask(fake, "nodata.example", Packet.TYPE.MX);
    assertEquals(nodata.packet?.header.rcode, Packet.RCODE.NOERROR);
    assertEquals(nodata.packet?.answers, []);
    assertEquals(nodata.packet?.authorities.map((r) => [r.type, r.ttl, r.minimum]), [
      [Packet.TYPE.SOA, 60, 60],
    ]);
    const [noSoa] = await ask(bare, "nodata.example", Packet.TYPE.MX);
    assertEquals(noSoa.packet?.authorities, []);

    const [ttl] = await ask(fake, "ttl.example", Packet.TYPE.A);
    assertEquals(ttl.packet?.answers.map((r) => [r.address, r.ttl]), [["192.0.2.4", 42]]);

    const [tc] = await ask(fake, "tc.example", Packet.TYPE.A);
    assertEquals([tc.packet?.header.tc, tc.packet?.answers], [1, []]);

    const [withEdns] = await ask(fake, "old.example", Packet.TYPE.A, 1, true);
    assertEquals(withEdns.packet?.header.rcode, Packet.RCODE.FORMERR);
    const [withoutEdns] = await ask(fake, "old.example", Packet.TYPE.A);
    assertEquals(withoutEdns.packet?.answers.map((r) => r.address), ["192.0.2.6"]);
    assertEquals(fake.queries.filter((q) => q.name === "old.example").map((q) => q.edns), [
      true,
      false,
    ]);
  } finally {
    await fake.close();
    await bare.close();
  }
});

Deno.test("fake_dns: a decoy is a forged NXDOMAIN sent before the real answer", async () => {
  const fake = await startFakeDns({
    "id.example": { a: ["192.0.2.7"], decoy: "id" },
    "question.example": { a: ["192.0.2.7"], decoy: "question" },
    "source.example": { a: ["192.0.2.7"], decoy: "source" },
    "garbage.example": { a: ["192.0.2.7"], decoy: "garbage" },
  });
  try {
    const [idDecoy, idReal] = await ask(fake, "id.example", Packet.TYPE.A, 2);
    assertEquals(idDecoy.packet?.header.rcode, Packet.RCODE.NXDOMAIN);
    assertEquals(idDecoy.packet?.header.id, 4243);
    assertEquals([idReal.packet?.header.id, idReal.packet?.answers.length], [4242, 1]);

    const [questionDecoy, questionReal] = await ask(fake, "question.example", Packet.TYPE.A, 2);
    assertEquals(questionDecoy.packet?.header.id, 4242);
    assertEquals(questionDecoy.packet?.questions[0].name, "forged.question.example");
    assertEquals(questionReal.packet?.questions[0].name, "question.example");

    const [sourceDecoy, sourceReal] = await ask(fake, "source.example", Packet.TYPE.A, 2);
    assertEquals(sourceDecoy.packet?.header.rcode, Packet.RCODE.NXDOMAIN);
    assert(sourceDecoy.port !== fake.port);
    assertEquals([sourceReal.port, sourceReal.packet?.answers.length], [fake.port, 1]);

    const [garbage, garbageReal] = await ask(fake, "garbage.example", Packet.TYPE.A, 2);
    assertEquals(garbage.packet, undefined);
    assertEquals(garbageReal.packet?.answers.length, 1);
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
  assertEquals(fake.queries[0], {
    name: "drop.example",
    type: "A",
    transport: "udp",
    edns: fake.queries[0].edns,
  });
  controller.abort();
  assertEquals(await query, "aborted");
  await fake.close();
  await fake.close();
});
