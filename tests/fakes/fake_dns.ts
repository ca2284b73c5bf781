/**
 * A fake recursive DNS server on 127.0.0.1 for tests (UDP and TCP on the same
 * port), built on npm dns2 (test only), so the resolver is tested against an
 * encoder that is not its own. It answers from a fixed zone the way a
 * recursive resolver would: CNAME chains are chased inside the zone and
 * returned with the target's records; names absent from the zone are
 * NXDOMAIN; NXDOMAIN and no-data answers carry a SOA in the authority section
 * (RFC 2308 §3) whose TTL and MINIMUM are the negative TTL.
 *
 * UDP answers larger than 512 bytes (RFC 1035 §4.2.1) are replaced by an empty
 * answer with the TC bit set, whatever EDNS size the client offers, so a
 * client has to retry over TCP (the bigdns case). A name can also be made to
 * answer with any rcode, never answer, always truncate over UDP, refuse
 * EDNS0, or send a forged answer first.
 */
import dns2 from "dns2";
import { Buffer } from "node:buffer";
import { createSocket, type Socket as UdpSocket } from "node:dgram";
import type { Socket } from "node:net";

export interface FakeMx {
  preference: number;
  exchange: string; // "." is an RFC 7505 null MX
}

/**
 * What a forged UDP answer sent just before the real one gets wrong (each is
 * an NXDOMAIN, so a client that takes it would bounce): "id" another query
 * ID, "question" another name, "source" sent from another port, "garbage"
 * bytes that do not parse.
 */
export type FakeDecoy = "id" | "question" | "source" | "garbage";

/** What one name answers. A name in the zone with no records of a type gives NOERROR/no data. */
export interface FakeRecords {
  mx?: FakeMx[];
  a?: string[];
  aaaa?: string[];
  /** TXT records, each one string or its character-strings (DNSBL texts, SPF records). */
  txt?: (string | string[])[];
  cname?: string;
  /** TTL of this name's records, CNAME included (default 300). */
  ttl?: number;
  /** The SOA TTL and MINIMUM in this name's no-data answers (default: the server's). */
  negativeTtl?: number;
  nxdomain?: boolean;
  servfail?: boolean;
  refused?: boolean;
  /** Any other rcode (RFC 1035 §4.1.1 numbers, e.g. 4 NOTIMP). */
  rcode?: number;
  /** Never answer (the client times out). */
  drop?: boolean;
  /** Every UDP answer has the TC bit and no records; TCP answers in full. */
  truncate?: boolean;
  /** A query with an EDNS0 OPT record gets FORMERR, as an old server would give. */
  noEdns?: boolean;
  /** A forged answer sent over UDP before the real one. */
  decoy?: FakeDecoy;
}

/** Names are matched case-insensitively, without a trailing dot. */
export type FakeZone = Record<string, FakeRecords>;

export interface FakeDnsOptions {
  /** SOA TTL and MINIMUM for negative answers; null sends no SOA (default 60). */
  negativeTtl?: number | null;
}

export interface FakeQuery {
  name: string;
  type: string;
  transport: "udp" | "tcp";
  /** Whether the query carried an EDNS0 OPT record. */
  edns: boolean;
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
const DEFAULT_TTL = 300;
const DEFAULT_NEGATIVE_TTL = 60;
const OPT_TYPE = 41;

const { Packet } = dns2;
type DnsPacket = InstanceType<typeof dns2.Packet>;
type DnsResource = DnsPacket["answers"][number];

const TYPE_NAMES: Record<number, string> = {
  [Packet.TYPE.A]: "A",
  [Packet.TYPE.AAAA]: "AAAA",
  [Packet.TYPE.MX]: "MX",
  [Packet.TYPE.CNAME]: "CNAME",
  [Packet.TYPE.PTR]: "PTR",
  [Packet.TYPE.TXT]: "TXT",
  [Packet.TYPE.ANY]: "ANY",
};

function normalise(name: string): string {
  return name.toLowerCase().replace(/\.$/, "");
}

function recordsFor(name: string, type: number, entry: FakeRecords): DnsResource[] {
  const base = { name, class: Packet.CLASS.IN, ttl: entry.ttl ?? DEFAULT_TTL };
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
  if (type === Packet.TYPE.TXT || type === Packet.TYPE.ANY) {
    for (const data of entry.txt ?? []) {
      out.push(new Packet.Resource({ ...base, type: Packet.TYPE.TXT, data }));
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

/** RFC 2308 §3: the zone's SOA in the authority section, TTL and MINIMUM both `ttl`. */
function negativeSoa(name: string, ttl: number | null): DnsResource[] {
  if (ttl === null) return [];
  const zone = name.split(".").slice(-2).join(".");
  return [
    new Packet.Resource({
      name: zone,
      type: Packet.TYPE.SOA,
      class: Packet.CLASS.IN,
      ttl,
      primary: `ns.${zone}`,
      admin: `hostmaster.${zone}`,
      serial: 1,
      refresh: 3600,
      retry: 600,
      expiration: 86400,
      minimum: ttl,
    }),
  ];
}

function hasEdns(request: DnsPacket): boolean {
  return (request.additionals ?? []).some((record: DnsResource) => record.type === OPT_TYPE);
}

/** Builds the answer for one question; undefined means "drop". */
function answer(
  request: DnsPacket,
  zone: Map<string, FakeRecords>,
  negativeTtl: number | null,
): DnsPacket | undefined {
  const response = Packet.createResponseFromRequest(request);
  response.header.ra = 1;
  response.additionals = [];
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
      response.authorities = negativeSoa(name, entry?.negativeTtl ?? negativeTtl);
      return response;
    }
    if (entry.drop) return undefined;
    const rcode = entry.servfail
      ? Packet.RCODE.SERVFAIL
      : entry.refused
      ? Packet.RCODE.REFUSED
      : entry.noEdns && hasEdns(request)
      ? Packet.RCODE.FORMERR
      : entry.rcode;
    if (rcode !== undefined) {
      response.answers = [];
      response.header.rcode = rcode;
      return response;
    }
    if (entry.cname !== undefined) {
      response.answers.push(
        new Packet.Resource({
          name,
          type: Packet.TYPE.CNAME,
          class: Packet.CLASS.IN,
          ttl: entry.ttl ?? DEFAULT_TTL,
          domain: entry.cname,
        }),
      );
      if (question.type === Packet.TYPE.CNAME) return response;
      name = normalise(entry.cname);
      continue;
    }
    const records = recordsFor(name, question.type, entry);
    response.answers.push(...records);
    if (records.length === 0) {
      response.authorities = negativeSoa(name, entry.negativeTtl ?? negativeTtl);
    }
    return response;
  }
  // A CNAME loop: a recursive resolver gives up with SERVFAIL.
  response.answers = [];
  response.header.rcode = Packet.RCODE.SERVFAIL;
  return response;
}

function truncateForUdp(response: DnsPacket, always: boolean): DnsPacket {
  if (!always && response.toBuffer().length <= UDP_LIMIT) return response;
  const truncated = new Packet();
  truncated.header = new Packet.Header(response.header);
  truncated.header.tc = 1;
  truncated.questions = response.questions.slice();
  return truncated;
}

/** The forged NXDOMAIN of a decoy, as bytes. */
function forge(request: DnsPacket, decoy: FakeDecoy): Uint8Array {
  if (decoy === "garbage") return new Uint8Array([0xde, 0xad, 0xbe]);
  const forged = Packet.createResponseFromRequest(request);
  forged.header.ra = 1;
  forged.header.rcode = Packet.RCODE.NXDOMAIN;
  forged.additionals = [];
  if (decoy === "id") forged.header.id = (request.header.id + 1) & 0xffff;
  if (decoy === "question") {
    forged.questions = forged.questions.map((q: DnsPacket["questions"][number]) => ({
      ...q,
      name: `forged.${q.name}`,
    }));
  }
  return forged.toBuffer();
}

/** Starts the server; UDP and TCP listen on the same free port of 127.0.0.1. */
export async function startFakeDns(zone: FakeZone, options: FakeDnsOptions = {}): Promise<FakeDns> {
  const names = new Map<string, FakeRecords>();
  for (const [name, entry] of Object.entries(zone)) names.set(normalise(name), entry);
  const negativeTtl = options.negativeTtl === undefined
    ? DEFAULT_NEGATIVE_TTL
    : options.negativeTtl;
  const queries: FakeQuery[] = [];
  const waiters: { count: number; resolve: () => void }[] = [];
  // The other port that "source" decoys come from.
  const spoofer: UdpSocket = createSocket("udp4");
  await new Promise<void>((resolve) => spoofer.bind(0, "127.0.0.1", resolve));

  function waitForQueries(count: number): Promise<void> {
    if (queries.length >= count) return Promise.resolve();
    return new Promise((resolve) => waiters.push({ count, resolve }));
  }

  function wake(): void {
    for (let i = waiters.length - 1; i >= 0; i--) {
      if (queries.length >= waiters[i].count) waiters.splice(i, 1)[0].resolve();
    }
  }

  async function sendDecoy(
    request: DnsPacket,
    decoy: FakeDecoy,
    send: (response: DnsPacket | Buffer) => Promise<unknown>,
    client: unknown,
  ): Promise<void> {
    const forged = forge(request, decoy);
    if (decoy !== "source") {
      await send(Buffer.from(forged));
      return;
    }
    // dns2 hands a UDP handler the sender's dgram.RemoteInfo.
    if (typeof client !== "object" || client === null) return;
    const { address, port }: { address?: unknown; port?: unknown } = client;
    if (typeof address !== "string" || typeof port !== "number") return;
    await new Promise<void>((resolve) => spoofer.send(forged, port, address, () => resolve()));
  }

  function handler(transport: "udp" | "tcp") {
    return async (
      request: DnsPacket,
      send: (response: DnsPacket | Buffer) => Promise<unknown>,
      client: unknown,
    ) => {
      for (const q of request.questions) {
        queries.push({
          name: normalise(q.name),
          type: TYPE_NAMES[q.type] ?? String(q.type),
          transport,
          edns: hasEdns(request),
        });
      }
      wake();
      const response = answer(request, names, negativeTtl);
      if (response === undefined) return;
      const entry = names.get(normalise(request.questions[0]?.name ?? ""));
      try {
        // dns2's TCP send returns nothing; its UDP send a promise.
        if (transport === "tcp") return void await send(response);
        if (entry?.decoy !== undefined) await sendDecoy(request, entry.decoy, send, client);
        await send(truncateForUdp(response, entry?.truncate === true));
      } catch {
        // the client is gone
      }
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
      new Promise<void>((resolve) => spoofer.close(() => resolve())),
      new Promise<void>((resolve) => {
        tcpServer.close(() => resolve());
        for (const socket of sockets) socket.destroy();
      }),
    ]).then(() => {});
    return closed;
  }
  return { port, queries, waitForQueries, close };
}
