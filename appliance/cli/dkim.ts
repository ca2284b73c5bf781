/**
 * `qmd dkim add|list|show`: the DKIM keys the remote role signs outgoing
 * mail with (appliance/remote/dkim_sign.ts), one PEM private key per domain
 * and selector in control/dkim/DOMAIN/SELECTOR.key (config/dkim.ts), and the
 * TXT record each needs in DNS (appliance/remote/dkim_records.ts).
 *
 * add makes an RSA-2048 key (or Ed25519 with --ed25519) with node:crypto,
 * mode 0600, and tells a running qmd to reload (SIGHUP), so mail from the
 * domain is signed from then on. The default selector names the month the
 * key was made, `qmdYYYYMM` (`qmdYYYYMMed` for Ed25519), so a new key can be
 * added beside the old one and published before the old one is removed.
 */
import { generateKeyPairSync } from "node:crypto";
import { otherSubcommand, parseCommand, usageError } from "./args.ts";
import { findHomeProblem, resolveHome } from "../../config/home.ts";
import { readControlList } from "../../config/control.ts";
import {
  type DkimAlgorithm,
  type DkimKey,
  dkimKeyPath,
  DOMAIN,
  listDkimKeyFiles,
  readDkimKey,
  SELECTOR,
} from "../../config/dkim.ts";
import { writeControlFile } from "../control_files.ts";
import { giveToHomeOwner } from "../home_owner.ts";
import { fileExists } from "../durable_file.ts";
import { reloadRunningQmd } from "../home/running.ts";
import { dkimRecord, formatTxtStrings } from "../remote/dkim_records.ts";
import { homeError } from "./user.ts";
import { EXIT } from "../exit_codes.ts";

const NAME = "qmd dkim";

const USAGE = `usage: qmd dkim add DOMAIN [--selector SELECTOR] [--ed25519]
       qmd dkim list
       qmd dkim show DOMAIN

add makes a DKIM signing key for DOMAIN in control/dkim/DOMAIN/SELECTOR.key
(RSA 2048 bits, or Ed25519 with --ed25519; default selector qmdYYYYMM, or
qmdYYYYMMed for Ed25519) and prints the TXT record to publish. Mail whose
From: is DOMAIN (or a subdomain of it) is then signed when the remote role
sends it, with every key of the domain. list prints every key; show prints
DOMAIN's records in zone-file form. All subcommands take --home DIR (default:
$QMD_HOME, else ./qmd-home).`;

/** The selector add chooses: the month, as `qmd202612` (RSA) or `qmd202612ed` (Ed25519). */
export function defaultSelector(now: Date, algorithm: DkimAlgorithm): string {
  const month = `${now.getUTCFullYear()}${String(now.getUTCMonth() + 1).padStart(2, "0")}`;
  return `qmd${month}${algorithm === "ed25519" ? "ed" : ""}`;
}

/** A new private key, PEM (PKCS#8). */
export function generateDkimKey(algorithm: DkimAlgorithm): string {
  const { privateKey } = algorithm === "rsa"
    ? generateKeyPairSync("rsa", { modulusLength: 2048 })
    : generateKeyPairSync("ed25519");
  return privateKey.export({ type: "pkcs8", format: "pem" }).toString();
}

/** The record of one key as a zone-file line. */
export function formatDkimZoneLine(key: DkimKey): string {
  const record = dkimRecord(key);
  return `${record.name}.  IN TXT  ${formatTxtStrings(record.text)}`;
}

/** Whether rcpthosts, locals or virtualdomains name the domain (add only warns when not). */
function isOurDomain(home: string, domain: string): boolean {
  const names = ["rcpthosts", "locals", "virtualdomains"].flatMap((name) =>
    (readControlList(home, name) ?? []).map((entry) =>
      entry.value.split(":")[0].trim().toLowerCase()
    )
  );
  return names.includes(domain);
}

/** The keys of the home (or of one domain), each read; a broken one is reported on stderr and left out. */
export function readKeys(home: string, domain?: string): DkimKey[] {
  const keys: DkimKey[] = [];
  for (const file of listDkimKeyFiles(home)) {
    if (domain !== undefined && file.domain !== domain) continue;
    try {
      keys.push(readDkimKey(home, file.domain, file.selector));
    } catch (error) {
      console.error(`${NAME}: ${(error as Error).message}`);
    }
  }
  return keys;
}

function add(home: string, domain: string, algorithm: DkimAlgorithm, selector: string): number {
  const path = dkimKeyPath(home, domain, selector);
  if (fileExists(path)) {
    console.error(`${NAME}: ${path} exists; choose another --selector`);
    return EXIT.permanent;
  }
  for (const dir of [`${home}/control/dkim`, `${home}/control/dkim/${domain}`]) {
    Deno.mkdirSync(dir, { recursive: true, mode: 0o700 });
    giveToHomeOwner(home, [dir]);
  }
  writeControlFile(home, `dkim/${domain}/${selector}.key`, generateDkimKey(algorithm), 0o600);
  const key = readDkimKey(home, domain, selector);
  console.log(`${NAME}: added ${algorithm} key ${selector} for ${domain} (${path})`);
  if (!isOurDomain(home, domain)) {
    console.log(
      `${NAME}: note: ${domain} is not in control/rcpthosts, locals or virtualdomains; ` +
        "mail whose From: is in it is signed all the same",
    );
  }
  console.log(`${NAME}: publish this TXT record (receivers find no key until you do):`);
  console.log(formatDkimZoneLine(key));
  reloadRunningQmd(home, NAME);
  return EXIT.ok;
}

export function main(args: string[]): Promise<number> {
  return Promise.resolve(run(args));
}

function run(args: string[]): number {
  const [subcommand, ...rest] = args;
  const homeOption = { home: { type: "string" } } as const;
  const checkHome = (dir: string | undefined): string | number => {
    const home = resolveHome(dir);
    const problem = findHomeProblem(home);
    return problem === undefined ? home : homeError(problem, NAME);
  };
  switch (subcommand) {
    case "add": {
      const parsed = parseCommand({
        name: `${NAME} add`,
        usage: USAGE,
        options: { ...homeOption, selector: { type: "string" }, ed25519: { type: "boolean" } },
      }, rest);
      if (!parsed.ok) return parsed.exitCode;
      const domain = parsed.positionals[0]?.toLowerCase().replace(/\.$/, "");
      if (parsed.positionals.length !== 1 || !DOMAIN.test(domain)) {
        return usageError(`${NAME} add`, "expected one DOMAIN such as example.com");
      }
      const algorithm: DkimAlgorithm = parsed.values.ed25519 ? "ed25519" : "rsa";
      const selector = parsed.values.selector ?? defaultSelector(new Date(), algorithm);
      if (!SELECTOR.test(selector)) {
        return usageError(`${NAME} add`, `bad selector ${JSON.stringify(selector)}`);
      }
      const home = checkHome(parsed.values.home);
      return typeof home === "number" ? home : add(home, domain, algorithm, selector);
    }
    case "list": {
      const parsed = parseCommand(
        { name: `${NAME} list`, usage: USAGE, options: homeOption, positionals: false },
        rest,
      );
      if (!parsed.ok) return parsed.exitCode;
      const home = checkHome(parsed.values.home);
      if (typeof home === "number") return home;
      for (const key of readKeys(home)) {
        console.log(`${key.domain}\t${key.selector}\t${key.algorithm}\t${key.file}`);
      }
      return EXIT.ok;
    }
    case "show": {
      const parsed = parseCommand(
        { name: `${NAME} show`, usage: USAGE, options: homeOption },
        rest,
      );
      if (!parsed.ok) return parsed.exitCode;
      const domain = parsed.positionals[0]?.toLowerCase().replace(/\.$/, "");
      if (parsed.positionals.length !== 1 || !DOMAIN.test(domain)) {
        return usageError(`${NAME} show`, "expected one DOMAIN such as example.com");
      }
      const home = checkHome(parsed.values.home);
      if (typeof home === "number") return home;
      const keys = readKeys(home, domain);
      if (keys.length === 0) {
        console.error(`${NAME}: no key for ${domain}; make one with qmd dkim add ${domain}`);
        return EXIT.permanent;
      }
      for (const key of keys) console.log(formatDkimZoneLine(key));
      return EXIT.ok;
    }
    default:
      return otherSubcommand(NAME, USAGE, subcommand, "add, list or show");
  }
}
