/**
 * The admin console's own state under HOME/admin/: the admin password (an
 * scrypt hash from accounts/password_hash.ts, never the password), the API
 * bearer tokens (each stored as its SHA-256, with a name) and the history
 * of control file changes (control_history.ts). Files are 0600: only the
 * user qmd runs as may read them.
 */
import { Buffer } from "node:buffer";
import { createHash, randomBytes, timingSafeEqual } from "node:crypto";
import { hashPassword, verifyPasswordHash } from "../accounts/password_hash.ts";
import { writeFileAtomically } from "../control_files.ts";
import { giveToHomeOwner } from "../home_owner.ts";

/** Where the console keeps its state. */
export function adminPaths(home: string) {
  const directory = `${home}/admin`;
  return {
    directory,
    password: `${directory}/password`,
    tokens: `${directory}/tokens`,
    history: `${directory}/history`,
    /** A scratch home where a control file is checked before it is saved (control_check.ts). */
    check: `${directory}/check`,
  };
}

/** One API token as stored: its name, its SHA-256 (hex) and when it was made. */
export interface StoredToken {
  name: string;
  sha256: string;
  created: string;
}

/** A random secret, URL-safe. */
function randomSecret(bytes: number): string {
  return randomBytes(bytes).toString("base64url");
}

/** Replaces a file of HOME/admin atomically, 0600 (control_files.ts's writer), owned as the home. */
function writePrivate(home: string, path: string, text: string): void {
  const directory = path.slice(0, path.lastIndexOf("/"));
  Deno.mkdirSync(directory, { recursive: true, mode: 0o700 });
  writeFileAtomically(path, new TextEncoder().encode(text), 0o600);
  giveToHomeOwner(home, [directory, path]);
}

function readOrUndefined(path: string): string | undefined {
  try {
    return Deno.readTextFileSync(path);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return undefined;
    throw error;
  }
}

/** A new random admin password (120 bits). */
export function randomAdminPassword(): string {
  return randomSecret(15);
}

/** Sets the admin password (stored as its hash). */
export function setAdminPassword(home: string, password: string): void {
  writePrivate(home, adminPaths(home).password, `${hashPassword(password)}\n`);
}

/**
 * A new random admin password when the home has none yet (qmd init and the
 * first qmd start print it once); undefined when one is set already.
 */
export function createAdminPassword(home: string): string | undefined {
  if (readOrUndefined(adminPaths(home).password) !== undefined) return undefined;
  const password = randomAdminPassword();
  setAdminPassword(home, password);
  return password;
}

/** Whether `password` is the admin password (false when none is set). */
export function verifyAdminPassword(home: string, password: string): Promise<boolean> {
  const stored = readOrUndefined(adminPaths(home).password)?.trim();
  return verifyPasswordHash(stored === "" ? undefined : stored, password);
}

function sha256(text: string): string {
  return createHash("sha256").update(text).digest("hex");
}

/** The stored tokens; a line that is not `name<TAB>sha256<TAB>created` is skipped. */
export function readTokens(home: string): StoredToken[] {
  const text = readOrUndefined(adminPaths(home).tokens) ?? "";
  return text.split("\n").flatMap((line) => {
    const [name, hash, created] = line.split("\t");
    return /^[0-9a-f]{64}$/.test(hash ?? "") ? [{ name, sha256: hash, created }] : [];
  });
}

/** Makes a bearer token named `name`; returns it (it is stored only as its hash). */
export function addAdminToken(home: string, name: string, now = new Date()): string {
  if (!/^[A-Za-z0-9._@-]{1,64}$/.test(name)) {
    throw new Error(`bad token name ${JSON.stringify(name)}: letters, digits, . _ @ - only`);
  }
  const token = `qmd_${randomSecret(32)}`;
  const lines = readTokens(home)
    .filter((stored) => stored.name !== name)
    .map((stored) => `${stored.name}\t${stored.sha256}\t${stored.created}`);
  lines.push(`${name}\t${sha256(token)}\t${now.toISOString()}`);
  writePrivate(home, adminPaths(home).tokens, `${lines.join("\n")}\n`);
  return token;
}

/** The name of the token `token` is, or undefined; compared in constant time. */
export function findAdminToken(home: string, token: string): string | undefined {
  const given = Buffer.from(sha256(token), "hex");
  let found: string | undefined;
  for (const stored of readTokens(home)) {
    if (timingSafeEqual(given, Buffer.from(stored.sha256, "hex"))) found = stored.name;
  }
  return found;
}
