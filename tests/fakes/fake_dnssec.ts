/**
 * A fake DNSSEC-validating resolver on 127.0.0.1 (UDP), for DANE tests: it
 * answers MX and TLSA questions from a fixed zone with the AD bit set (as a
 * validating resolver does for a signed zone), or clear for names marked
 * insecure, or SERVFAIL (what a validating resolver answers for bogus data).
 * Encoded with npm dns-packet (dns2, the other fakes' encoder, has no TLSA).
 */
import { Buffer } from "node:buffer";
import { createSocket } from "node:dgram";
import * as dnsPacket from "dns-packet";

export interface FakeTlsa {
  usage: number;
  selector: number;
  matchingType: number;
  data: Uint8Array;
}

export interface FakeSecureRecords {
  mx?: { preference: number; exchange: string }[];
  tlsa?: FakeTlsa[];
  /** Answer with AD clear (an unsigned zone). */
  insecure?: boolean;
  /** SERVFAIL (bogus). */
  servfail?: boolean;
}

export interface FakeDnssec {
  port: number;
  /** "TYPE name" of every question, in order. */
  readonly queries: string[];
  close(): Promise<void>;
}

// dns-packet ships no types; the part used here.
interface Codec {
  decode(bytes: Buffer): {
    id: number;
    questions?: { name: string; type: string }[];
  };
  encode(packet: unknown): Uint8Array;
  RECURSION_DESIRED: number;
  RECURSION_AVAILABLE: number;
  AUTHENTIC_DATA: number;
}
const codec = dnsPacket as unknown as Codec;

export async function startFakeDnssec(
  zone: Record<string, FakeSecureRecords>,
): Promise<FakeDnssec> {
  const queries: string[] = [];
  const socket = createSocket("udp4");
  socket.on("message", (bytes: Buffer, from: { address: string; port: number }) => {
    let request;
    try {
      request = codec.decode(bytes);
    } catch {
      return;
    }
    const question = request.questions?.[0];
    if (question === undefined) return;
    const name = question.name.toLowerCase().replace(/\.$/, "");
    queries.push(`${question.type} ${name}`);
    const entry = zone[name];
    let flags = codec.RECURSION_DESIRED | codec.RECURSION_AVAILABLE;
    let rcode = "NOERROR";
    const answers: unknown[] = [];
    if (entry === undefined) rcode = "NXDOMAIN";
    else if (entry.servfail) rcode = "SERVFAIL";
    else {
      if (question.type === "MX") {
        for (const mx of entry.mx ?? []) {
          answers.push({ type: "MX", name, ttl: 300, data: mx });
        }
      }
      if (question.type === "TLSA") {
        for (const tlsa of entry.tlsa ?? []) {
          answers.push({
            type: "TLSA",
            name,
            ttl: 300,
            data: { ...tlsa, certificate: Buffer.from(tlsa.data) },
          });
        }
      }
    }
    if (entry !== undefined && !entry.insecure && rcode !== "SERVFAIL") {
      flags |= codec.AUTHENTIC_DATA;
    }
    const reply = codec.encode({
      type: "response",
      id: request.id,
      flags: flags | { NOERROR: 0, SERVFAIL: 2, NXDOMAIN: 3 }[rcode]!,
      questions: [{ type: question.type, class: "IN", name }],
      answers,
    });
    socket.send(reply, from.port, from.address);
  });
  await new Promise<void>((resolve) => socket.bind(0, "127.0.0.1", resolve));
  return {
    port: socket.address().port,
    queries,
    close: () => new Promise<void>((resolve) => socket.close(() => resolve())),
  };
}
