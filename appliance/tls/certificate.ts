/**
 * Reading the parts of X.509 certificates and CRLs (RFC 5280) that
 * node:crypto's X509Certificate does not give as data: the raw issuer and
 * subject names, the subject's emailAddress, the subjectAltName entries,
 * extendedKeyUsage, the key identifiers, and revocation lists.
 *
 * Pure: no I/O, no clock.
 */
import {
  DER_TAG,
  DerError,
  type DerNode,
  expectDerTag,
  parseDer,
  parseDerBitString,
  parseDerChildren,
  parseDerIntegerHex,
  parseDerObjectIdentifier,
  parseDerString,
  parseDerTime,
} from "./der.ts";

/** Object identifiers used by the tls module (RFC 5280 §4.2.1, RFC 5480, RFC 5758, RFC 8017). */
export const OID = {
  commonName: "2.5.4.3",
  emailAddress: "1.2.840.113549.1.9.1",
  subjectKeyIdentifier: "2.5.29.14",
  keyUsage: "2.5.29.15",
  subjectAltName: "2.5.29.17",
  basicConstraints: "2.5.29.19",
  authorityKeyIdentifier: "2.5.29.35",
  extendedKeyUsage: "2.5.29.37",
  anyExtendedKeyUsage: "2.5.29.37.0",
  serverAuth: "1.3.6.1.5.5.7.3.1",
  clientAuth: "1.3.6.1.5.5.7.3.2",
  ecPublicKey: "1.2.840.10045.2.1",
  rsaEncryption: "1.2.840.113549.1.1.1",
  ecdsaWithSha256: "1.2.840.10045.4.3.2",
  ecdsaWithSha384: "1.2.840.10045.4.3.3",
  ecdsaWithSha512: "1.2.840.10045.4.3.4",
  sha1WithRsa: "1.2.840.113549.1.1.5",
  sha256WithRsa: "1.2.840.113549.1.1.11",
  sha384WithRsa: "1.2.840.113549.1.1.12",
  sha512WithRsa: "1.2.840.113549.1.1.13",
  ed25519: "1.3.101.112",
} as const;

/**
 * The digest node:crypto's verify() takes for a signature algorithm: a hash
 * name, null for Ed25519, undefined for algorithms qmd does not check
 * (RSASSA-PSS with parameters, DSA, ...).
 */
export function signatureDigest(algorithm: string): string | null | undefined {
  switch (algorithm) {
    case OID.ecdsaWithSha256:
    case OID.sha256WithRsa:
      return "sha256";
    case OID.ecdsaWithSha384:
    case OID.sha384WithRsa:
      return "sha384";
    case OID.ecdsaWithSha512:
    case OID.sha512WithRsa:
      return "sha512";
    case OID.sha1WithRsa:
      return "sha1";
    case OID.ed25519:
      return null;
    default:
      return undefined;
  }
}

export interface Extension {
  critical: boolean;
  /** The extnValue OCTET STRING's content: the extension's own DER. */
  value: Uint8Array;
}

export interface ParsedCertificate {
  /** The serial number as upper-case hex without leading zeros. */
  serial: string;
  /** The issuer Name, DER. */
  issuer: Uint8Array;
  /** The subject Name, DER. */
  subject: Uint8Array;
  notBefore: Date;
  notAfter: Date;
  /** subjectPublicKey's bits (RFC 5280 §4.2.1.2 method 1 hashes these). */
  subjectPublicKey: Uint8Array;
  extensions: Map<string, Extension>;
}

/** A certificate (DER). Throws DerError when it is not one. */
export function parseCertificate(der: Uint8Array): ParsedCertificate {
  const [tbsNode] = sequence(parseDer(der), "certificate", 3);
  const fields = parseDerChildren(expectDerTag(tbsNode, DER_TAG.sequence, "tbsCertificate"));
  let index = 0;
  if (fields[0]?.tag === 0xa0) index++; // version [0] EXPLICIT
  const serial = parseDerIntegerHex(expectDerTag(fields[index++], DER_TAG.integer, "serial"));
  index++; // signature AlgorithmIdentifier
  const issuer = expectDerTag(fields[index++], DER_TAG.sequence, "issuer").encoded;
  const validity = sequence(fields[index++], "validity", 2);
  const subject = expectDerTag(fields[index++], DER_TAG.sequence, "subject").encoded;
  const spki = sequence(fields[index++], "subjectPublicKeyInfo", 2);
  const extensions = new Map<string, Extension>();
  for (const field of fields.slice(index)) {
    if (field.tag !== 0xa3) continue; // issuerUniqueID [1], subjectUniqueID [2]
    const [list] = parseDerChildren(field);
    for (const extension of parseDerChildren(expectDerTag(list, DER_TAG.sequence, "extensions"))) {
      const parts = parseDerChildren(extension);
      const id = parseDerObjectIdentifier(parts[0]);
      const critical = parts.length === 3 && parts[1].tag === DER_TAG.boolean &&
        parts[1].content[0] !== 0;
      const value = expectDerTag(parts[parts.length - 1], DER_TAG.octetString, "extnValue");
      extensions.set(id, { critical, value: value.content });
    }
  }
  return {
    serial,
    issuer,
    subject,
    notBefore: parseDerTime(validity[0]),
    notAfter: parseDerTime(validity[1]),
    subjectPublicKey: parseDerBitString(spki[1]),
    extensions,
  };
}

function sequence(node: DerNode | undefined, what: string, minimum: number): DerNode[] {
  const children = parseDerChildren(expectDerTag(node, DER_TAG.sequence, what));
  if (children.length < minimum) throw new DerError(`Truncated ${what}`);
  return children;
}

/** The values of every attribute of type `oid` in a Name (DER), in order. */
export function nameAttributes(name: Uint8Array, oid: string): string[] {
  const values: string[] = [];
  for (const rdn of parseDerChildren(parseDer(name))) {
    for (const attribute of parseDerChildren(rdn)) {
      const [type, value] = parseDerChildren(attribute);
      if (parseDerObjectIdentifier(type) === oid) values.push(parseDerString(value));
    }
  }
  return values;
}

export interface AltNames {
  dns: string[];
  /** rfc822Name entries. */
  email: string[];
  /** iPAddress entries in their usual text form. */
  ip: string[];
}

/** subjectAltName's entries of the three kinds qmd uses (RFC 5280 §4.2.1.6). */
export function parseAltNames(certificate: ParsedCertificate): AltNames {
  const names: AltNames = { dns: [], email: [], ip: [] };
  const extension = certificate.extensions.get(OID.subjectAltName);
  if (extension === undefined) return names;
  for (const name of parseDerChildren(parseDer(extension.value))) {
    if (name.tag === 0x81) names.email.push(parseDerString(name));
    else if (name.tag === 0x82) names.dns.push(parseDerString(name));
    else if (name.tag === 0x87) names.ip.push(formatIpAddress(name.content));
  }
  return names;
}

/** extendedKeyUsage purposes, or undefined when the extension is absent (any purpose). */
export function parseExtendedKeyUsage(certificate: ParsedCertificate): string[] | undefined {
  const extension = certificate.extensions.get(OID.extendedKeyUsage);
  if (extension === undefined) return undefined;
  return parseDerChildren(parseDer(extension.value)).map(parseDerObjectIdentifier);
}

/** subjectKeyIdentifier's key id, or undefined when absent. */
export function parseSubjectKeyIdentifier(certificate: ParsedCertificate): Uint8Array | undefined {
  const extension = certificate.extensions.get(OID.subjectKeyIdentifier);
  if (extension === undefined) return undefined;
  return expectDerTag(parseDer(extension.value), DER_TAG.octetString, "key identifier").content;
}

/** An IPv4 (4 octets) or IPv6 (16 octets) address as text; hex for anything else. */
export function formatIpAddress(bytes: Uint8Array): string {
  if (bytes.length === 4) return [...bytes].join(".");
  if (bytes.length === 16) {
    // RFC 5952 §4: lower-case hex, the longest run of two or more zero groups as "::".
    const groups: number[] = [];
    for (let i = 0; i < 16; i += 2) groups.push((bytes[i] << 8) | bytes[i + 1]);
    let best = { start: -1, length: 1 };
    for (let start = 0; start < 8; start++) {
      let length = 0;
      while (start + length < 8 && groups[start + length] === 0) length++;
      if (length > best.length) best = { start, length };
    }
    const hex = (list: number[]) => list.map((group) => group.toString(16)).join(":");
    if (best.start < 0) return hex(groups);
    return `${hex(groups.slice(0, best.start))}::${hex(groups.slice(best.start + best.length))}`;
  }
  return [...bytes].map((byte) => byte.toString(16).padStart(2, "0")).join("");
}

/**
 * IPv4 dotted quad or IPv6 text (RFC 4291 §2.2, including `::` and a
 * trailing dotted quad) as octets; undefined for anything else.
 */
export function parseIpAddress(text: string): Uint8Array | undefined {
  const v4 = parseIpv4(text);
  if (v4 !== undefined) return v4;
  if (!text.includes(":") || !/^[0-9A-Fa-f:.]+$/.test(text)) return undefined;
  const halves = text.split("::");
  if (halves.length > 2) return undefined;
  const groups = (half: string): number[] | undefined => {
    if (half === "") return [];
    const out: number[] = [];
    const parts = half.split(":");
    for (const [i, part] of parts.entries()) {
      if (i === parts.length - 1 && part.includes(".")) {
        const quad = parseIpv4(part);
        if (quad === undefined) return undefined;
        out.push((quad[0] << 8) | quad[1], (quad[2] << 8) | quad[3]);
      } else if (/^[0-9A-Fa-f]{1,4}$/.test(part)) {
        out.push(parseInt(part, 16));
      } else {
        return undefined;
      }
    }
    return out;
  };
  const head = groups(halves[0]);
  const tail = halves.length === 2 ? groups(halves[1]) : [];
  if (head === undefined || tail === undefined) return undefined;
  if (halves.length === 1 && head.length !== 8) return undefined;
  if (halves.length === 2 && head.length + tail.length > 7) return undefined;
  if (halves.length === 2 && halves[0].includes(".")) return undefined;
  const all = [...head, ...new Array(8 - head.length - tail.length).fill(0), ...tail];
  const bytes = new Uint8Array(16);
  all.forEach((group, i) => {
    bytes[i * 2] = group >> 8;
    bytes[i * 2 + 1] = group & 0xff;
  });
  return bytes;
}

function parseIpv4(text: string): Uint8Array | undefined {
  const parts = text.split(".");
  if (parts.length !== 4) return undefined;
  if (!parts.every((part) => /^(0|[1-9]\d{0,2})$/.test(part) && Number(part) <= 255)) {
    return undefined;
  }
  return Uint8Array.from(parts.map(Number));
}

export interface RevocationList {
  /** The signed part, DER, for signature verification. */
  tbs: Uint8Array;
  signatureAlgorithm: string;
  signature: Uint8Array;
  /** The issuer Name, DER. */
  issuer: Uint8Array;
  thisUpdate: Date;
  nextUpdate?: Date;
  /** Revoked serial numbers, upper-case hex without leading zeros. */
  revoked: Set<string>;
}

/** A CRL (DER, RFC 5280 §5.1). Throws DerError when it is not one. */
export function parseRevocationList(der: Uint8Array): RevocationList {
  const [tbsNode, algorithm, signature] = sequence(parseDer(der), "CRL", 3);
  const fields = sequence(tbsNode, "tbsCertList", 3);
  let index = 0;
  if (fields[0].tag === DER_TAG.integer) index++; // version v2
  index++; // signature AlgorithmIdentifier
  const issuer = expectDerTag(fields[index++], DER_TAG.sequence, "CRL issuer").encoded;
  const thisUpdate = parseDerTime(fields[index++]);
  let nextUpdate: Date | undefined;
  const maybeTime = fields[index];
  if (maybeTime?.tag === DER_TAG.utcTime || maybeTime?.tag === DER_TAG.generalizedTime) {
    nextUpdate = parseDerTime(maybeTime);
    index++;
  }
  const revoked = new Set<string>();
  if (fields[index]?.tag === DER_TAG.sequence) {
    for (const entry of parseDerChildren(fields[index])) {
      revoked.add(parseDerIntegerHex(parseDerChildren(entry)[0]));
    }
  }
  return {
    tbs: tbsNode.encoded,
    signatureAlgorithm: parseDerObjectIdentifier(sequence(algorithm, "CRL algorithm", 1)[0]),
    signature: parseDerBitString(signature),
    issuer,
    thisUpdate,
    nextUpdate,
    revoked,
  };
}
