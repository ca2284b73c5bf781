/**
 * What `qmd domain add|del` and `qmd user add` do beyond the database, as
 * vpopmail's vadddomain/vdeldomain/vadduser do for qmail: a virtual domain is
 * also a line in control/rcpthosts (so qmail-smtpd accepts it) and a line
 * `domain:domain` in control/virtualdomains (so qmail-send hands its mail to
 * the local role as `domain-user@domain`, docs/queue-format.md §4.4), and a
 * mailbox is a Maildir under HOME/mail/DOMAIN/USER.
 *
 * Control files are rewritten through a temporary file, fsync and rename, and
 * keep the operator's other lines and comments. Edits happen inside a
 * database write transaction, which serialises concurrent qmd commands. Mail
 * on disk is never deleted.
 */
import { homePaths } from "../../config/home.ts";
import { parseControlList, readControlLine, readControlText } from "../../config/control.ts";
import { dirname, fileExists } from "../durable_file.ts";
import { giveToHomeOwner } from "../home_owner.ts";
import { addListEntry, removeListEntries, writeControlFile } from "../control_files.ts";
import { AccountError, parseDomain, parseMailboxAddress } from "./account_names.ts";
import { AddedLines, type RecordedFile } from "./added_lines.ts";
import { type Mailbox, type MailboxOptions, validateMailboxInput } from "./mailbox.ts";
import type { AccountStore } from "./store.ts";

export interface DomainChange {
  domain: string;
  /** The database row was added or removed. */
  database: boolean;
  /** A control/rcpthosts line was added or removed. */
  rcpthosts: boolean;
  /** A control/virtualdomains line was added or removed. */
  virtualdomains: boolean;
  /** Mailbox rows removed along with the domain (--force). Their Maildirs stay on disk. */
  mailboxesRemoved: Mailbox[];
  /** Things the operator should know, one line each. */
  notes: string[];
}

const DIRECTORY_MODE = 0o700;
/** HOME/mail, as qmd init makes it. */
const MAIL_MODE = 0o755;

/** The domain of a virtualdomains line `[user@]domain:prepend` (lower case). */
function virtualDomainKey(value: string): string {
  const colon = value.indexOf(":");
  return (colon < 0 ? value : value.slice(0, colon)).toLowerCase();
}

/** Makes `path` (0700) when missing, owned as the home is (home_owner.ts). */
function makeDirectory(home: string, path: string, mode = DIRECTORY_MODE): void {
  try {
    Deno.mkdirSync(path, { recursive: false, mode });
    Deno.chmodSync(path, mode);
  } catch (error) {
    if (!(error instanceof Deno.errors.AlreadyExists)) throw error;
    return;
  }
  giveToHomeOwner(home, [path]);
}

/** Creates DIR/{tmp,new,cur} (0700) and any missing parents under HOME/mail. */
export function makeMaildir(home: string, maildir: string): void {
  const mail = homePaths(home).mail;
  if (!maildir.startsWith(`${mail}/`)) throw new Error(`Maildir ${maildir} is outside ${mail}`);
  const [domain] = maildir.slice(mail.length + 1).split("/", 1);
  makeDomainDirectory(home, domain);
  let path = mail;
  for (const part of maildir.slice(mail.length + 1).split("/")) {
    path = `${path}/${part}`;
    makeDirectory(home, path);
  }
  for (const sub of ["tmp", "new", "cur"]) makeDirectory(home, `${maildir}/${sub}`);
}

/** A DomainChange in which nothing has happened yet. */
function unchangedDomain(domain: string): DomainChange {
  return {
    domain,
    database: false,
    rcpthosts: false,
    virtualdomains: false,
    mailboxesRemoved: [],
    notes: [],
  };
}

/**
 * The domains qmail-send delivers locally: control/locals, or control/me
 * when locals is absent (qmail-send's default, §9).
 */
export function readLocalDomains(home: string): string[] {
  const locals = readControlText(home, "locals");
  if (locals !== undefined) return parseControlList(locals).map((e) => e.value.toLowerCase());
  const me = readControlLine(home, "me")?.trim().toLowerCase();
  return me ? [me] : [];
}

/** HOME/mail (0755, as qmd init makes it) when missing, then HOME/mail/DOMAIN (0700). */
function makeDomainDirectory(home: string, domain: string): void {
  const mail = homePaths(home).mail;
  makeDirectory(home, mail, MAIL_MODE);
  makeDirectory(home, `${mail}/${domain}`);
}

/**
 * Adds a virtual domain: the database row, a control/rcpthosts line, a
 * control/virtualdomains line `domain:domain` and HOME/mail/DOMAIN. Each part
 * is added only if missing, so running it again repairs a half-added domain.
 * The lines it adds are recorded in HOME/accounts.lines (added_lines.ts).
 */
export function provisionDomain(store: AccountStore, domainName: string): DomainChange {
  const domain = parseDomain(domainName);
  const home = store.home;
  return store.transaction(() => {
    const change = unchangedDomain(domain);
    const added = AddedLines.read(home);
    if (!store.hasDomain(domain)) {
      store.addDomain(domain);
      change.database = true;
    }
    const locals = readLocalDomains(home);
    if (locals.includes(domain)) {
      // qmail-send checks locals before virtualdomains (§4.4); the local role
      // then looks the local part up in users/assign before the mailboxes.
      change.notes.push(
        `${domain} is also in control/locals, so its mail is delivered as local mail and its ` +
          `control/virtualdomains line is not used; its mailboxes still get their mail ` +
          `unless users/assign claims their names`,
      );
    }
    const rcpthosts = readControlText(home, "rcpthosts");
    let rcpthostsText = rcpthosts;
    if (rcpthosts === undefined) {
      // An absent rcpthosts means "accept every domain"; creating it with only
      // this domain would reject mail for the local domains, so start from locals.
      rcpthostsText = locals.map((name) => `${name}\n`).join("");
      change.notes.push(
        `control/rcpthosts did not exist (every domain was accepted); created it with ` +
          `${[...locals, domain].join(", ")}`,
      );
    }
    const newRcpthosts = addListEntry(
      rcpthostsText,
      domain,
      (value) => value.toLowerCase() === domain,
    );
    if (newRcpthosts !== undefined) {
      writeControlFile(home, "rcpthosts", newRcpthosts);
      added.add("rcpthosts", domain);
      change.rcpthosts = true;
    }
    const virtualdomains = readControlText(home, "virtualdomains");
    const existing = parseControlList(virtualdomains ?? "").find((e) =>
      virtualDomainKey(e.value) === domain
    );
    if (existing && existing.value.toLowerCase() !== `${domain}:${domain}`) {
      change.notes.push(
        `control/virtualdomains line ${existing.line} already maps ${domain} ` +
          `(${existing.value}); left as it is`,
      );
    }
    const newVirtualdomains = addListEntry(
      virtualdomains,
      `${domain}:${domain}`,
      (value) => virtualDomainKey(value) === domain,
    );
    if (newVirtualdomains !== undefined) {
      writeControlFile(home, "virtualdomains", newVirtualdomains);
      added.add("virtualdomains", `${domain}:${domain}`);
      change.virtualdomains = true;
    }
    added.save();
    makeDomainDirectory(home, domain);
    return change;
  });
}

/**
 * Removes a virtual domain's database row and the rcpthosts and
 * virtualdomains lines that provisionDomain added (HOME/accounts.lines);
 * lines that `qmd init` or the operator wrote stay, with a note. With
 * mailboxes left it refuses unless `force`, which removes their rows too.
 * Maildirs are never deleted.
 */
export function unprovisionDomain(
  store: AccountStore,
  domainName: string,
  options: { force?: boolean } = {},
): DomainChange {
  const domain = parseDomain(domainName);
  const home = store.home;
  return store.transaction(() => {
    const change = unchangedDomain(domain);
    const added = AddedLines.read(home);
    if (store.hasDomain(domain)) {
      const mailboxes = store.listMailboxes(domain);
      if (mailboxes.length > 0 && !options.force) {
        throw new AccountError(
          `Domain ${domain} still has ${mailboxes.length} mailbox` +
            `${mailboxes.length === 1 ? "" : "es"}; delete them first or use --force`,
          "not-empty",
        );
      }
      for (const mailbox of mailboxes) store.deleteMailbox(mailbox.address);
      change.mailboxesRemoved = mailboxes;
      store.deleteDomain(domain);
      change.database = true;
    }
    const kept: string[] = [];
    const removeAdded = (file: RecordedFile, matches: (value: string) => boolean) => {
      const text = readControlText(home, file);
      const newText = removeListEntries(
        text,
        (value) => matches(value) && added.has(file, value),
      );
      if (newText !== undefined) writeControlFile(home, file, newText);
      for (const entry of parseControlList(newText ?? text ?? "")) {
        if (matches(entry.value)) kept.push(`control/${file} line ${entry.line} (${entry.value})`);
      }
      return newText !== undefined;
    };
    change.rcpthosts = removeAdded("rcpthosts", (value) => value.toLowerCase() === domain);
    if (change.rcpthosts) added.remove("rcpthosts", domain);
    change.virtualdomains = removeAdded(
      "virtualdomains",
      (value) => virtualDomainKey(value) === domain,
    );
    if (change.virtualdomains) added.remove("virtualdomains", `${domain}:${domain}`);
    added.save();
    const keptNote = kept.length === 0 ? undefined : `kept ${kept.join(" and ")}: ` +
      `qmd domain add did not write ${kept.length === 1 ? "it" : "them"}; ` +
      `edit by hand if ${domain} should go`;
    if (!change.database && !change.rcpthosts && !change.virtualdomains) {
      throw new AccountError(
        `No such domain ${domain}` + (keptNote === undefined ? "" : `; ${keptNote}`),
        "missing",
      );
    }
    if (keptNote !== undefined) change.notes.push(keptNote);
    return change;
  });
}

/**
 * Adds a mailbox and creates its Maildir (0700). A domain not yet known is
 * provisioned first (`domain` in the result says so).
 */
export function provisionMailbox(
  store: AccountStore,
  address: string,
  password: string,
  options: MailboxOptions = {},
): { mailbox: Mailbox; domain?: DomainChange } {
  const { user, domain } = parseMailboxAddress(address);
  // Check first, so a mailbox that cannot be added leaves no domain behind.
  validateMailboxInput(password, options);
  return store.transaction(() => {
    const domainChange = store.hasDomain(domain) ? undefined : provisionDomain(store, domain);
    const mailbox = store.addMailbox(`${user}@${domain}`, password, options);
    makeMaildir(store.home, mailbox.maildir);
    return { mailbox, domain: domainChange };
  });
}

/** What renameProvisionedMailbox did. */
export interface MailboxRename {
  from: Mailbox;
  to: Mailbox;
  /** HOME/mail/DOMAIN/USER was moved (false: it did not exist, and a new Maildir was made). */
  moved: boolean;
}

/**
 * Renames a mailbox: its database row and its directory HOME/mail/DOMAIN/USER
 * (Maildir, maildirsize, the mailbox's own .qmail files) in one rename(2),
 * inside one database write transaction, so every message in the Maildir
 * moves with it and no reader sees the row and the directory disagree for
 * longer than the transaction. Refuses when the new address exists or its
 * directory is already on disk (it would mix two mailboxes).
 */
export function renameProvisionedMailbox(
  store: AccountStore,
  from: string,
  to: string,
): MailboxRename {
  const home = store.home;
  let moved: { from: string; to: string } | undefined;
  try {
    return store.transaction(() => {
      const old = parseMailboxAddress(from);
      const before = store.findMailbox(old.domain, old.user);
      const after = store.renameMailbox(from, to);
      const oldHome = dirname(before!.maildir);
      const newHome = dirname(after.maildir);
      if (fileExists(newHome, { followLinks: false })) {
        throw new AccountError(
          `${newHome} already exists; move it away before renaming ${before!.address} to ` +
            `${after.address}`,
          "exists",
        );
      }
      makeDomainDirectory(home, after.domain);
      if (fileExists(oldHome, { followLinks: false })) {
        Deno.renameSync(oldHome, newHome);
        moved = { from: oldHome, to: newHome };
      } else {
        makeMaildir(home, after.maildir);
      }
      return { from: before!, to: after, moved: moved !== undefined };
    });
  } catch (error) {
    // The commit failed after the move: put the directory back with the row.
    if (moved !== undefined) Deno.renameSync(moved.to, moved.from);
    throw error;
  }
}
