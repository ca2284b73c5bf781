/**
 * The wire layer against dns2 (an encoder and decoder that are not
 * dns-packet): what we send parses there, and what it builds decodes here.
 */
import { Buffer } from "node:buffer";
import dns2 from "dns2";
import { assert, assertEquals } from "../../tests/assert.ts";
import { answersQuery, decodeMessage, EDNS_PAYLOAD_SIZE, encodeQuery, RCODE } from "./wire.ts";

const { Packet } = dns2;

Deno.test("wire: a query has our ID, RD, one IN question, and an OPT record when asked", () => {
  const withEdns = Packet.parse(Buffer.from(encodeQuery(0xbeef, "Mail.Example", "MX", true)));
  assertEquals(withEdns.header.id, 0xbeef);
  assertEquals([withEdns.header.qr, withEdns.header.rd], [0, 1]);
  assertEquals(
    withEdns.questions.map((q) => [q.name, q.type, q.class]),
    [["Mail.Example", Packet.TYPE.MX, Packet.CLASS.IN]],
  );
  assertEquals(withEdns.additionals.map((r) => [r.type, r.class]), [
    [Packet.TYPE.EDNS, EDNS_PAYLOAD_SIZE],
  ]);
  const plain = Packet.parse(Buffer.from(encodeQuery(1, "a.example", "AAAA", false)));
  assertEquals(plain.additionals, []);
  assertEquals(plain.questions[0].type, Packet.TYPE.AAAA);
});

Deno.test("wire: an answer decodes into typed records, names lower case without the dot", () => {
  const response = new Packet();
  response.header.id = 7;
  response.header.qr = 1;
  response.header.tc = 1;
  response.header.rcode = Packet.RCODE.NXDOMAIN;
  response.questions.push(new Packet.Question("Mail.Example", Packet.TYPE.MX, Packet.CLASS.IN));
  const base = { class: Packet.CLASS.IN, ttl: 120 };
  response.answers.push(
    new Packet.Resource({ ...base, name: "Mail.Example", type: Packet.TYPE.CNAME, domain: "B.X" }),
    new Packet.Resource({ ...base, name: "b.x", type: Packet.TYPE.MX, priority: 5, exchange: "" }),
    new Packet.Resource({ ...base, name: "b.x", type: Packet.TYPE.A, address: "192.0.2.1" }),
    new Packet.Resource({ ...base, name: "b.x", type: Packet.TYPE.AAAA, address: "2001:DB8::1" }),
    new Packet.Resource({ ...base, name: "b.x", type: Packet.TYPE.TXT, data: "hello" }),
  );
  response.authorities.push(
    new Packet.Resource({
      ...base,
      name: "x",
      type: Packet.TYPE.SOA,
      primary: "ns.x",
      admin: "h.x",
      serial: 1,
      refresh: 2,
      retry: 3,
      expiration: 4,
      minimum: 55,
    }),
  );
  const message = decodeMessage(response.toBuffer());
  assert(message !== undefined);
  assertEquals(
    { ...message, answers: [], authorities: [] },
    {
      id: 7,
      response: true,
      truncated: true,
      rcode: RCODE.NXDOMAIN,
      questions: [{ name: "mail.example", type: "MX", class: "IN" }],
      answers: [],
      authorities: [],
    },
  );
  assertEquals(message.answers.map((r) => [r.name, r.ttl, r.data]), [
    ["mail.example", 120, { type: "CNAME", target: "b.x" }],
    ["b.x", 120, { type: "MX", preference: 5, exchange: "" }],
    ["b.x", 120, { type: "A", address: "192.0.2.1" }],
    ["b.x", 120, { type: "AAAA", address: "2001:db8::1" }],
    ["b.x", 120, { type: "TXT", text: "hello" }],
  ]);
  assertEquals(message.authorities.map((r) => [r.name, r.data]), [
    ["x", { type: "SOA", minimum: 55 }],
  ]);
});

Deno.test("wire: bytes that do not parse are undefined, never an exception", () => {
  const good = encodeQuery(9, "a.example", "A", true);
  assertEquals(decodeMessage(new Uint8Array([1, 2, 3])), undefined);
  assertEquals(decodeMessage(good.subarray(0, good.length - 3)), undefined);
  // A compression pointer to itself (a loop) in the question name.
  const loop = new Uint8Array([0, 1, 0x81, 0x80, 0, 1, 0, 0, 0, 0, 0, 0, 0xc0, 12, 0, 1, 0, 1]);
  assertEquals(decodeMessage(loop), undefined);
  assert(decodeMessage(good) !== undefined);
});

Deno.test("wire: an answer matches only our ID, our question (any case), type and class IN", () => {
  const message = decodeMessage(encodeQuery(5, "a.example", "A", false));
  assert(message !== undefined);
  // A query is not a response.
  assertEquals(answersQuery(message, 5, "a.example", "A"), false);
  const response = { ...message, response: true };
  assertEquals(answersQuery(response, 5, "A.Example.", "A"), true);
  assertEquals(answersQuery(response, 6, "a.example", "A"), false);
  assertEquals(answersQuery(response, 5, "b.example", "A"), false);
  assertEquals(answersQuery(response, 5, "a.example", "AAAA"), false);
  const chaos = { ...response, questions: [{ name: "a.example", type: "A", class: "CH" }] };
  assertEquals(answersQuery(chaos, 5, "a.example", "A"), false);
  const two = { ...response, questions: [...response.questions, ...response.questions] };
  assertEquals(answersQuery(two, 5, "a.example", "A"), false);
});

Deno.test("wire: TXT records decode with their strings joined", () => {
  const response = new Packet();
  response.header.id = 9;
  response.header.qr = 1;
  response.questions.push(new Packet.Question("t.example", Packet.TYPE.TXT, Packet.CLASS.IN));
  response.answers.push(
    new Packet.Resource({
      name: "t.example",
      type: Packet.TYPE.TXT,
      class: Packet.CLASS.IN,
      ttl: 60,
      data: ["v=spf1 ", "-all"],
    }),
  );
  const message = decodeMessage(new Uint8Array(response.toBuffer()));
  assertEquals(message?.answers.map((record) => record.data), [
    { type: "TXT", text: "v=spf1 -all" },
  ]);
});

Deno.test("wire: DANE's queries carry AD; TLSA records and the AD bit decode", async () => {
  // The flags word is bytes 2-3; AD is bit 5 of it, RD bit 8 (RFC 4035 §3.2.3, RFC 1035 §4.1.1).
  const query = encodeQuery(3, "_25._tcp.mx.example", "TLSA", true, true);
  assertEquals([(query[2] & 0x01) !== 0, (query[3] & 0x20) !== 0], [true, true]);
  assertEquals((encodeQuery(3, "mx.example", "MX", true)[3] & 0x20) !== 0, false);
  // dns2 has no TLSA codec: the answer is made with dns-packet (the decoder's own library).
  const dnsPacket = (await import("dns-packet")) as unknown as {
    encode(packet: unknown): Uint8Array;
    AUTHENTIC_DATA: number;
  };
  const bytes = dnsPacket.encode({
    type: "response",
    id: 3,
    flags: dnsPacket.AUTHENTIC_DATA,
    questions: [{ type: "TLSA", class: "IN", name: "_25._tcp.mx.example" }],
    answers: [{
      type: "TLSA",
      name: "_25._tcp.mx.example",
      ttl: 60,
      data: { usage: 3, selector: 1, matchingType: 1, certificate: Buffer.from([1, 2, 3]) },
    }],
  });
  const message = decodeMessage(bytes);
  assertEquals(message?.authenticated, true);
  assertEquals(message?.answers[0].data, {
    type: "TLSA",
    usage: 3,
    selector: 1,
    matchingType: 1,
    data: new Uint8Array([1, 2, 3]),
  });
});
