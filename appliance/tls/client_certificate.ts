/**
 * Whether a client certificate lets the client relay, as qmail-smtpd's TLS
 * patch decides it in tls_verify(): the certificate must verify against
 * control/clientca.pem (and control/clientcrl.pem when present), and its
 * e-mail address must be listed in control/tlsclients. The reasons are the
 * texts qmail puts after "no valid cert for gatewaying: " (OpenSSL's
 * X509_verify_cert_error_string and tls_verify's own).
 *
 * One departure: a CA in clientca.pem that is not self-signed (an
 * intermediate without its root) is trusted as it stands, as OpenSSL does
 * with X509_V_FLAG_PARTIAL_CHAIN; the operator put it there.
 *
 * qmd checks the chain itself instead of trusting the TLS layer's verdict:
 * Deno's node:tls does not verify client certificates for a TLSSocket made
 * over an existing socket (STARTTLS), and it has no CRL support.
 *
 * The certificates and CRLs are read with @peculiar/x509 (certificate.ts);
 * node:crypto checks which certificate issued which, as OpenSSL's
 * X509_check_issued does (names, key identifiers, keyCertSign), and the
 * certificates' signatures; WebCrypto checks the CRLs' signatures.
 *
 * Pure apart from those signature checks: the time comes in as `now`.
 */
import crypto from "node:crypto";
import {
  nameAttributes,
  OID,
  parseCertificate,
  type ParsedCertificate,
  parseRevocationList,
  type RevocationList,
  verifyRevocationList,
} from "./certificate.ts";

export interface ClientTrust {
  /** control/clientca.pem: the CAs (and intermediates) a client certificate must chain to. */
  authorities: crypto.X509Certificate[];
  /**
   * control/clientcrl.pem's CRLs (DER) when present: then every certificate
   * in the chain below the root needs a current CRL from its issuer, as
   * OpenSSL's X509_V_FLAG_CRL_CHECK | X509_V_FLAG_CRL_CHECK_ALL (set by the
   * patch) demands. They are read when a client first sends a certificate.
   */
  revocationLists?: Uint8Array[];
  /** control/tlsclients: e-mail addresses that may relay (compared case-insensitively, as constmap does). */
  addresses: string[];
}

export type ClientCertificateCheck =
  | { ok: true; email: string }
  /** `reason` is absent when the client sent no certificate. */
  | { ok: false; reason?: string };

/** The longest chain followed from the client's certificate to a CA in clientca.pem. */
const MAX_DEPTH = 10;

interface Link {
  x509: crypto.X509Certificate;
  parsed: ParsedCertificate;
  trusted: boolean;
}

/**
 * Checks a client's certificate chain (DER, the client's own certificate
 * first, then any intermediates it sent) at time `now`.
 */
export async function checkClientCertificate(
  chain: Uint8Array[],
  trust: ClientTrust,
  now: Date,
): Promise<ClientCertificateCheck> {
  if (chain.length === 0) return { ok: false };
  let links: Link[];
  let sent: Link[];
  try {
    [links, sent] = [[link(chain[0], trust)], chain.slice(1).map((der) => link(der, trust))];
  } catch {
    return { ok: false, reason: "unable to decode certificate" };
  }

  // Build the path up to a self-signed CA in clientca.pem.
  for (;;) {
    const current = links[links.length - 1];
    if (current.trusted && isSelfSigned(current)) break;
    if (links.length > MAX_DEPTH) return { ok: false, reason: "certificate chain too long" };
    const candidates = [
      ...trust.authorities.map((x509) => ({ x509, trusted: true })),
      ...(current.trusted ? [] : sent.map(({ x509 }) => ({ x509, trusted: false }))),
    ].filter(({ x509 }) => current.x509.checkIssued(x509));
    const issuer = candidates.find(({ x509 }) => current.x509.verify(x509.publicKey));
    if (issuer === undefined) {
      if (candidates.length > 0) return { ok: false, reason: "certificate signature failure" };
      if (current.trusted) break; // an intermediate the operator trusts without its root
      if (isSelfSigned(current)) {
        return {
          ok: false,
          reason: links.length === 1
            ? "self-signed certificate"
            : "self-signed certificate in certificate chain",
        };
      }
      return { ok: false, reason: "unable to get local issuer certificate" };
    }
    links.push({ ...issuer, parsed: parseCertificate(new Uint8Array(issuer.x509.raw)) });
  }

  for (const { parsed } of links) {
    if (now < parsed.notBefore) return { ok: false, reason: "certificate is not yet valid" };
    if (now > parsed.notAfter) return { ok: false, reason: "certificate has expired" };
  }
  if (links.slice(1).some(({ x509 }) => !x509.ca)) {
    return { ok: false, reason: "invalid CA certificate" };
  }
  const purposes = links[0].parsed.extendedKeyUsage;
  if (
    purposes !== undefined && !purposes.includes(OID.clientAuth) &&
    !purposes.includes(OID.anyExtendedKeyUsage)
  ) {
    return { ok: false, reason: "unsuitable certificate purpose" };
  }
  if (trust.revocationLists !== undefined) {
    const lists = readRevocationLists(trust.revocationLists);
    for (let depth = 0; depth + 1 < links.length; depth++) {
      const reason = await revocationReason(links[depth], links[depth + 1], lists, now);
      if (reason !== undefined) return { ok: false, reason };
    }
  }

  const leaf = links[0].parsed;
  const emails = [...nameAttributes(leaf.subject, OID.emailAddress), ...leaf.altNames.email];
  if (emails.length === 0) return { ok: false, reason: "contains no email address" };
  const allowed = new Set(trust.addresses.map((address) => address.toLowerCase()));
  const email = emails.find((candidate) => allowed.has(candidate.toLowerCase()));
  if (email === undefined) {
    return { ok: false, reason: "email address not in my list of tlsclients" };
  }
  return { ok: true, email };
}

function link(der: Uint8Array, trust: ClientTrust): Link {
  const x509 = new crypto.X509Certificate(der);
  const trusted = trust.authorities.some((authority) => sameBytes(authority.raw, der));
  return { x509, parsed: parseCertificate(der), trusted };
}

/**
 * Issuer equals subject and its own key verifies it, as OpenSSL's
 * X509_self_signed() decides (checkIssued() would also want keyCertSign).
 */
function isSelfSigned({ x509, parsed }: Link): boolean {
  return sameBytes(parsed.issuer, parsed.subject) && x509.verify(x509.publicKey);
}

/** Why `subject` fails the CRL check against its `issuer`, or undefined when it passes. */
async function revocationReason(
  subject: Link,
  issuer: Link,
  lists: RevocationList[],
  now: Date,
): Promise<string | undefined> {
  const fromIssuer: RevocationList[] = [];
  for (const list of lists) {
    if (!sameBytes(list.issuer, issuer.parsed.subject)) continue;
    if (await verifyRevocationList(list, new Uint8Array(issuer.x509.raw))) fromIssuer.push(list);
  }
  if (fromIssuer.length === 0) return "unable to get certificate CRL";
  const latest = fromIssuer.reduce((a, b) => (b.thisUpdate > a.thisUpdate ? b : a));
  if (latest.thisUpdate > now) return "CRL is not yet valid";
  if (latest.nextUpdate !== undefined && latest.nextUpdate < now) return "CRL has expired";
  if (latest.revoked.has(subject.parsed.serial)) return "certificate revoked";
  return undefined;
}

/** Each clientcrl.pem's CRLs, read once: by the DER list they came from. */
const readLists = new WeakMap<Uint8Array[], RevocationList[]>();

/**
 * The CRLs of `ders`. One that cannot be read counts as absent, so its
 * issuer's certificates fail the check (tls_files.ts has already refused a
 * file the TLS layer cannot read).
 */
function readRevocationLists(ders: Uint8Array[]): RevocationList[] {
  let lists = readLists.get(ders);
  if (lists === undefined) {
    lists = ders.flatMap((der) => {
      try {
        return [parseRevocationList(der)];
      } catch {
        return [];
      }
    });
    readLists.set(ders, lists);
  }
  return lists;
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((byte, i) => byte === b[i]);
}
