/**
 * Certificates made without an openssl binary or an npm package: the key
 * comes from node:crypto, the X.509 v3 TBSCertificate (RFC 5280 §4.1) is
 * written in DER by hand (der.ts), and node:crypto signs it.
 *
 * `qmd init` uses createSelfSignedCertificate for control/servercert.pem; the
 * tests use createCertificate to build small CAs with client and server
 * certificates.
 */
import crypto from "node:crypto";
import {
  derBitString,
  derBoolean,
  derExplicit,
  derIa5String,
  derImplicit,
  derInteger,
  derNamedBits,
  derNull,
  derObjectIdentifier,
  derOctetString,
  derPrintableString,
  derSequence,
  derSet,
  derTime,
  derUtf8String,
  isPrintableString,
  parseDer,
  parseDerBitString,
  parseDerChildren,
} from "./der.ts";
import { OID, parseCertificate, parseIpAddress, parseSubjectKeyIdentifier } from "./certificate.ts";
import { formatPem, parsePemBlocks } from "./pem.ts";

export interface CertificateOptions {
  /** The subject's commonName; for a server also the first subjectAltName. */
  commonName: string;
  /** subject emailAddress (what qmail's tlsclients matches in client certificates). */
  emailAddress?: string;
  /**
   * More subjectAltName entries: IPv4/IPv6 addresses become iPAddress,
   * text with "@" rfc822Name, anything else dNSName.
   */
  altNames?: string[];
  /** Days of validity from `now`; default 3650. */
  days?: number;
  /** Default: the current time. notBefore is one hour earlier, for clients with slow clocks. */
  now?: Date;
  /** EC P-256 with ECDSA-SHA256 (default) or RSA 2048 with SHA-256. */
  keyType?: "ec" | "rsa";
  /** Extensions for a TLS server (default), a TLS client or a CA. */
  usage?: "server" | "client" | "ca";
  /** Sign with this CA instead of the new key (self-signed when absent). */
  issuer?: { certPem: string; keyPem: string };
}

export interface CreatedCertificate {
  /** The certificate, PEM. */
  certPem: string;
  /** The new private key, PKCS#8 PEM. */
  keyPem: string;
}

/** Validity backdating: a client whose clock is a little slow still accepts a new certificate. */
const BACKDATE_MS = 60 * 60 * 1000;
const DAY_MS = 24 * 60 * 60 * 1000;

/** keyUsage bits (RFC 5280 §4.2.1.3). */
const KEY_USAGE = { digitalSignature: 0, keyEncipherment: 2, keyCertSign: 5, cRLSign: 6 };

/**
 * A self-signed server certificate for `commonName`, also listing it and
 * `altNames` in subjectAltName: basicConstraints CA:FALSE, keyUsage
 * digitalSignature (and keyEncipherment for RSA), extendedKeyUsage
 * serverAuth.
 */
export function createSelfSignedCertificate(options: {
  commonName: string;
  altNames?: string[];
  days?: number;
  now?: Date;
  keyType?: "ec" | "rsa";
}): CreatedCertificate {
  return createCertificate({ ...options, usage: "server" });
}

/** A new key and a certificate for it, self-signed or signed by `issuer`. */
export function createCertificate(options: CertificateOptions): CreatedCertificate {
  const usage = options.usage ?? "server";
  const keyType = options.keyType ?? "ec";
  const days = options.days ?? 3650;
  if (!Number.isInteger(days) || days < 1) throw new Error(`Invalid days of validity: ${days}`);
  if (options.commonName === "") throw new Error("The common name is empty");
  const now = options.now ?? new Date();

  const { privateKey, publicKey } = keyType === "rsa"
    ? crypto.generateKeyPairSync("rsa", { modulusLength: 2048 })
    : crypto.generateKeyPairSync("ec", { namedCurve: "prime256v1" });
  const spki = new Uint8Array(publicKey.export({ type: "spki", format: "der" }));
  const subject = formatName(options.commonName, options.emailAddress);
  const keyId = sha1(parseSpkiBits(spki));

  let issuerName = subject;
  let authorityKeyId = keyId;
  let signingKey = privateKey;
  if (options.issuer !== undefined) {
    const issuerCert = parseCertificate(pemDer(options.issuer.certPem, "CERTIFICATE"));
    issuerName = issuerCert.subject;
    authorityKeyId = parseSubjectKeyIdentifier(issuerCert) ?? sha1(issuerCert.subjectPublicKey);
    signingKey = crypto.createPrivateKey(options.issuer.keyPem);
  }
  const algorithm = signatureAlgorithm(signingKey);

  const serial = new Uint8Array(crypto.randomBytes(16));
  // Positive and a full 16 octets with no leading zero nibble (RFC 5280 §4.1.2.2).
  serial[0] = 0x10 + (serial[0] % 0x70);

  const altNames = usage === "server"
    ? [options.commonName, ...(options.altNames ?? [])]
    : [...(options.altNames ?? [])];
  const extensions = [
    extension(
      OID.basicConstraints,
      true,
      usage === "ca" ? derSequence(derBoolean(true)) : derSequence(),
    ),
    extension(OID.keyUsage, true, derNamedBits(keyUsageBits(usage, keyType))),
    ...(usage === "ca" ? [] : [
      extension(
        OID.extendedKeyUsage,
        false,
        derSequence(derObjectIdentifier(usage === "server" ? OID.serverAuth : OID.clientAuth)),
      ),
    ]),
    ...(altNames.length === 0
      ? []
      : [extension(OID.subjectAltName, false, formatAltNames(altNames))]),
    extension(OID.subjectKeyIdentifier, false, derOctetString(keyId)),
    extension(
      OID.authorityKeyIdentifier,
      false,
      derSequence(derImplicit(0, derOctetString(authorityKeyId))),
    ),
  ];

  const tbs = derSequence(
    derExplicit(0, derInteger(2)), // v3
    derInteger(serial),
    algorithm.identifier,
    issuerName,
    derSequence(
      derTime(new Date(now.getTime() - BACKDATE_MS)),
      derTime(new Date(now.getTime() + days * DAY_MS)),
    ),
    subject,
    spki,
    derExplicit(3, derSequence(...extensions)),
  );
  const signature = crypto.sign(algorithm.digest, tbs, signingKey);
  const certificate = derSequence(
    tbs,
    algorithm.identifier,
    derBitString(new Uint8Array(signature)),
  );
  return {
    certPem: formatPem("CERTIFICATE", certificate),
    keyPem: String(privateKey.export({ type: "pkcs8", format: "pem" })),
  };
}

function keyUsageBits(usage: "server" | "client" | "ca", keyType: "ec" | "rsa"): number[] {
  if (usage === "ca") return [KEY_USAGE.digitalSignature, KEY_USAGE.keyCertSign, KEY_USAGE.cRLSign];
  // RSA key transport (TLS 1.2 RSA key exchange) needs keyEncipherment; ECDSA only signs.
  return keyType === "rsa"
    ? [KEY_USAGE.digitalSignature, KEY_USAGE.keyEncipherment]
    : [KEY_USAGE.digitalSignature];
}

/** Extension ::= SEQUENCE { extnID, critical BOOLEAN DEFAULT FALSE, extnValue OCTET STRING }. */
function extension(oid: string, critical: boolean, value: Uint8Array): Uint8Array {
  return critical
    ? derSequence(derObjectIdentifier(oid), derBoolean(true), derOctetString(value))
    : derSequence(derObjectIdentifier(oid), derOctetString(value));
}

/**
 * Name with one RDN per attribute: CN as PrintableString when it fits, else
 * UTF8String (RFC 5280 §4.1.2.6); emailAddress as IA5String (RFC 5280 App. A).
 */
function formatName(commonName: string, emailAddress: string | undefined): Uint8Array {
  const cn = isPrintableString(commonName)
    ? derPrintableString(commonName)
    : derUtf8String(commonName);
  const rdns = [derSet(derSequence(derObjectIdentifier(OID.commonName), cn))];
  if (emailAddress !== undefined) {
    rdns.push(
      derSet(derSequence(derObjectIdentifier(OID.emailAddress), derIa5String(emailAddress))),
    );
  }
  return derSequence(...rdns);
}

/** GeneralNames: rfc822Name [1], dNSName [2], iPAddress [7] (RFC 5280 §4.2.1.6). */
function formatAltNames(names: string[]): Uint8Array {
  const seen = new Set<string>();
  const entries: Uint8Array[] = [];
  for (const name of names) {
    const key = name.toLowerCase();
    if (seen.has(key)) continue;
    seen.add(key);
    const ip = parseIpAddress(name);
    if (ip !== undefined) entries.push(derImplicit(7, derOctetString(ip)));
    else if (name.includes("@")) entries.push(derImplicit(1, derIa5String(name)));
    else if (/^[A-Za-z0-9*_.-]+$/.test(name)) entries.push(derImplicit(2, derIa5String(name)));
    else throw new Error(`Not a host name, address or e-mail address: ${JSON.stringify(name)}`);
  }
  return derSequence(...entries);
}

function signatureAlgorithm(
  key: crypto.KeyObject,
): { identifier: Uint8Array; digest: string | null } {
  switch (key.asymmetricKeyType) {
    case "ec":
      // ecdsa-with-SHA256: parameters absent (RFC 5758 §3.2).
      return {
        identifier: derSequence(derObjectIdentifier(OID.ecdsaWithSha256)),
        digest: "sha256",
      };
    case "rsa":
      // sha256WithRSAEncryption: parameters NULL (RFC 4055 §5).
      return {
        identifier: derSequence(derObjectIdentifier(OID.sha256WithRsa), derNull()),
        digest: "sha256",
      };
    case "ed25519":
      return { identifier: derSequence(derObjectIdentifier(OID.ed25519)), digest: null };
    default:
      throw new Error(`Cannot sign with a ${key.asymmetricKeyType} key`);
  }
}

function sha1(bytes: Uint8Array): Uint8Array {
  return new Uint8Array(crypto.createHash("sha1").update(bytes).digest());
}

/** subjectPublicKey's bits from a SubjectPublicKeyInfo (RFC 5280 §4.2.1.2 method 1 hashes them). */
function parseSpkiBits(spki: Uint8Array): Uint8Array {
  const [, bits] = parseDerChildren(parseDer(spki));
  return parseDerBitString(bits);
}

/** The first block labelled `label` in a PEM text. */
function pemDer(text: string, label: string): Uint8Array {
  const block = parsePemBlocks(text).find((candidate) => candidate.label === label);
  if (block === undefined) throw new Error(`No ${label} block in the issuer's PEM`);
  return block.der;
}
