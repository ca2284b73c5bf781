/**
 * DANE for SMTP (RFC 7672) over the TLSA records of `_25._tcp.MX`: asked of
 * the validating resolvers the operator names in control/daneresolvers
 * (absent: no DANE), whose AD bit is the only DNSSEC proof qmd trusts (RFC
 * 7672 §2.1: a stub resolver must trust its recursive resolver; qmd never
 * trusts AD from control/dnsservers or resolv.conf). The MX answer must be
 * validated too (§2.2.1); an unvalidated TLSA answer is ignored, and one
 * that cannot be had (SERVFAIL: bogus or indeterminate) makes the host
 * unusable (§2.2).
 *
 * Usable records (§3.1.3): DANE-TA(2) and DANE-EE(3), selector 0 (the whole
 * certificate) or 1 (its public key), matching 0 (exact), 1 (SHA-256) or 2
 * (SHA-512). DANE-EE matches the server's certificate and ignores its names
 * and dates (§3.1.1); DANE-TA matches a certificate of the presented chain
 * that the server's certificate chains up to by signatures, and the server's
 * certificate must name the MX host and be within its dates (§3.1.2).
 */
import { createHash, X509Certificate } from "node:crypto";
import { ControlError, parseControlList, readControlText } from "../../config/control.ts";
import { DnsClient } from "../dns/client.ts";
import { interpretAnswer } from "../dns/answer.ts";
import { type NameServer, parseNameServer } from "../dns/name_servers.ts";
import { normaliseName, type RecordData } from "../dns/wire.ts";

export type TlsaRecord = Extract<RecordData, { type: "TLSA" }>;

/** What DANE says of one MX host. */
export type DaneHost =
  /** No DANE: off, an unvalidated zone, or no TLSA records. */
  | { kind: "none" }
  /** Validated TLSA records: TLS is mandatory; `usable` ones must match. */
  | { kind: "tlsa"; name: string; usable: TlsaRecord[] }
  /** The lookup failed (bogus or indeterminate): do not use this host. */
  | { kind: "failed"; reason: string };

/** control/daneresolvers: the validating resolvers whose AD bit counts; [] = DANE off. */
export function loadDaneResolvers(home: string): NameServer[] {
  const text = readControlText(home, "daneresolvers");
  if (text === undefined) return [];
  return parseControlList(text).map((entry) => {
    const parsed = parseNameServer(entry.value);
    if (typeof parsed === "string") {
      throw new ControlError(`${home}/control/daneresolvers`, entry.line, parsed);
    }
    return parsed;
  });
}

/** TLSA lookups through a validating resolver. */
export class DaneResolver {
  readonly #client: DnsClient;

  constructor(nameServers: NameServer[], timeoutMs = 5000) {
    this.#client = new DnsClient({ nameServers, timeoutMs, attempts: 2, authenticData: true });
  }

  /** Whether the domain's MX answer is DNSSEC-validated (§2.2.1); a failure counts as not. */
  async mxValidated(domain: string): Promise<boolean> {
    const outcome = await this.#client.query(normaliseName(domain), "MX");
    return outcome.ok && outcome.message.authenticated === true;
  }

  /** The TLSA records of `_PORT._tcp.HOST` (§2.2.2). */
  async host(host: string, port = 25): Promise<DaneHost> {
    const name = `_${port}._tcp.${normaliseName(host)}`;
    const outcome = await this.#client.query(name, "TLSA");
    if (!outcome.ok) return { kind: "failed", reason: `TLSA lookup of ${name}: ${outcome.reason}` };
    if (outcome.message.authenticated !== true) return { kind: "none" };
    const answer = interpretAnswer(outcome.message, name, "TLSA");
    if (answer.kind !== "found") return { kind: "none" };
    const records = answer.records.filter((record): record is TlsaRecord => record.type === "TLSA");
    if (records.length === 0) return { kind: "none" };
    return { kind: "tlsa", name, usable: records.filter(isUsable) };
  }
}

/** §3.1.3: DANE-TA(2) and DANE-EE(3) with known selectors and matching types. */
function isUsable(record: TlsaRecord): boolean {
  return (record.usage === 2 || record.usage === 3) && record.selector <= 1 &&
    record.matchingType <= 2;
}

/** The bytes a record's selector picks from a certificate (RFC 6698 §2.1.2). */
function selected(record: TlsaRecord, certificate: X509Certificate): Uint8Array {
  if (record.selector === 0) return new Uint8Array(certificate.raw);
  return new Uint8Array(certificate.publicKey.export({ type: "spki", format: "der" }));
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((byte, index) => byte === b[index]);
}

/** Whether a record matches a certificate (RFC 6698 §2.1.3). */
export function tlsaMatches(record: TlsaRecord, certificate: X509Certificate): boolean {
  const bytes = selected(record, certificate);
  if (record.matchingType === 0) return sameBytes(bytes, record.data);
  const algorithm = record.matchingType === 1 ? "sha256" : "sha512";
  return sameBytes(new Uint8Array(createHash(algorithm).update(bytes).digest()), record.data);
}

/**
 * Why the presented chain (DER, the server's certificate first) does not
 * satisfy the records for `host`, or undefined when it does.
 */
export function checkDaneChain(
  records: TlsaRecord[],
  chain: Uint8Array[],
  host: string,
  now: number,
): string | undefined {
  if (chain.length === 0) return "no certificate presented";
  let certificates: X509Certificate[];
  try {
    certificates = chain.map((der) => new X509Certificate(der));
  } catch {
    return "a presented certificate does not parse";
  }
  const leaf = certificates[0];
  if (records.some((record) => record.usage === 3 && tlsaMatches(record, leaf))) return undefined;
  for (const record of records.filter((each) => each.usage === 2)) {
    for (let index = 1; index < certificates.length; index++) {
      if (!tlsaMatches(record, certificates[index])) continue;
      if (!chainsUp(certificates.slice(0, index + 1))) continue;
      if (leaf.checkHost(normaliseName(host)) === undefined) {
        return `the certificate does not name ${host}`;
      }
      if (Date.parse(leaf.validFrom) > now || Date.parse(leaf.validTo) < now) {
        return "the certificate is outside its validity dates";
      }
      return undefined;
    }
  }
  return "no TLSA record matches the certificate";
}

/** Each certificate is issued and signed by the next one. */
function chainsUp(certificates: X509Certificate[]): boolean {
  for (let index = 0; index + 1 < certificates.length; index++) {
    const issuer = certificates[index + 1];
    if (!certificates[index].checkIssued(issuer)) return false;
    if (!certificates[index].verify(issuer.publicKey)) return false;
  }
  return true;
}
