/**
 * Aliases as qmail keeps them: forwarding lines (`&address`) in `.qmail`
 * files, read by local delivery exactly as any other .qmail file (there is
 * no alias table in the accounts database). Where the file for an address
 * lives follows the lookup the local role runs (deliver/local_user.ts,
 * docs/queue-format.md §5.3, §6.2):
 *
 * - a virtual domain (control/virtualdomains `domain:domain`, so the local
 *   part arrives as `domain-user`): HOME/mail/DOMAIN/.qmail-USER;
 * - a domain in control/locals: the alias user's HOME/alias/.qmail-USER, as
 *   qmail's ~alias/.qmail-USER.
 *
 * USER is qmail-local's ext' (lower case, `.` as `:`); `default` is the
 * catch-all .qmail-default. An address that users/assign or a mailbox
 * claims is refused: its mail never reaches such a file.
 */
import { homePaths } from "../../config/home.ts";
import { AccountError, parseMailboxAddress } from "../accounts/account_names.ts";
import { readLocalDomains } from "../accounts/provision.ts";
import type { AccountStore } from "../accounts/store.ts";
import { writeFileAtomically } from "../control_files.ts";
import { type DotQmailInstruction, parseDotQmail, safeExtension } from "../deliver/dot_qmail.ts";
import { isNotFound, removeIfPresentSync } from "../durable_file.ts";
import { giveToHomeOwner } from "../home_owner.ts";
import { traceDelivery } from "./delivery_trace.ts";

/** Where an address's alias file is. */
export interface AliasFile {
  /** user@domain, lower case. */
  address: string;
  /** The directory holding the file (HOME/alias or HOME/mail/DOMAIN). */
  directory: string;
  /** Absolute path of the .qmail file. */
  path: string;
}

/** One .qmail file as `qmd alias list` shows it. */
export interface AliasEntry {
  address: string;
  path: string;
  /** The addresses it forwards to, in file order. */
  forwards: string[];
  /** Its other delivery lines (Maildir, mbox, program), as written. */
  other: string[];
}

const DOT_QMAIL_MODE = 0o644;
const DOMAIN_DIRECTORY_MODE = 0o700;

/**
 * The .qmail file that mail to `address` reads, found by the same routing and
 * lookup a delivery runs. Throws AccountError when the address is not
 * delivered here, or is claimed by users/assign or a mailbox.
 */
export async function findAliasFile(store: AccountStore, address: string): Promise<AliasFile> {
  const { user, domain } = parseMailboxAddress(address);
  const lower = `${user}@${domain}`;
  const trace = await traceDelivery(store, lower);
  if (trace.channel === "remote") {
    throw new AccountError(
      `${lower} is not delivered here: ${domain} is in neither control/locals nor ` +
        `control/virtualdomains`,
      "missing",
    );
  }
  if (trace.user.source === "assign") {
    throw new AccountError(
      `users/assign gives ${lower} to user ${trace.user.user} (home ${trace.user.home}); ` +
        `put its forwards in a .qmail file there`,
      "exists",
    );
  }
  if (trace.user.source === "mailbox") {
    throw new AccountError(
      `${lower} is delivered to the mailbox ${trace.user.user}; an alias file would not be read`,
      "exists",
    );
  }
  const home = store.home;
  const local = trace.recipient.slice(0, trace.recipient.lastIndexOf("@")).toLowerCase();
  let directory: string;
  let ext: string;
  if (local.startsWith(`${domain}-`)) {
    directory = `${homePaths(home).mail}/${domain}`;
    ext = local.slice(domain.length + 1);
  } else if (local === user) {
    directory = homePaths(home).alias;
    ext = user;
  } else {
    throw new AccountError(
      `control/virtualdomains hands ${domain} to ${local.slice(0, -user.length - 1)}; ` +
        `its forwards are .qmail files in that user's home`,
      "exists",
    );
  }
  return { address: lower, directory, path: `${directory}/.qmail-${safeExtension(ext)}` };
}

/** The file's text, or undefined when it does not exist. */
function readDotQmail(path: string): string | undefined {
  try {
    return Deno.readTextFileSync(path);
  } catch (error) {
    if (isNotFound(error)) return undefined;
    throw error;
  }
}

/** A forwarding target as a .qmail line accepts it: an address, nothing a line would misread. */
export function checkTarget(target: string): string {
  // deno-lint-ignore no-control-regex
  if (!/^[^\s\x00-\x1f\x7f&|/.#+][^\s\x00-\x1f\x7f]*$/.test(target)) {
    throw new AccountError(
      `Invalid target ${JSON.stringify(target)}: an address, without spaces, not starting ` +
        `with & | / . # or +`,
      "invalid",
    );
  }
  return target;
}

function sameAddress(a: string, b: string): boolean {
  return a.toLowerCase() === b.toLowerCase();
}

function forwardsOf(text: string, path: string): DotQmailInstruction[] {
  if (text === "") return [];
  try {
    return parseDotQmail(text);
  } catch (error) {
    throw new AccountError(`${path}: ${(error as Error).message}`, "invalid");
  }
}

function writeDotQmail(home: string, file: AliasFile, text: string): void {
  try {
    Deno.mkdirSync(file.directory, { mode: DOMAIN_DIRECTORY_MODE });
    Deno.chmodSync(file.directory, DOMAIN_DIRECTORY_MODE);
    giveToHomeOwner(home, [file.directory]);
  } catch (error) {
    if (!(error instanceof Deno.errors.AlreadyExists)) throw error;
  }
  writeFileAtomically(file.path, new TextEncoder().encode(text), DOT_QMAIL_MODE, home);
}

/** Appends `&TARGET` lines for the targets the file does not forward to yet; returns those. */
export function addForwards(home: string, file: AliasFile, targets: string[]): string[] {
  const text = readDotQmail(file.path) ?? "";
  const present = forwardsOf(text, file.path).flatMap((line) =>
    line.kind === "forward" ? [line.address] : []
  );
  const added: string[] = [];
  for (const target of targets.map(checkTarget)) {
    if ([...present, ...added].some((address) => sameAddress(address, target))) continue;
    added.push(target);
  }
  if (added.length === 0) return [];
  const base = text === "" || text.endsWith("\n") ? text : `${text}\n`;
  writeDotQmail(home, file, base + added.map((target) => `&${target}\n`).join(""));
  return added;
}

/**
 * Removes the forwards to `targets` (all named targets must be there), or,
 * with no targets, the whole file when it holds only forwards. A file left
 * with no delivery line is removed. Returns whether the file is gone.
 */
export function removeForwards(home: string, file: AliasFile, targets: string[]): boolean {
  const text = readDotQmail(file.path);
  if (text === undefined) {
    throw new AccountError(`No alias ${file.address} (${file.path})`, "missing");
  }
  const instructions = forwardsOf(text, file.path);
  if (targets.length === 0) {
    const other = instructions.find((line) => line.kind !== "forward");
    if (other !== undefined) {
      throw new AccountError(
        `${file.path} line ${other.line} is not a forward; name the targets to remove, ` +
          `or edit the file by hand`,
        "not-empty",
      );
    }
    removeIfPresentSync(file.path);
    return true;
  }
  const remove = new Set<number>();
  for (const target of targets) {
    const found = instructions.filter((line) =>
      line.kind === "forward" && sameAddress(line.address, target)
    );
    if (found.length === 0) {
      throw new AccountError(`${file.address} does not forward to ${target}`, "missing");
    }
    for (const line of found) remove.add(line.line);
  }
  if (instructions.every((line) => remove.has(line.line))) {
    removeIfPresentSync(file.path);
    return true;
  }
  const lines = text.split("\n");
  const kept = lines.filter((_, index) => !remove.has(index + 1));
  writeDotQmail(home, file, kept.join("\n"));
  return false;
}

/** The .qmail-NAME files in `directory` as [name, path], sorted by name. */
function dotQmailFiles(directory: string): [string, string][] {
  let entries: Deno.DirEntry[];
  try {
    entries = [...Deno.readDirSync(directory)];
  } catch (error) {
    if (isNotFound(error)) return [];
    throw error;
  }
  return entries.filter((entry) => entry.isFile && entry.name.startsWith(".qmail-"))
    .map((entry): [string, string] => [entry.name.slice(7), `${directory}/${entry.name}`])
    .sort(([a], [b]) => a < b ? -1 : a > b ? 1 : 0);
}

function aliasEntry(address: string, path: string): AliasEntry {
  const instructions = forwardsOf(Deno.readTextFileSync(path), path);
  return {
    address,
    path,
    forwards: instructions.flatMap((line) => line.kind === "forward" ? [line.address] : []),
    other: instructions.flatMap((line) => {
      switch (line.kind) {
        case "forward":
        case "forward-only":
          return [];
        case "program":
          return [`|${line.command}`];
        default:
          return [line.path];
      }
    }),
  };
}

/**
 * Every alias file: each domain directory's .qmail-NAME files (HOME/mail/
 * DOMAIN) and the alias user's, once for each domain in control/locals.
 * Names are shown as addresses (`:` back to `.`). `domain` limits the list.
 */
export function listAliases(home: string, domain?: string): AliasEntry[] {
  const wanted = domain?.toLowerCase();
  const entries: AliasEntry[] = [];
  const paths = homePaths(home);
  for (const local of readLocalDomains(home)) {
    if (wanted !== undefined && local !== wanted) continue;
    for (const [name, path] of dotQmailFiles(paths.alias)) {
      entries.push(aliasEntry(`${name.replaceAll(":", ".")}@${local}`, path));
    }
  }
  let domains: string[] = [];
  try {
    domains = [...Deno.readDirSync(paths.mail)].filter((entry) => entry.isDirectory)
      .map((entry) => entry.name).sort();
  } catch (error) {
    if (!isNotFound(error)) throw error;
  }
  for (const name of domains) {
    if (wanted !== undefined && name !== wanted) continue;
    for (const [ext, path] of dotQmailFiles(`${paths.mail}/${name}`)) {
      entries.push(aliasEntry(`${ext.replaceAll(":", ".")}@${name}`, path));
    }
  }
  return entries;
}
