/**
 * `qmd init --me HOST` on a home that already has a control/me: what qmail's
 * config-fast does when run again with a new name (it overwrites me,
 * defaultdomain and plusdomain and appends the name to locals and
 * rcpthosts), limited to what qmd init itself wrote, so an operator's own
 * values survive:
 *
 * - control/me gets the new name;
 * - defaultdomain and plusdomain change only while they hold what init
 *   derived from the old name;
 * - locals and rcpthosts gain the new name; the old one stays (as with
 *   config-fast), so mail still addressed to it is not refused;
 * - servercert.pem is made again for the new name only while it is the
 *   self-signed certificate init made for the old one.
 *
 * The files whose default is me (envnoathost, bouncehost, helohost, ...)
 * follow by themselves when absent.
 */
import crypto from "node:crypto";
import { readControlLine, readControlText } from "../../config/control.ts";
import { homePaths } from "../../config/home.ts";
import { nameAttributes, OID, parseCertificate } from "../tls/certificate.ts";
import { parsePemBlocks } from "../tls/pem.ts";
import { addListEntry, writeControlFile, writeFileAtomically } from "../control_files.ts";
import { formatInitCertificate, formatInitialControls, initCertificateNames } from "./init_home.ts";

/** Changes control/me to `me` (lower case, valid) and returns what was done, a sentence each. */
export async function changeMe(home: string, me: string): Promise<string[]> {
  const old = readControlLine(home, "me")?.trim().toLowerCase();
  if (old === undefined) return [];
  if (old === me) return [`control/me is already ${me}`];
  const done: string[] = [];
  writeControlFile(home, "me", `${me}\n`);
  done.push(old === "" ? `control/me was empty; it is now ${me}` : `control/me: ${old} -> ${me}`);

  const before = old === "" ? undefined : formatInitialControls(old);
  const after = formatInitialControls(me);
  for (const name of ["defaultdomain", "plusdomain"] as const) {
    const text = readControlText(home, name);
    if (text === undefined || text === after[name]) continue;
    if (text === before?.[name]) {
      writeControlFile(home, name, after[name]);
      done.push(`control/${name}: ${text.trim()} -> ${after[name].trim()}`);
    } else {
      done.push(
        `control/${name} left as it is (${firstLine(text)}): ` +
          `qmd init did not derive it from ${old || "the old name"}`,
      );
    }
  }

  for (const name of ["locals", "rcpthosts"] as const) {
    const text = readControlText(home, name);
    // An absent locals defaults to me; an absent rcpthosts is made by init next.
    if (text === undefined) continue;
    const updated = addListEntry(text, me, (value) => value.toLowerCase() === me);
    if (updated !== undefined) {
      writeControlFile(home, name, updated);
      done.push(`control/${name}: added ${me}`);
    }
  }
  if (old !== "" && old !== "localhost") {
    done.push(
      `control/locals and control/rcpthosts still list ${old}, so mail to it is still ` +
        `taken; remove those lines by hand when this host no longer receives it`,
    );
  }

  const certificate = `${homePaths(home).control}/servercert.pem`;
  const made = isInitCertificate(certificate, old);
  if (made === true) {
    const text = await formatInitCertificate(me);
    writeFileAtomically(certificate, new TextEncoder().encode(text), 0o600, home);
    done.push(`control/servercert.pem: a new self-signed certificate for ${me}`);
  } else if (made === false) {
    done.push(
      `control/servercert.pem left as it is: it is not the certificate qmd init made ` +
        `for ${old || "the old name"}; make sure it is valid for ${me}`,
    );
  }
  return done;
}

/**
 * Whether `path` holds exactly the self-signed certificate init makes for
 * `me` (one certificate, issuer = subject = CN=me, names me, localhost,
 * 127.0.0.1); undefined when there is no such file.
 */
export function isInitCertificate(path: string, me: string): boolean | undefined {
  let text: string;
  try {
    text = Deno.readTextFileSync(path);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return undefined;
    return false;
  }
  try {
    const blocks = parsePemBlocks(text);
    const certificates = blocks.filter((block) => block.label === "CERTIFICATE");
    if (certificates.length !== 1 || blocks.length !== 2) return false;
    const der = certificates[0].der;
    const parsed = parseCertificate(der);
    if (!equalBytes(parsed.issuer, parsed.subject)) return false;
    const x509 = new crypto.X509Certificate(der);
    if (!x509.verify(x509.publicKey)) return false;
    const names = initCertificateNames(me);
    const altNames = parsed.altNames;
    const commonNames = nameAttributes(parsed.subject, OID.commonName);
    const expected = new Set(names.altNames);
    const found = new Set([...altNames.dns, ...altNames.ip].map((name) => name.toLowerCase()));
    return commonNames.length === 1 && commonNames[0].toLowerCase() === names.commonName &&
      found.size === expected.size && [...found].every((name) => expected.has(name));
  } catch {
    return false;
  }
}

function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((byte, index) => byte === b[index]);
}

function firstLine(text: string): string {
  return text.split("\n", 1)[0].trim();
}
