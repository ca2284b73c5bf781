/**
 * Certificates made without an openssl binary: WebCrypto makes the key and
 * signs, @peculiar/x509 writes the X.509 v3 certificate (RFC 5280 §4.1).
 *
 * `qmd init` uses createSelfSignedCertificate for control/servercert.pem; the
 * tests use createCertificate to build small CAs with client and server
 * certificates.
 */
import nodeCrypto from "node:crypto";
import { isIP } from "node:net";
import { OID } from "./certificate.ts";
import { formatPem } from "./pem.ts";
import { type X509, x509 } from "./x509.ts";

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

/** The new key: ECDSA on P-256, or RSASSA-PKCS1-v1_5 (sha256WithRSAEncryption, RFC 4055 §5). */
const KEY_ALGORITHMS = {
  ec: { name: "ECDSA", namedCurve: "P-256" },
  rsa: {
    name: "RSASSA-PKCS1-v1_5",
    modulusLength: 2048,
    publicExponent: new Uint8Array([1, 0, 1]),
    hash: "SHA-256",
  },
} as const;

/** node:crypto's curve names as WebCrypto spells them, for an issuer's EC key. */
const CURVES: Record<string, string> = {
  prime256v1: "P-256",
  secp384r1: "P-384",
  secp521r1: "P-521",
};

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
}): Promise<CreatedCertificate> {
  return createCertificate({ ...options, usage: "server" });
}

/** A new key and a certificate for it, self-signed or signed by `issuer`. */
export async function createCertificate(options: CertificateOptions): Promise<CreatedCertificate> {
  const usage = options.usage ?? "server";
  const keyType = options.keyType ?? "ec";
  const days = options.days ?? 3650;
  if (!Number.isInteger(days) || days < 1) throw new Error(`Invalid days of validity: ${days}`);
  if (options.commonName === "") throw new Error("The common name is empty");
  const now = options.now ?? new Date();
  const altNames = generalNames(
    usage === "server"
      ? [options.commonName, ...(options.altNames ?? [])]
      : [...(options.altNames ?? [])],
  );

  const lib = x509();
  const keys = await crypto.subtle.generateKey(KEY_ALGORITHMS[keyType], true, ["sign", "verify"]);
  const subject = formatName(options.commonName, options.emailAddress);
  const keyId = await lib.SubjectKeyIdentifierExtension.create(keys.publicKey);
  let issuer = subject;
  let authorityKeyId = keyId.keyId;
  let signingKey = keys.privateKey;
  if (options.issuer !== undefined) {
    const issuerCertificate = new lib.X509Certificate(options.issuer.certPem);
    issuer = issuerCertificate.subjectName;
    authorityKeyId = issuerCertificate.getExtension(lib.SubjectKeyIdentifierExtension)?.keyId ??
      (await lib.SubjectKeyIdentifierExtension.create(issuerCertificate.publicKey)).keyId;
    signingKey = await importSigningKey(options.issuer.keyPem);
  }

  const certificate = await lib.X509CertificateGenerator.create({
    serialNumber: randomSerial(),
    subject,
    issuer,
    notBefore: new Date(now.getTime() - BACKDATE_MS),
    notAfter: new Date(now.getTime() + days * DAY_MS),
    publicKey: keys.publicKey,
    signingKey,
    extensions: [
      new lib.BasicConstraintsExtension(usage === "ca", undefined, true),
      new lib.KeyUsagesExtension(keyUsage(lib, usage, keyType), true),
      ...(usage === "ca" ? [] : [
        new lib.ExtendedKeyUsageExtension([usage === "server" ? OID.serverAuth : OID.clientAuth]),
      ]),
      ...(altNames.length === 0 ? [] : [new lib.SubjectAlternativeNameExtension(altNames)]),
      keyId,
      new lib.AuthorityKeyIdentifierExtension(authorityKeyId),
    ],
  });
  const pkcs8 = await crypto.subtle.exportKey("pkcs8", keys.privateKey);
  return {
    certPem: formatPem("CERTIFICATE", new Uint8Array(certificate.rawData)),
    keyPem: formatPem("PRIVATE KEY", new Uint8Array(pkcs8)),
  };
}

/** keyUsage (RFC 5280 §4.2.1.3). */
function keyUsage(
  lib: typeof X509,
  usage: "server" | "client" | "ca",
  keyType: "ec" | "rsa",
): X509.KeyUsageFlags {
  const flags = lib.KeyUsageFlags;
  if (usage === "ca") return flags.digitalSignature | flags.keyCertSign | flags.cRLSign;
  // RSA key transport (TLS 1.2 RSA key exchange) needs keyEncipherment; ECDSA only signs.
  return keyType === "rsa"
    ? flags.digitalSignature | flags.keyEncipherment
    : flags.digitalSignature;
}

/**
 * Name with one RDN per attribute: CN as PrintableString when it fits, else
 * UTF8String (RFC 5280 §4.1.2.6); emailAddress as IA5String (RFC 5280 App. A).
 */
function formatName(commonName: string, emailAddress: string | undefined): X509.Name {
  const { Name } = x509();
  const cn = Name.isPrintableString(commonName)
    ? { printableString: commonName }
    : { utf8String: commonName };
  return new Name([
    { [OID.commonName]: [cn] },
    ...(emailAddress === undefined ? [] : [{ [OID.emailAddress]: [{ ia5String: emailAddress }] }]),
  ]);
}

/** GeneralNames: rfc822Name, dNSName, iPAddress (RFC 5280 §4.2.1.6), duplicates dropped. */
function generalNames(names: string[]): X509.JsonGeneralNames {
  const seen = new Set<string>();
  const entries: X509.JsonGeneralNames = [];
  for (const name of names) {
    const key = name.toLowerCase();
    if (seen.has(key)) continue;
    seen.add(key);
    const ip = ipAddress(name);
    if (ip !== undefined) entries.push({ type: "ip", value: ip });
    else if (name.includes("@")) entries.push({ type: "email", value: name });
    else if (/^[A-Za-z0-9*_.-]+$/.test(name)) entries.push({ type: "dns", value: name });
    else throw new Error(`Not a host name, address or e-mail address: ${JSON.stringify(name)}`);
  }
  return entries;
}

/**
 * An IPv4 or IPv6 address in the text @peculiar/x509 encodes: IPv6 as the
 * URL standard prints it (no dotted-quad tail, no zone); undefined for a name.
 */
function ipAddress(text: string): string | undefined {
  const family = isIP(text);
  if (family === 4) return text;
  if (family !== 6) return undefined;
  try {
    return new URL(`http://[${text}]/`).hostname.slice(1, -1);
  } catch {
    return undefined; // a zone index ("fe80::1%eth0") has no place in a certificate
  }
}

/** 16 random octets, positive, with no leading zero nibble (RFC 5280 §4.1.2.2). */
function randomSerial(): string {
  const serial = crypto.getRandomValues(new Uint8Array(16));
  serial[0] = 0x10 + (serial[0] % 0x70);
  return [...serial].map((byte) => byte.toString(16).padStart(2, "0")).join("");
}

/** An issuer's private key (any PEM node:crypto reads) as a WebCrypto signing key. */
function importSigningKey(keyPem: string): Promise<CryptoKey> {
  const key = nodeCrypto.createPrivateKey(keyPem);
  const pkcs8 = key.export({ type: "pkcs8", format: "der" });
  let algorithm: EcKeyImportParams | RsaHashedImportParams | Algorithm;
  switch (key.asymmetricKeyType) {
    case "ec": {
      const curve = CURVES[key.asymmetricKeyDetails?.namedCurve ?? ""];
      if (curve === undefined) throw new Error("Cannot sign with this EC curve");
      algorithm = { name: "ECDSA", namedCurve: curve };
      break;
    }
    case "rsa":
      algorithm = { name: "RSASSA-PKCS1-v1_5", hash: "SHA-256" };
      break;
    case "ed25519":
      algorithm = { name: "Ed25519" };
      break;
    default:
      throw new Error(`Cannot sign with a ${key.asymmetricKeyType} key`);
  }
  return crypto.subtle.importKey("pkcs8", new Uint8Array(pkcs8), algorithm, false, ["sign"]);
}
