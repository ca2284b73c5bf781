/**
 * DNS messages on the wire (RFC 1035 §4.1) through npm dns-packet: a query
 * is encoded from qmd's own types, and an answer is decoded and then checked
 * field by field into them, so nothing untyped from the network goes further.
 * A message that does not parse is `undefined` (qmail's dns.c: DNS_SOFT).
 */
import { Buffer } from "node:buffer";
import * as dnsPacket from "dns-packet";

/** The record types the resolver asks for. */
export type QueryType = "A" | "AAAA" | "MX" | "CNAME" | "PTR" | "TXT" | "TLSA";

/** RFC 1035 §4.1.1 RCODE values (the four header bits). */
export const RCODE = {
  NOERROR: 0,
  FORMERR: 1,
  SERVFAIL: 2,
  NXDOMAIN: 3,
  NOTIMP: 4,
  REFUSED: 5,
} as const;

const RCODE_NAMES = ["NOERROR", "FORMERR", "SERVFAIL", "NXDOMAIN", "NOTIMP", "REFUSED"];

/** "SERVFAIL", or "RCODE 9" for the ones without a name here. */
export function rcodeName(rcode: number): string {
  return RCODE_NAMES[rcode] ?? `RCODE ${rcode}`;
}

/** The UDP payload size offered with EDNS0 (RFC 6891 §6.2.5; the 2020 DNS flag day's 1232). */
export const EDNS_PAYLOAD_SIZE = 1232;

/** The data of one resource record, by type; other types keep only their name. */
export type RecordData =
  | { type: "A"; address: string }
  | { type: "AAAA"; address: string }
  | { type: "CNAME"; target: string }
  | { type: "PTR"; target: string }
  | { type: "MX"; preference: number; exchange: string }
  | { type: "SOA"; minimum: number }
  /** The character-strings joined, one char per byte (RFC 7208 §3.3 joins SPF's so). */
  | { type: "TXT"; text: string }
  /** RFC 6698 §2.1: certificate usage, selector, matching type, association data. */
  | { type: "TLSA"; usage: number; selector: number; matchingType: number; data: Uint8Array }
  | { type: "OTHER"; name: string };

export interface ResourceRecord {
  /** Lower case, without the trailing dot ("" is the root). */
  name: string;
  class: string;
  /** Seconds (RFC 2181 §8: a value with the top bit set is read as 0). */
  ttl: number;
  data: RecordData;
}

export interface DnsQuestion {
  name: string;
  type: string;
  class: string;
}

export interface DnsMessage {
  id: number;
  response: boolean;
  truncated: boolean;
  rcode: number;
  /** The AD bit when set (RFC 4035 §3.2.3): trusted only from a validating resolver the operator named. */
  authenticated?: boolean;
  questions: DnsQuestion[];
  answers: ResourceRecord[];
  authorities: ResourceRecord[];
}

/** What is handed to dns-packet's encode. */
interface OutgoingPacket {
  type: "query";
  id: number;
  flags: number;
  questions: { type: QueryType; class: "IN"; name: string }[];
  additionals: { type: "OPT"; name: "."; udpPayloadSize: number }[];
}

/** The part of dns-packet's API used here (the package ships no types). */
interface Codec {
  encode(packet: OutgoingPacket): Uint8Array;
  decode(bytes: Buffer): unknown;
  RECURSION_DESIRED: number;
  AUTHENTIC_DATA: number;
}

const codec: Codec = dnsPacket;

/** Lower case, without one trailing dot. */
export function normaliseName(name: string): string {
  return name.toLowerCase().replace(/\.$/, "");
}

/**
 * One question with RD set (we talk to a recursive resolver), with an EDNS0
 * OPT record or not; with `authenticData` also AD, asking a validating
 * resolver to say whether the answer is DNSSEC-validated (RFC 6840 §5.7).
 */
export function encodeQuery(
  id: number,
  name: string,
  type: QueryType,
  edns: boolean,
  authenticData = false,
): Uint8Array {
  return codec.encode({
    type: "query",
    id,
    flags: codec.RECURSION_DESIRED | (authenticData ? codec.AUTHENTIC_DATA : 0),
    questions: [{ type, class: "IN", name }],
    additionals: edns ? [{ type: "OPT", name: ".", udpPayloadSize: EDNS_PAYLOAD_SIZE }] : [],
  });
}

type Fields = Record<string, unknown>;

function isFields(value: unknown): value is Fields {
  return typeof value === "object" && value !== null;
}

function text(fields: Fields, key: string): string | undefined {
  const value = fields[key];
  return typeof value === "string" ? value : undefined;
}

function whole(fields: Fields, key: string): number | undefined {
  const value = fields[key];
  return typeof value === "number" && Number.isInteger(value) && value >= 0 ? value : undefined;
}

function decodeData(type: string, data: unknown): RecordData | undefined {
  switch (type) {
    case "A":
    case "AAAA":
      return typeof data === "string" ? { type, address: data.toLowerCase() } : undefined;
    case "CNAME":
    case "PTR":
      return typeof data === "string" ? { type, target: normaliseName(data) } : undefined;
    case "MX": {
      if (!isFields(data)) return undefined;
      const preference = whole(data, "preference");
      const exchange = text(data, "exchange");
      if (preference === undefined || exchange === undefined) return undefined;
      return { type, preference, exchange: exchange === "." ? "" : normaliseName(exchange) };
    }
    case "TXT": {
      const strings = Array.isArray(data) ? data : [data];
      let joined = "";
      for (const part of strings) {
        if (!(part instanceof Uint8Array)) return undefined;
        for (const byte of part) joined += String.fromCharCode(byte);
      }
      return { type, text: joined };
    }
    case "TLSA": {
      if (!isFields(data)) return undefined;
      const usage = whole(data, "usage");
      const selector = whole(data, "selector");
      const matchingType = whole(data, "matchingType");
      const association = data.certificate;
      if (usage === undefined || selector === undefined || matchingType === undefined) {
        return undefined;
      }
      if (!(association instanceof Uint8Array)) return undefined;
      return { type, usage, selector, matchingType, data: new Uint8Array(association) };
    }
    case "SOA": {
      if (!isFields(data)) return undefined;
      const minimum = whole(data, "minimum");
      return minimum === undefined ? undefined : { type, minimum };
    }
    default:
      return { type: "OTHER", name: type };
  }
}

function decodeRecords(list: unknown): ResourceRecord[] | undefined {
  if (list === undefined) return [];
  if (!Array.isArray(list)) return undefined;
  const records: ResourceRecord[] = [];
  for (const item of list) {
    if (!isFields(item)) return undefined;
    const name = text(item, "name");
    const type = text(item, "type");
    const ttl = whole(item, "ttl");
    const klass = text(item, "class");
    if (name === undefined || type === undefined || ttl === undefined || klass === undefined) {
      return undefined;
    }
    const data = decodeData(type, item.data);
    if (data === undefined) return undefined;
    const root = name === "." ? "" : normaliseName(name);
    records.push({ name: root, class: klass, ttl: ttl > 0x7fffffff ? 0 : ttl, data });
  }
  return records;
}

/** The message in `bytes`, or undefined when it does not parse. */
export function decodeMessage(bytes: Uint8Array): DnsMessage | undefined {
  let decoded: unknown;
  try {
    decoded = codec.decode(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
  } catch {
    return undefined;
  }
  if (!isFields(decoded)) return undefined;
  const id = whole(decoded, "id");
  const flags = whole(decoded, "flags");
  if (id === undefined || flags === undefined || !Array.isArray(decoded.questions)) {
    return undefined;
  }
  const questions: DnsQuestion[] = [];
  for (const item of decoded.questions) {
    if (!isFields(item)) return undefined;
    const name = text(item, "name");
    const type = text(item, "type");
    const klass = text(item, "class");
    if (name === undefined || type === undefined || klass === undefined) return undefined;
    questions.push({ name: normaliseName(name), type, class: klass });
  }
  const answers = decodeRecords(decoded.answers);
  const authorities = decodeRecords(decoded.authorities);
  if (answers === undefined || authorities === undefined) return undefined;
  return {
    id,
    response: decoded.type === "response",
    // RFC 1035 §4.1.1 header flags: TC is bit 9, RCODE the low four bits.
    truncated: (flags & 0x200) !== 0,
    rcode: flags & 0xf,
    // RFC 4035 §3.2.3: AD is bit 5; present only when set.
    ...((flags & 0x20) !== 0 ? { authenticated: true } : {}),
    questions,
    answers,
    authorities,
  };
}

/**
 * Whether `message` is the answer to our query: a response with our ID and
 * exactly our question (name case-insensitively, type, class IN). Anything
 * else is ignored, as a forged or stray datagram would be (RFC 5452 §4.1).
 */
export function answersQuery(
  message: DnsMessage,
  id: number,
  name: string,
  type: QueryType,
): boolean {
  const question = message.questions[0];
  return message.response && message.id === id && message.questions.length === 1 &&
    question.name === normaliseName(name) && question.type === type && question.class === "IN";
}
