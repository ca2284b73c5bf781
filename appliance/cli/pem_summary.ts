/**
 * What `qmd showctl` says about a PEM control file (servercert.pem,
 * clientcert.pem, clientca.pem, clientcrl.pem, tlshosts/HOST.pem): for each
 * certificate its subject, subjectAltName, issuer and validity; for a
 * revocation list its issuer and dates; for a private key only that there is
 * one. Key material and base64 are never shown.
 *
 * Pure: the caller reads the file and gives the time.
 */
import crypto from "node:crypto";
import { nameAttributes, OID, parseCertificate, parseRevocationList } from "../tls/certificate.ts";
import { parsePemBlocks } from "../tls/pem.ts";

/** One certificate, as JSON gives it. */
export interface CertificateSummary {
  subject: string;
  altNames: string;
  issuer: string;
  selfSigned: boolean;
  notBefore: string;
  notAfter: string;
  expired: boolean;
}

export interface PemSummary {
  /** One line a block, for the text report. */
  lines: string[];
  certificates: CertificateSummary[];
  /** Why the file cannot be used: broken PEM, or not the block the file needs. */
  error?: string;
}

/** The files that hold a private key and its certificate chain together (qmail's TLS patch). */
const KEY_AND_CHAIN = new Set(["servercert.pem", "clientcert.pem"]);

/** Which block a PEM control file must hold. */
export function requiredBlock(name: string): "certificate" | "revocation list" {
  return name === "clientcrl.pem" ? "revocation list" : "certificate";
}

/** Summarises the PEM text of control file `name`. */
export function summarizePem(name: string, text: string, now: Date): PemSummary {
  const summary: PemSummary = { lines: [], certificates: [] };
  let blocks;
  try {
    blocks = parsePemBlocks(text);
  } catch (error) {
    summary.error = `not a usable PEM file: ${(error as Error).message}`;
    return summary;
  }
  let revocationLists = 0;
  for (const block of blocks) {
    try {
      if (block.label === "CERTIFICATE") {
        const certificate = describeCertificate(block.der, now);
        summary.certificates.push(certificate);
        summary.lines.push(formatCertificate(summary.certificates.length, certificate));
      } else if (block.label === "X509 CRL") {
        revocationLists++;
        summary.lines.push(describeRevocationList(block.der, now));
      } else if (block.label.endsWith("PRIVATE KEY")) {
        const encrypted = block.headers["proc-type"]?.includes("ENCRYPTED") ||
          block.label.startsWith("ENCRYPTED");
        summary.lines.push(`private key (${block.label}${encrypted ? ", encrypted" : ""})`);
      } else {
        summary.lines.push(`${block.label} block`);
      }
    } catch (error) {
      summary.lines.push(`${block.label} that cannot be read: ${(error as Error).message}`);
      summary.error ??= `a ${block.label} block cannot be read`;
    }
  }
  const needed = requiredBlock(name);
  const found = needed === "certificate" ? summary.certificates.length : revocationLists;
  if (found === 0) summary.error ??= `no ${needed} in it`;
  if (KEY_AND_CHAIN.has(name) && !blocks.some((block) => block.label.endsWith("PRIVATE KEY"))) {
    summary.error ??= "no private key in it";
  }
  return summary;
}

function describeCertificate(der: Uint8Array, now: Date): CertificateSummary {
  const parsed = parseCertificate(der);
  const x509 = new crypto.X509Certificate(der);
  return {
    subject: oneLine(x509.subject),
    altNames: x509.subjectAltName ?? "",
    issuer: oneLine(x509.issuer),
    selfSigned: x509.subject === x509.issuer,
    notBefore: formatTime(parsed.notBefore),
    notAfter: formatTime(parsed.notAfter),
    expired: parsed.notAfter.getTime() < now.getTime(),
  };
}

function formatCertificate(index: number, certificate: CertificateSummary): string {
  const issuer = certificate.selfSigned ? "self-signed" : `issuer ${certificate.issuer}`;
  const names = certificate.altNames === "" ? "no subjectAltName" : certificate.altNames;
  const state = certificate.expired ? "; EXPIRED" : "";
  return `certificate ${index}: ${certificate.subject}; ${names}; ${issuer}; ` +
    `valid ${certificate.notBefore} to ${certificate.notAfter}${state}`;
}

function describeRevocationList(der: Uint8Array, now: Date): string {
  const crl = parseRevocationList(der);
  const issuer = nameAttributes(crl.issuer, OID.commonName).map((name) => `CN=${name}`);
  const next = crl.nextUpdate === undefined
    ? "no next update"
    : `next update ${formatTime(crl.nextUpdate)}` +
      (crl.nextUpdate.getTime() < now.getTime() ? " (overdue)" : "");
  return `revocation list from ${issuer.join(", ") || "an issuer without a CN"}: ` +
    `${crl.revoked.size} revoked, issued ${crl.thisUpdate.toISOString()}, ${next}`;
}

/** A time to the second, in UTC: 2026-01-31T12:00:00Z. */
function formatTime(date: Date): string {
  return date.toISOString().replace(/\.\d{3}Z$/, "Z");
}

/** node:crypto gives a multi-attribute name one attribute a line. */
function oneLine(name: string): string {
  return name.split("\n").filter((part) => part !== "").join(", ");
}
