/**
 * The DKIM signing keys (RFC 6376) under control/dkim/: one directory per
 * signing domain, one PEM private key per selector,
 * `control/dkim/DOMAIN/SELECTOR.key`, as `qmd dkim add` writes them. The
 * remote role signs outgoing mail with them (appliance/remote/dkim_sign.ts);
 * `qmd dkim show` and `qmd dns` print the TXT record each one needs.
 *
 * Read at the remote role's start and on SIGHUP, returned as plain data (safe
 * to postMessage). No directory: no keys (the default: nothing is signed). A
 * key that does not parse, is neither RSA nor Ed25519, or is an RSA key under
 * 1024 bits (RFC 8301 §3.2) is a ControlError; within loadAllControls it is
 * noted and left out, so the other domains still sign.
 *
 * This module is a leaf: it never imports appliance/.
 */
import { createPrivateKey } from "node:crypto";
import { ControlError, orDefault } from "./control.ts";

/** The directory under control/ that holds the keys. */
export const DKIM_DIRECTORY = "dkim";

/** RFC 8301 §3.2: verifiers must not accept RSA keys shorter than this. */
export const RSA_MIN_BITS = 1024;

/** A selector is one DNS label or more (RFC 6376 §3.1: sub-domain syntax). */
export const SELECTOR =
  /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*$/i;

/** A domain name as the directory under control/dkim/ spells it (lower case). */
export const DOMAIN =
  /^(?=.{1,253}$)[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)+$/;

export type DkimAlgorithm = "rsa" | "ed25519";

/** One signing key. */
export interface DkimKey {
  /** The d= domain (lower case): the directory's name. */
  domain: string;
  /** The s= selector: the file's name without `.key`. */
  selector: string;
  algorithm: DkimAlgorithm;
  /** The private key, PEM (PKCS#8 or PKCS#1). */
  privateKey: string;
  /** control/dkim/DOMAIN/SELECTOR.key, for messages. */
  file: string;
}

/** control/dkim/DOMAIN/SELECTOR.key under home. */
export function dkimKeyPath(home: string, domain: string, selector: string): string {
  return `${home}/control/${DKIM_DIRECTORY}/${domain}/${selector}.key`;
}

/** The key type of a PEM private key, or a reason it cannot sign. */
export function parseDkimPrivateKey(pem: string): DkimAlgorithm | { reason: string } {
  let key;
  try {
    key = createPrivateKey({ key: pem, format: "pem" });
  } catch (error) {
    return { reason: `not a PEM private key (${(error as Error).message})` };
  }
  if (key.asymmetricKeyType === "ed25519") return "ed25519";
  if (key.asymmetricKeyType !== "rsa") {
    return { reason: `a ${key.asymmetricKeyType} key; DKIM signs with RSA or Ed25519` };
  }
  const bits = key.asymmetricKeyDetails?.modulusLength ?? 0;
  if (bits < RSA_MIN_BITS) return { reason: `an RSA key of ${bits} bits (at least 1024)` };
  return "rsa";
}

function directoryNames(path: string, want: (entry: Deno.DirEntry) => boolean): string[] {
  try {
    return [...Deno.readDirSync(path)].filter(want).map((entry) => entry.name).sort();
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return [];
    throw new ControlError(path, 0, `cannot read: ${(error as Error).message}`);
  }
}

/** One key file, or a ControlError. */
export function readDkimKey(home: string, domain: string, selector: string): DkimKey {
  const file = dkimKeyPath(home, domain, selector);
  let pem: string;
  try {
    pem = Deno.readTextFileSync(file);
  } catch (error) {
    throw new ControlError(file, 0, `cannot read: ${(error as Error).message}`);
  }
  const algorithm = parseDkimPrivateKey(pem);
  if (typeof algorithm !== "string") throw new ControlError(file, 0, algorithm.reason);
  return { domain, selector, algorithm, privateKey: pem, file };
}

/**
 * The key files under control/dkim/, by domain then selector, unread.
 * Directory names that are not lower-case domain names and files whose names
 * are not a selector and `.key` are ignored (a README or a `.pub` beside a
 * key is fine). An unreadable directory is a ControlError.
 */
export function listDkimKeyFiles(home: string): { domain: string; selector: string }[] {
  const root = `${home}/control/${DKIM_DIRECTORY}`;
  const domains = directoryNames(root, (entry) => entry.isDirectory && DOMAIN.test(entry.name));
  return domains.flatMap((domain) =>
    directoryNames(
      `${root}/${domain}`,
      (entry) =>
        entry.isFile && entry.name.endsWith(".key") &&
        SELECTOR.test(entry.name.slice(0, -".key".length)),
    ).map((name) => ({ domain, selector: name.slice(0, -".key".length) }))
  );
}

/** Every key under control/dkim/ (see listDkimKeyFiles); none when the directory is absent. */
export function loadDkimKeys(home: string): DkimKey[] {
  const keys: DkimKey[] = [];
  for (const { domain, selector } of orDefault(() => listDkimKeyFiles(home), [])) {
    const key = orDefault(() => readDkimKey(home, domain, selector), undefined);
    if (key !== undefined) keys.push(key);
  }
  return keys;
}
