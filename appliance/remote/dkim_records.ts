/**
 * The DNS TXT record a DKIM key needs (RFC 6376 §3.6.1): at
 * SELECTOR._domainkey.DOMAIN, `v=DKIM1; k=rsa; p=BASE64` with p the
 * SubjectPublicKeyInfo of an RSA key, or `k=ed25519; p=` the raw 32-byte
 * public key (RFC 8463 §4.2). `qmd dkim show`, `qmd dns` and `qmd dns check`
 * print and compare it; the public key is derived from the private key
 * under control/dkim/ (config/dkim.ts), so nothing else is stored.
 */
import { createPrivateKey, createPublicKey } from "node:crypto";
import type { DkimAlgorithm, DkimKey } from "../../config/dkim.ts";

/** A key's record: where it goes and what it says. */
export interface DkimRecord {
  /** SELECTOR._domainkey.DOMAIN (no trailing dot). */
  name: string;
  algorithm: DkimAlgorithm;
  /** The public key, base64. */
  publicKey: string;
  /** The whole TXT text, `v=DKIM1; k=...; p=...`. */
  text: string;
}

function base64(bytes: Uint8Array): string {
  let binary = "";
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary);
}

/** The p= value of a private key's public half. */
export function dkimPublicKey(privateKey: string, algorithm: DkimAlgorithm): string {
  const spki = new Uint8Array(
    createPublicKey(createPrivateKey(privateKey)).export({ type: "spki", format: "der" }),
  );
  // An Ed25519 SubjectPublicKeyInfo ends with the 32 raw key bytes (RFC 8410 §4).
  return base64(algorithm === "ed25519" ? spki.subarray(spki.length - 32) : spki);
}

/** The record to publish for one key. */
export function dkimRecord(
  key: Pick<DkimKey, "domain" | "selector" | "algorithm" | "privateKey">,
): DkimRecord {
  const publicKey = dkimPublicKey(key.privateKey, key.algorithm);
  return {
    name: `${key.selector}._domainkey.${key.domain}`,
    algorithm: key.algorithm,
    publicKey,
    text: `v=DKIM1; k=${key.algorithm}; p=${publicKey}`,
  };
}

/**
 * A TXT value as zone files write it: character-strings of at most 255 bytes
 * (RFC 1035 §3.3.14), each quoted; a 2048-bit RSA key needs two.
 */
export function formatTxtStrings(text: string): string {
  const parts: string[] = [];
  for (let i = 0; i < text.length; i += 255) parts.push(`"${text.slice(i, i + 255)}"`);
  return parts.join(" ");
}

/** The tags of a DKIM key record (RFC 6376 §3.6.1: `tag=value` separated by `;`). */
export function parseDkimTags(text: string): Map<string, string> {
  const tags = new Map<string, string>();
  for (const part of text.split(";")) {
    const equals = part.indexOf("=");
    if (equals < 0) continue;
    tags.set(
      part.slice(0, equals).trim().toLowerCase(),
      part.slice(equals + 1).replace(/\s+/g, ""),
    );
  }
  return tags;
}

/** Whether one of the published TXT texts is this key's record (same k= and p=). */
export function dkimRecordPublished(published: readonly string[], record: DkimRecord): boolean {
  return published.some((text) => {
    const tags = parseDkimTags(text);
    const version = tags.get("v");
    return (version === undefined || version === "DKIM1") &&
      (tags.get("k") ?? "rsa") === record.algorithm && tags.get("p") === record.publicKey;
  });
}
