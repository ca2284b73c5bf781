/**
 * `qmd import-qmail --apply`'s vpopmail part: each vpopmail domain becomes a
 * qmd virtual domain and each of its vpasswd mailboxes a qmd mailbox whose
 * Maildir is vpopmail's, in place: HOME/mail/DOMAIN/USER/Maildir is a
 * symbolic link to vpopmail's DIR/Maildir, so no message is copied or moved.
 * The domain's alias files (DOMAINDIR/.qmail-NAME, not .qmail-default, which
 * runs vdelivermail) are linked beside them in HOME/mail/DOMAIN.
 *
 * Passwords: a mailbox with vpopmail's clear-text password gets a scrypt
 * hash of it; one with only a crypt hash keeps that hash, which qmd cannot
 * check, so it receives mail but cannot log in until `qmd user passwd`. No
 * password or hash is ever printed.
 *
 * Then users/assign's `+DOMAIN-` line, which handed the domain to vpopmail's
 * .qmail-default, is removed (the file as qmail had it is kept as
 * users/assign.qmail, and users/cdb is rebuilt when there is one), so the
 * local role finds the mailboxes. A domain with a mailbox that could not be
 * adopted keeps its line. Running it again changes nothing.
 */
import { buildCdb } from "../../config/cdb.ts";
import { compileAssign, parseAssign } from "../../config/users.ts";
import { AccountError } from "../accounts/account_names.ts";
import { provisionDomain } from "../accounts/provision.ts";
import { AccountStore } from "../accounts/store.ts";
import { bytesToString } from "../bytes.ts";
import { fileExists, replaceFile } from "../durable_file.ts";
import { giveToHomeOwner } from "../home_owner.ts";
import type { QmailSurvey, VpopmailDomain } from "./qmail_survey.ts";
import { readVpasswd, type VpasswdEntry } from "./vpasswd.ts";

/** What adopting vpopmail's domains did; each list is empty on a second run. */
export interface VpopmailAdoption {
  /** Domains added to the accounts database. */
  domains: string[];
  /** Mailboxes added (user@domain). */
  mailboxes: string[];
  /** Links made, as `link -> target`. */
  links: string[];
  /** users/assign lines removed, as they were written. */
  assignRemoved: string[];
  /** Adopted mailboxes that still have no password qmd can check (every run). */
  needPassword: string[];
  notes: string[];
}

/** The alias files of a vpopmail domain directory qmd reads in HOME/mail/DOMAIN. */
function aliasFiles(domainDir: string): string[] {
  return [...Deno.readDirSync(domainDir)]
    .filter((entry) => entry.isFile && entry.name.startsWith(".qmail-"))
    .map((entry) => entry.name).filter((name) => name !== ".qmail-default").sort();
}

/**
 * Makes `link` a symbolic link to `target` unless it is one already;
 * returns whether it made it, or why it left something else there.
 */
function linkTo(home: string, link: string, target: string): boolean | string {
  try {
    const info = Deno.lstatSync(link);
    if (info.isSymlink && Deno.readLinkSync(link) === target) return false;
    return `${link} is already there and is not a link to ${target}; left as it is`;
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  }
  const parent = link.slice(0, link.lastIndexOf("/"));
  if (!fileExists(parent)) {
    Deno.mkdirSync(parent, { recursive: true, mode: 0o700 });
    giveToHomeOwner(home, [parent]);
  }
  Deno.symlinkSync(target, link);
  return true;
}

/** Adds one mailbox (when missing) and links its Maildir; false when it could not be adopted. */
function adoptMailbox(
  store: AccountStore,
  domain: string,
  entry: VpasswdEntry,
  done: VpopmailAdoption,
): boolean {
  const address = `${entry.user}@${domain}`;
  let mailbox = store.findMailbox(domain, entry.user.toLowerCase());
  if (mailbox === undefined) {
    const options = { quotaBytes: entry.quota.bytes, quotaMessages: entry.quota.messages };
    try {
      mailbox = entry.clear !== ""
        ? store.addMailbox(address, entry.clear, options)
        : store.addMailboxWithHash(address, entry.hash, options);
    } catch (error) {
      if (!(error instanceof AccountError)) throw error;
      done.notes.push(`${address} not adopted: ${error.message}`);
      return false;
    }
    done.mailboxes.push(mailbox.address);
  }
  if (!store.findSecrets(mailbox.address)?.scryptHash.startsWith("scrypt$")) {
    done.needPassword.push(mailbox.address);
  }
  const target = `${entry.dir.replace(/\/+$/, "")}/Maildir`;
  if (!fileExists(target)) done.notes.push(`${address}: vpopmail's ${target} does not exist`);
  const linked = linkTo(store.home, mailbox.maildir, target);
  if (typeof linked === "string") done.notes.push(linked);
  else if (linked) done.links.push(`${mailbox.maildir} -> ${target}`);
  return true;
}

/** One domain: its row and control lines, its mailboxes, its alias files. */
function adoptDomain(store: AccountStore, surveyed: VpopmailDomain, done: VpopmailAdoption) {
  const { domain, dir } = surveyed;
  const change = provisionDomain(store, domain);
  if (change.database) done.domains.push(domain);
  done.notes.push(...change.notes);
  const entries = readVpasswd(dir)?.entries ?? [];
  const adopted = entries.map((entry) => adoptMailbox(store, domain, entry, done));
  for (const name of aliasFiles(dir)) {
    const linked = linkTo(store.home, `${store.home}/mail/${domain}/${name}`, `${dir}/${name}`);
    if (typeof linked === "string") done.notes.push(linked);
    else if (linked) done.links.push(`${store.home}/mail/${domain}/${name} -> ${dir}/${name}`);
  }
  return adopted.every((ok) => ok);
}

/**
 * Removes users/assign's `+DOMAIN-:...:DOMAINDIR:...` lines for `domains`
 * (keeping qmail's file as users/assign.qmail once) and rebuilds users/cdb
 * when the home has one. Returns the lines removed.
 */
async function releaseFromAssign(
  home: string,
  domains: readonly VpopmailDomain[],
): Promise<string[]> {
  const path = `${home}/users/assign`;
  if (!fileExists(path)) return [];
  const text = bytesToString(Deno.readFileSync(path));
  const vpopmailLines = new Set(
    parseAssign(text, path).filter((entry) =>
      entry.kind === "wildcard" &&
      domains.some((domain) =>
        entry.local.toLowerCase() === `${domain.domain}-` &&
        entry.home.replace(/\/+$/, "") === domain.dir
      )
    ).map((entry) => entry.line),
  );
  if (vpopmailLines.size === 0) return [];
  const lines = text.split("\n");
  const kept = lines.filter((_, index) => !vpopmailLines.has(index + 1)).join("\n");
  if (!fileExists(`${path}.qmail`)) Deno.copyFileSync(path, `${path}.qmail`);
  await replaceFile(path, new TextEncoder().encode(kept));
  const cdb = `${home}/users/cdb`;
  if (fileExists(cdb)) await replaceFile(cdb, buildCdb(compileAssign(parseAssign(kept, path))));
  giveToHomeOwner(home, [path, `${path}.qmail`, cdb]);
  return [...vpopmailLines].map((line) => lines[line - 1]);
}

/** Adopts every surveyed vpopmail domain into the accounts of the home `home`. */
export async function adoptVpopmail(
  home: string,
  vpopmail: NonNullable<QmailSurvey["vpopmail"]>,
): Promise<VpopmailAdoption> {
  const done: VpopmailAdoption = {
    domains: [],
    mailboxes: [],
    links: [],
    assignRemoved: [],
    needPassword: [],
    notes: [],
  };
  const store = AccountStore.open(home);
  const complete: VpopmailDomain[] = [];
  try {
    for (const domain of vpopmail.domains) {
      if (adoptDomain(store, domain, done)) complete.push(domain);
      else {
        done.notes.push(
          `${domain.domain} keeps its users/assign line (vpopmail delivers it) until every ` +
            `mailbox is adopted`,
        );
      }
    }
  } finally {
    store.close();
  }
  done.assignRemoved = await releaseFromAssign(home, complete);
  return done;
}
