/**
 * The CRAM family (RFC 2195 §2): the client answers the server's challenge
 * with `user SP hex(HMAC(secret, challenge))`. CRAM-SHA1 and CRAM-RIPEMD
 * (docs/patches.md seed 000, README.auth) are the same exchange with HMAC-SHA1 (RFC 2104,
 * RFC 2202) and HMAC-RIPEMD-160 (RFC 2286).
 */
import { createHash, createHmac } from "node:crypto";
import type { CramMechanism } from "./mechanisms.ts";

const HASHES: Record<CramMechanism, { algorithm: string; hexLength: number }> = {
  "CRAM-MD5": { algorithm: "md5", hexLength: 32 },
  "CRAM-SHA1": { algorithm: "sha1", hexLength: 40 },
  "CRAM-RIPEMD": { algorithm: "ripemd160", hexLength: 40 },
};

/** The lower-case hex HMAC of `challenge` keyed with `secret` (both as UTF-8). */
export function cramDigest(mechanism: CramMechanism, secret: string, challenge: string): string {
  return createHmac(HASHES[mechanism].algorithm, secret).update(challenge).digest("hex");
}

/** How many hex digits a mechanism's digest has (32 for MD5, 40 for SHA-1 and RIPEMD-160). */
export function cramDigestLength(mechanism: CramMechanism): number {
  return HASHES[mechanism].hexLength;
}

/**
 * Splits a decoded CRAM response into user and lower-case digest, or undefined
 * when it is not `user SP hexdigest` with the mechanism's digest length. The
 * digest is the text after the last space (RFC 2195 §2), so a user name may
 * itself contain spaces.
 */
export function parseCramResponse(
  mechanism: CramMechanism,
  text: string,
): { user: string; digest: string } | undefined {
  const space = text.lastIndexOf(" ");
  if (space <= 0) return undefined;
  const user = text.slice(0, space);
  const digest = text.slice(space + 1).toLowerCase();
  if (digest.length !== cramDigestLength(mechanism) || !/^[0-9a-f]+$/.test(digest)) {
    return undefined;
  }
  if (user.includes("\0")) return undefined;
  return { user, digest };
}

/** APOP's digest (RFC 1939 §7): lower-case hex MD5 of the banner timestamp and the secret. */
export function apopDigest(timestamp: string, secret: string): string {
  return createHash("md5").update(timestamp + secret).digest("hex");
}
