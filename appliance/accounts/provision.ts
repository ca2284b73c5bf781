/**
 * What `qmd domain add|del` and `qmd user add` do beyond the database, as
 * vpopmail's vadddomain/vdeldomain/vadduser do for qmail: a virtual domain is
 * also a line in control/rcpthosts (so qmail-smtpd accepts it) and a line
 * `domain:domain` in control/virtualdomains (so qmail-send hands its mail to
 * the local role as `domain-user@domain`, qmail-formats.md §4.4), and a
 * mailbox is a Maildir under HOME/mail/DOMAIN/USER.
 *
 * Control files are rewritten through a temporary file, fsync and rename, and
 * keep the operator's other lines and comments. Edits happen inside a
 * database write transaction, which serialises concurrent qmd commands. Mail
 * on disk is never deleted.
 */
import { homePaths } from "../../config/home.ts";
import { parseControlList, readControlText } from "../../config/control.ts";
import { AccountError, parseDomain, parseMailboxAddress } from "./address.ts";
import {
  type AccountStore,
  type Mailbox,
  type MailboxOptions,
  validateMailboxInput,
} from "./store.ts";

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

/**
 * Adds `entry` as a line of a list control file unless a line already matches.
 * Returns the new text, or undefined when nothing changes.
 */
export function addListEntry(
  text: string | undefined,
  entry: string,
  present: (value: string) => boolean,
): string | undefined {
  const current = text ?? "";
  if (parseControlList(current).some((item) => present(item.value))) return undefined;
  const separator = current === "" || current.endsWith("\n") ? "" : "\n";
  return `${current}${separator}${entry}\n`;
}

/**
 * Removes the lines of a list control file that match (comments and blank
 * lines are kept). Returns the new text, or undefined when nothing changes.
 */
export function removeListEntries(
  text: string | undefined,
  matches: (value: string) => boolean,
): string | undefined {
  if (text === undefined) return undefined;
  const lines = text.split("\n");
  const kept = lines.filter((raw) => {
    const value = raw.replace(/[ \t\r]+$/, "");
    return value === "" || value.startsWith("#") || !matches(value);
  });
  return kept.length === lines.length ? undefined : kept.join("\n");
}

/** The domain of a virtualdomains line `[user@]domain:prepend` (lower case). */
function virtualDomainKey(value: string): string {
  const colon = value.indexOf(":");
  return (colon < 0 ? value : value.slice(0, colon)).toLowerCase();
}

/** Replaces HOME/control/NAME atomically: write NAME.tmp.PID, fsync, rename; keeps the old mode. */
export function writeControlFile(home: string, name: string, text: string): void {
  const path = `${homePaths(home).control}/${name}`;
  let mode = 0o644;
  try {
    mode = (Deno.statSync(path).mode ?? 0o644) & 0o7777;
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  }
  const tmp = `${path}.tmp.${Deno.pid}`;
  const file = Deno.openSync(tmp, { write: true, create: true, truncate: true, mode });
  try {
    const bytes = new TextEncoder().encode(text);
    let written = 0;
    while (written < bytes.length) written += file.writeSync(bytes.subarray(written));
    file.syncSync();
  } finally {
    file.close();
  }
  Deno.chmodSync(tmp, mode);
  Deno.renameSync(tmp, path);
}

function makeDirectory(path: string): void {
  try {
    Deno.mkdirSync(path, { recursive: false, mode: DIRECTORY_MODE });
    Deno.chmodSync(path, DIRECTORY_MODE);
  } catch (error) {
    if (!(error instanceof Deno.errors.AlreadyExists)) throw error;
  }
}

/** Creates DIR/{tmp,new,cur} (0700) and any missing parents under HOME/mail. */
export function makeMaildir(home: string, maildir: string): void {
  const mail = homePaths(home).mail;
  if (!maildir.startsWith(`${mail}/`)) throw new Error(`Maildir ${maildir} is outside ${mail}`);
  Deno.mkdirSync(mail, { recursive: true });
  let path = mail;
  for (const part of maildir.slice(mail.length + 1).split("/")) {
    path = `${path}/${part}`;
    makeDirectory(path);
  }
  for (const sub of ["tmp", "new", "cur"]) makeDirectory(`${maildir}/${sub}`);
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
 * Adds a virtual domain: the database row, a control/rcpthosts line, a
 * control/virtualdomains line `domain:domain` and HOME/mail/DOMAIN. Each part
 * is added only if missing, so running it again repairs a half-added domain.
 */
export function provisionDomain(store: AccountStore, domainName: string): DomainChange {
  const domain = parseDomain(domainName);
  const home = store.home;
  return store.transaction(() => {
    const change = unchangedDomain(domain);
    if (!store.hasDomain(domain)) {
      store.addDomain(domain);
      change.database = true;
    }
    const locals = parseControlList(readControlText(home, "locals") ?? "").map((e) =>
      e.value.toLowerCase()
    );
    if (locals.includes(domain)) {
      change.notes.push(
        `${domain} is also in control/locals, which wins: its mail goes to local users, ` +
          `not to virtual mailboxes`,
      );
    }
    const rcpthosts = readControlText(home, "rcpthosts");
    let rcpthostsText = rcpthosts;
    if (rcpthosts === undefined) {
      // An absent rcpthosts means "accept every domain"; creating it with only
      // this domain would reject mail for the local domains, so start from locals.
      const me = readControlText(home, "me")?.split("\n", 1)[0].trim();
      const start = locals.length > 0 ? locals : me ? [me] : [];
      rcpthostsText = start.map((name) => `${name}\n`).join("");
      change.notes.push(
        `control/rcpthosts did not exist (every domain was accepted); created it with ` +
          `${[...start, domain].join(", ")}`,
      );
    }
    const newRcpthosts = addListEntry(
      rcpthostsText,
      domain,
      (value) => value.toLowerCase() === domain,
    );
    if (newRcpthosts !== undefined) {
      writeControlFile(home, "rcpthosts", newRcpthosts);
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
      change.virtualdomains = true;
    }
    const mail = homePaths(home).mail;
    Deno.mkdirSync(mail, { recursive: true });
    makeDirectory(`${mail}/${domain}`);
    return change;
  });
}

/**
 * Removes a virtual domain's database row and its rcpthosts and virtualdomains
 * lines. With mailboxes left it refuses unless `force`, which removes their
 * rows too. Maildirs are never deleted.
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
    const newRcpthosts = removeListEntries(
      readControlText(home, "rcpthosts"),
      (value) => value.toLowerCase() === domain,
    );
    if (newRcpthosts !== undefined) {
      writeControlFile(home, "rcpthosts", newRcpthosts);
      change.rcpthosts = true;
    }
    const newVirtualdomains = removeListEntries(
      readControlText(home, "virtualdomains"),
      (value) => virtualDomainKey(value) === domain,
    );
    if (newVirtualdomains !== undefined) {
      writeControlFile(home, "virtualdomains", newVirtualdomains);
      change.virtualdomains = true;
    }
    if (!change.database && !change.rcpthosts && !change.virtualdomains) {
      throw new AccountError(`No such domain ${domain}`, "missing");
    }
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
