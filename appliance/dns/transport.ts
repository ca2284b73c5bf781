/**
 * One DNS query to one name server and the answer to it, over UDP or TCP
 * (RFC 1035 §4.2). UDP goes from a new socket on a kernel-chosen port for
 * every query, and only a datagram from the server's address and port that
 * carries our ID and question is taken (RFC 5452 §4, §9.1); anything else is
 * ignored until the timeout. TCP frames the message with its two-byte length
 * (§4.2.2) and reads one answer of at most 65535 bytes. The query loop
 * around it is client.ts; this is the resolver's only module that opens
 * sockets (one of those tests/architecture_test.ts allows).
 */
import { createSocket } from "node:dgram";
import type { Buffer } from "node:buffer";
import { isIpv6, type NameServer } from "./name_servers.ts";
import { answersQuery, decodeMessage, type DnsMessage, type QueryType } from "./wire.ts";

export type Exchange = { ok: true; message: DnsMessage } | { ok: false; reason: string };

export interface Query {
  id: number;
  name: string;
  type: QueryType;
  bytes: Uint8Array;
}

/** "127.0.0.1:53" or "[::1]:53", for reasons and logs. */
export function serverLabel(server: NameServer): string {
  return isIpv6(server.ipAddr)
    ? `[${server.ipAddr}]:${server.port}`
    : `${server.ipAddr}:${server.port}`;
}

/** The eight groups of an IPv6 address as numbers, for comparing two spellings. */
function ipv6Groups(address: string): number[] {
  const [head, tail] = address.split("::");
  const parse = (part: string | undefined): number[] => {
    if (part === undefined || part === "") return [];
    return part.split(":").flatMap((group) => {
      if (!group.includes(".")) return [parseInt(group, 16)];
      const [a, b, c, d] = group.split(".").map(Number);
      return [(a << 8) | b, (c << 8) | d];
    });
  };
  const front = parse(head);
  const back = parse(tail);
  const fill = tail === undefined ? [] : Array(8 - front.length - back.length).fill(0);
  return [...front, ...fill, ...back];
}

/** Whether a datagram's source address is the server's (IPv6 compared by value). */
export function sameAddress(a: string, b: string): boolean {
  if (a === b) return true;
  if (!isIpv6(a) || !isIpv6(b)) return false;
  return ipv6Groups(a).join(":") === ipv6Groups(b).join(":");
}

function timedOut(query: Query, server: NameServer, transport: string): Exchange {
  return {
    ok: false,
    reason: `DNS ${query.type} query for ${query.name} to ${serverLabel(server)} timed out` +
      (transport === "tcp" ? " (TCP)" : ""),
  };
}

function failed(query: Query, server: NameServer, why: string): Exchange {
  return {
    ok: false,
    reason: `DNS ${query.type} query for ${query.name} to ${serverLabel(server)} failed: ${why}`,
  };
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** One query over UDP; the first matching answer, or a failure after `timeoutMs`. */
export function exchangeUdp(
  server: NameServer,
  query: Query,
  timeoutMs: number,
): Promise<Exchange> {
  return new Promise((resolve) => {
    const socket = createSocket(isIpv6(server.ipAddr) ? "udp6" : "udp4");
    let done = false;
    const finish = (result: Exchange) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      socket.close();
      resolve(result);
    };
    const timer = setTimeout(() => finish(timedOut(query, server, "udp")), timeoutMs);
    socket.on("error", (error: Error) => finish(failed(query, server, describe(error))));
    socket.on("message", (data: Buffer, from: { address: string; port: number }) => {
      if (from.port !== server.port || !sameAddress(from.address, server.ipAddr)) return;
      const message = decodeMessage(data);
      if (message === undefined) {
        // A datagram from the server that does not parse: glibc drops it and
        // waits; we do too, so a forged one cannot end the query.
        return;
      }
      if (!answersQuery(message, query.id, query.name, query.type)) return;
      finish({ ok: true, message });
    });
    socket.send(query.bytes, server.port, server.ipAddr, (error: Error | null) => {
      if (error) finish(failed(query, server, describe(error)));
    });
  });
}

/** Reads exactly `length` bytes, or fewer when the peer closes first. */
async function readFully(conn: Deno.Conn, length: number): Promise<Uint8Array> {
  const out = new Uint8Array(length);
  let filled = 0;
  while (filled < length) {
    const count = await conn.read(out.subarray(filled));
    if (count === null) break;
    filled += count;
  }
  return out.subarray(0, filled);
}

/** One query over TCP; the answer, or a failure after `timeoutMs` in all. */
export function exchangeTcp(
  server: NameServer,
  query: Query,
  timeoutMs: number,
): Promise<Exchange> {
  let conn: Deno.Conn | undefined;
  let expired = false;
  const close = () => {
    try {
      conn?.close();
    } catch {
      // already closed
    }
  };
  let timer: ReturnType<typeof setTimeout> | undefined;
  const deadline = new Promise<Exchange>((resolve) => {
    timer = setTimeout(() => {
      expired = true;
      close();
      resolve(timedOut(query, server, "tcp"));
    }, timeoutMs);
  });
  const work = async (): Promise<Exchange> => {
    try {
      conn = await Deno.connect({ hostname: server.ipAddr, port: server.port, transport: "tcp" });
      if (expired) return timedOut(query, server, "tcp");
      const framed = new Uint8Array(2 + query.bytes.length);
      new DataView(framed.buffer).setUint16(0, query.bytes.length);
      framed.set(query.bytes, 2);
      let written = 0;
      while (written < framed.length) written += await conn.write(framed.subarray(written));
      const prefix = await readFully(conn, 2);
      if (prefix.length < 2) return failed(query, server, "connection closed without an answer");
      const length = new DataView(prefix.buffer, prefix.byteOffset).getUint16(0);
      const body = await readFully(conn, length);
      if (body.length < length) return failed(query, server, "connection closed mid-answer");
      const message = decodeMessage(body);
      if (message === undefined) return failed(query, server, "the answer does not parse (TCP)");
      if (!answersQuery(message, query.id, query.name, query.type)) {
        return failed(query, server, "the answer does not match the question (TCP)");
      }
      return { ok: true, message };
    } catch (error) {
      return expired ? timedOut(query, server, "tcp") : failed(query, server, describe(error));
    } finally {
      close();
    }
  };
  // A connect that hangs (SYN unanswered) is abandoned at the deadline and
  // closed whenever it completes.
  return Promise.race([work(), deadline]).finally(() => clearTimeout(timer));
}
