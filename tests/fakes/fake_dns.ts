/**
 * A fake recursive DNS server on 127.0.0.1 for tests (UDP and TCP on the same
 * port), built on npm dns2 (test only). It answers from a fixed zone the way a
 * recursive resolver would: CNAME chains are chased inside the zone and
 * returned with the target's records; names absent from the zone are NXDOMAIN.
 *
 * UDP answers larger than 512 bytes (RFC 1035 §4.2.1) are replaced by an empty
 * answer with the TC bit set, whatever EDNS size the client offers, so a
 * client has to retry over TCP (the bigdns case).
 */
import dns2 from "dns2";
import type { Socket } from "node:net";

export interface FakeMx {
  preference: number;
  exchange: string; // "." is an RFC 7505 null MX
}

/** What one name answers. A name in the zone with no records of a type gives NOERROR/no data. */
export interface FakeRecords {
  mx?: FakeMx[];
  a?: string[];
  aaaa?: string[];
  cname?: string;
  nxdomain?: boolean;
  servfail?: boolean;
  refused?: boolean;
  /** Never answer (the client times out). */
  drop?: boolean;
}

/** Names are matched case-insensitively, without a trailing dot. */
export type FakeZone = Record<string, FakeRecords>;

export interface FakeQuery {
  name: string;
  type: string;
  transport: "udp" | "tcp";
}

export interface FakeDns {
  port: number;
  /** Every question received, in order. */
  queries: FakeQuery[];
  /** Resolves once at least `count` questions have been received. */
  waitForQueries(count: number): Promise<void>;
  close(): Promise<void>;
}

const UDP_LIMIT = 512;
const MAX_CHASE = 16;

const { Packet } = dns2;
type DnsPacket = InstanceType<typeof dns2.Packet>;
type DnsResource = DnsPacket["answers"][number];

const TYPE_NAMES: Record<number, string> = {
  [Packet.TYPE.A]: "A",
  [Packet.TYPE.AAAA]: "AAAA",
  [Packet.TYPE.MX]: "MX",
  [Packet.TYPE.CNAME]: "CNAME",
  [Packet.TYPE.ANY]: "ANY",
};

function normalise(name: string): string {
  return name.toLowerCase().replace(/\.$/, "");
}

function recordsFor(name: string, type: number, entry: FakeRecords): DnsResource[] {
  const base = { name, class: Packet.CLASS.IN, ttl: 300 };
  const out: DnsResource[] = [];
  if (type === Packet.TYPE.A || type === Packet.TYPE.ANY) {
    for (const address of entry.a ?? []) {
      out.push(new Packet.Resource({ ...base, type: Packet.TYPE.A, address }));
    }
  }
  if (type === Packet.TYPE.AAAA || type === Packet.TYPE.ANY) {
    for (const address of entry.aaaa ?? []) {
      out.push(new Packet.Resource({ ...base, type: Packet.TYPE.AAAA, address }));
    }
  }
  if (type === Packet.TYPE.MX || type === Packet.TYPE.ANY) {
    for (const mx of entry.mx ?? []) {
      out.push(
        new Packet.Resource({
          ...base,
          type: Packet.TYPE.MX,
          priority: mx.preference,
          exchange: mx.exchange === "." ? "" : mx.exchange,
        }),
      );
    }
  }
  return out;
}

/** Builds the answer for one question; undefined means "drop". */
function answer(request: DnsPacket, zone: Map<string, FakeRecords>): DnsPacket | undefined {
  const response = Packet.createResponseFromRequest(request);
  response.header.ra = 1;
  const question = request.questions[0];
  if (question === undefined) {
    response.header.rcode = Packet.RCODE.FORMERR;
    return response;
  }
  let name = normalise(question.name);
  for (let hop = 0; hop < MAX_CHASE; hop++) {
    const entry = zone.get(name);
    if (entry === undefined || entry.nxdomain) {
      response.header.rcode = Packet.RCODE.NXDOMAIN;
      return response;
    }
    if (entry.drop) return undefined;
    if (entry.servfail) {
      response.header.rcode = Packet.RCODE.SERVFAIL;
      return response;
    }
    if (entry.refused) {
      response.header.rcode = Packet.RCODE.REFUSED;
      return response;
    }
    if (entry.cname !== undefined) {
      response.answers.push(
        new Packet.Resource({
          name,
          type: Packet.TYPE.CNAME,
          class: Packet.CLASS.IN,
          ttl: 300,
          domain: entry.cname,
        }),
      );
      if (question.type === Packet.TYPE.CNAME) return response;
      name = normalise(entry.cname);
      continue;
    }
    response.answers.push(...recordsFor(name, question.type, entry));
    return response;
  }
  // A CNAME loop: a recursive resolver gives up with SERVFAIL.
  response.answers = [];
  response.header.rcode = Packet.RCODE.SERVFAIL;
  return response;
}

function truncateForUdp(response: DnsPacket): DnsPacket {
  if (response.toBuffer().length <= UDP_LIMIT) return response;
  const truncated = new Packet();
  truncated.header = new Packet.Header(response.header);
  truncated.header.tc = 1;
  truncated.questions = response.questions.slice();
  return truncated;
}

/** Starts the server; UDP and TCP listen on the same free port of 127.0.0.1. */
export async function startFakeDns(zone: FakeZone): Promise<FakeDns> {
  const names = new Map<string, FakeRecords>();
  for (const [name, entry] of Object.entries(zone)) names.set(normalise(name), entry);
  const queries: FakeQuery[] = [];
  const waiters: { count: number; resolve: () => void }[] = [];

  function waitForQueries(count: number): Promise<void> {
    if (queries.length >= count) return Promise.resolve();
    return new Promise((resolve) => waiters.push({ count, resolve }));
  }

  function wake(): void {
    for (let i = waiters.length - 1; i >= 0; i--) {
      if (queries.length >= waiters[i].count) waiters.splice(i, 1)[0].resolve();
    }
  }

  function handler(transport: "udp" | "tcp") {
    return (request: DnsPacket, send: (response: DnsPacket) => unknown) => {
      for (const q of request.questions) {
        queries.push({
          name: normalise(q.name),
          type: TYPE_NAMES[q.type] ?? String(q.type),
          transport,
        });
      }
      wake();
      const response = answer(request, names);
      if (response === undefined) return;
      void send(transport === "udp" ? truncateForUdp(response) : response);
    };
  }

  const sockets = new Set<Socket>();
  // UDP and TCP on one port: the kernel picks a free UDP port, which another
  // test may hold for TCP; try a new pair a bounded number of times.
  let udp: ReturnType<typeof dns2.createUDPServer> | undefined;
  let tcp: ReturnType<typeof dns2.createTCPServer> | undefined;
  let port = 0;
  for (let attempt = 1; tcp === undefined; attempt++) {
    const udpServer = dns2.createUDPServer({ type: "udp4" });
    udpServer.on("request", handler("udp"));
    udpServer.on("requestError", () => {});
    await udpServer.listen(0, "127.0.0.1");
    port = udpServer.address().port;
    const tcpServer = dns2.createTCPServer();
    tcpServer.on("connection", (socket: Socket) => {
      sockets.add(socket);
      socket.on("close", () => sockets.delete(socket));
    });
    tcpServer.on("request", handler("tcp"));
    tcpServer.on("requestError", () => {});
    try {
      await new Promise<void>((resolve, reject) => {
        tcpServer.once("error", reject);
        tcpServer.listen(port, "127.0.0.1", () => resolve());
      });
      udp = udpServer;
      tcp = tcpServer;
    } catch (error) {
      udpServer.close();
      if (attempt >= 20) throw error;
    }
  }
  const udpServer = udp!;
  const tcpServer = tcp;

  let closed: Promise<void> | undefined;
  function close(): Promise<void> {
    closed ??= Promise.all([
      new Promise<void>((resolve) => udpServer.close(() => resolve())),
      new Promise<void>((resolve) => {
        tcpServer.close(() => resolve());
        for (const socket of sockets) socket.destroy();
      }),
    ]).then(() => {});
    return closed;
  }
  return { port, queries, waitForQueries, close };
}
