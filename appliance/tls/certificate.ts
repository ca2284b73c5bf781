/**
 * X.509 certificates and CRLs (RFC 5280) read with @peculiar/x509 into plain
 * data: what node:crypto's X509Certificate does not give as data (the issuer
 * and subject names as DER, the subjectAltName entries, extendedKeyUsage,
 * the key identifier) and revocation lists, which node:crypto cannot read.
 *
 * Pure apart from verifyRevocationList's signature check (WebCrypto).
 */
import { type X509, x509 } from "./x509.ts";
import { MailError } from "../mail_error.ts";

/** Object identifiers qmd looks for (RFC 5280 §4.1.2.4 and §4.2.1.12, PKCS #9). */
export const OID = {
  commonName: "2.5.4.3",
  emailAddress: "1.2.840.113549.1.9.1",
  anyExtendedKeyUsage: "2.5.29.37.0",
  serverAuth: "1.3.6.1.5.5.7.3.1",
  clientAuth: "1.3.6.1.5.5.7.3.2",
} as const;

/** A certificate or CRL that cannot be read. */
export class CertificateError extends MailError {
  constructor(reason: string) {
    super(reason, { temporary: false });
    this.name = "CertificateError";
  }
}

export interface AltNames {
  dns: string[];
  /** rfc822Name entries. */
  email: string[];
  /** iPAddress entries in their usual text form (RFC 5952 for IPv6). */
  ip: string[];
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
  /** subjectAltName's entries of the three kinds qmd uses (RFC 5280 §4.2.1.6). */
  altNames: AltNames;
  /** extendedKeyUsage's purposes; undefined when the extension is absent (any purpose). */
  extendedKeyUsage?: string[];
  /** subjectKeyIdentifier's key id as hex; undefined when absent. */
  keyIdentifier?: string;
}

/** A certificate (DER). Throws CertificateError when it is not one. */
export function parseCertificate(der: Uint8Array): ParsedCertificate {
  const lib = x509();
  return readOrThrow("X.509 certificate", () => {
    const certificate = new lib.X509Certificate(new Uint8Array(der));
    const altNames: AltNames = { dns: [], email: [], ip: [] };
    const san = certificate.getExtension(lib.SubjectAlternativeNameExtension);
    for (const { type, value } of san?.names.items ?? []) {
      if (type === "dns" || type === "email" || type === "ip") altNames[type].push(value);
    }
    const purposes = certificate.getExtension(lib.ExtendedKeyUsageExtension);
    return {
      serial: formatSerial(certificate.serialNumber),
      issuer: new Uint8Array(certificate.issuerName.toArrayBuffer()),
      subject: new Uint8Array(certificate.subjectName.toArrayBuffer()),
      notBefore: certificate.notBefore,
      notAfter: certificate.notAfter,
      altNames,
      extendedKeyUsage: purposes === null ? undefined : Array.from(purposes.usages, String),
      keyIdentifier: certificate.getExtension(lib.SubjectKeyIdentifierExtension)?.keyId,
    };
  });
}

/** The values of every attribute of type `oid` in a Name (DER), in order. */
export function nameAttributes(name: Uint8Array, oid: string): string[] {
  const lib = x509();
  return readOrThrow("X.501 name", () => new lib.Name(new Uint8Array(name)).getField(oid));
}

export interface RevocationList {
  /** The issuer Name, DER. */
  issuer: Uint8Array;
  thisUpdate: Date;
  nextUpdate?: Date;
  /** Revoked serial numbers, upper-case hex without leading zeros. */
  revoked: Set<string>;
  /** The CRL as @peculiar/x509 read it, for verifyRevocationList. */
  source: X509.X509Crl;
}

/** A CRL (DER, RFC 5280 §5.1). Throws CertificateError when it is not one. */
export function parseRevocationList(der: Uint8Array): RevocationList {
  const lib = x509();
  return readOrThrow("X.509 CRL", () => {
    const crl = new lib.X509Crl(new Uint8Array(der));
    return {
      issuer: new Uint8Array(crl.issuerName.toArrayBuffer()),
      thisUpdate: crl.thisUpdate,
      nextUpdate: crl.nextUpdate,
      revoked: new Set(crl.entries.map((entry) => formatSerial(entry.serialNumber))),
      source: crl,
    };
  });
}

/** Whether the key of `issuer` (a certificate, DER) signed `list` (RFC 5280 §6.3.3 (f)). */
export async function verifyRevocationList(
  list: RevocationList,
  issuer: Uint8Array,
): Promise<boolean> {
  try {
    return await list.source.verify({
      publicKey: new (x509().X509Certificate)(new Uint8Array(issuer)),
    });
  } catch {
    return false; // an algorithm WebCrypto does not have, or a malformed signature
  }
}

/** Upper-case hex without leading zeros ("0" for zero), as qmd compares serial numbers. */
function formatSerial(hex: string): string {
  return hex.toUpperCase().replace(/^0+/, "") || "0";
}

/** Runs `read`, turning whatever the parser throws into a CertificateError. */
function readOrThrow<T>(what: string, read: () => T): T {
  try {
    return read();
  } catch (error) {
    throw new CertificateError(`Not a valid ${what}: ${(error as Error).message}`);
  }
}
