/**
 * Mailbox password hashes: scrypt in a self-describing string
 * `scrypt$N$r$p$SALT$HASH` (salt and hash in base64), so the parameters can
 * be raised later without breaking stored hashes.
 */
import { randomBytes, scrypt, scryptSync, timingSafeEqual } from "node:crypto";

/** scrypt cost parameters for new hashes (N = 2^14, r = 8, p = 1: 16 MiB, ~50 ms). */
const SCRYPT_N = 16384;
const SCRYPT_R = 8;
const SCRYPT_P = 1;
const KEY_LENGTH = 32;
const SALT_LENGTH = 16;
/** Refuse stored parameters above these, so a tampered row cannot exhaust memory. */
const MAX_N = 1 << 20;
const MAX_R = 32;
const MAX_P = 16;

/** A new scrypt hash string `scrypt$N$r$p$SALT$HASH` for a password. */
export function hashPassword(password: string): string {
  const salt = randomBytes(SALT_LENGTH);
  const hash = scryptSync(password.normalize("NFC"), salt, KEY_LENGTH, {
    N: SCRYPT_N,
    r: SCRYPT_R,
    p: SCRYPT_P,
    maxmem: 256 * SCRYPT_N * SCRYPT_R,
  });
  return `scrypt$${SCRYPT_N}$${SCRYPT_R}$${SCRYPT_P}$${salt.toString("base64")}$${
    hash.toString("base64")
  }`;
}

/**
 * Whether `password` matches a hash string made by hashPassword. An absent or
 * malformed hash does the same work as a real one and returns false.
 */
export async function verifyPasswordHash(
  stored: string | undefined,
  password: string,
): Promise<boolean> {
  const parsed = stored === undefined ? undefined : parseHash(stored);
  const params = parsed ?? {
    n: SCRYPT_N,
    r: SCRYPT_R,
    p: SCRYPT_P,
    salt: new Uint8Array(SALT_LENGTH),
    hash: new Uint8Array(KEY_LENGTH),
  };
  const derived = await new Promise<Uint8Array>((resolve, reject) => {
    scrypt(
      password.normalize("NFC"),
      params.salt,
      params.hash.length,
      { N: params.n, r: params.r, p: params.p, maxmem: 256 * params.n * params.r },
      (error, key) => error ? reject(error) : resolve(key),
    );
  });
  return timingSafeEqual(derived, params.hash) && parsed !== undefined;
}

function parseHash(
  stored: string,
): { n: number; r: number; p: number; salt: Uint8Array; hash: Uint8Array } | undefined {
  const parts = stored.split("$");
  if (parts.length !== 6 || parts[0] !== "scrypt") return undefined;
  const [n, r, p] = parts.slice(1, 4).map((text) => /^\d+$/.test(text) ? Number(text) : NaN);
  if (!(n >= 2 && n <= MAX_N && (n & (n - 1)) === 0)) return undefined;
  if (!(r >= 1 && r <= MAX_R && p >= 1 && p <= MAX_P)) return undefined;
  let salt: Uint8Array;
  let hash: Uint8Array;
  try {
    salt = Uint8Array.from(atob(parts[4]), (c) => c.charCodeAt(0));
    hash = Uint8Array.from(atob(parts[5]), (c) => c.charCodeAt(0));
  } catch {
    return undefined;
  }
  if (hash.length < 16 || hash.length > 64) return undefined;
  return { n, r, p, salt, hash };
}
