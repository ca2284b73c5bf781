/**
 * qmail-lspawn's user lookup with qmd's fallbacks (docs/queue-format.md §5.2–§5.4):
 * who a local part belongs to — its home, dash and extension.
 *
 * qmd runs as one uid, so nothing here changes user. In place of qmail-getpw
 * (system accounts) a local part that users/assign does not claim is looked
 * up in the accounts database (virtual mailboxes at HOME/mail/DOMAIN/USER/
 * Maildir), then in the domain's own .qmail files, and finally falls to the
 * alias user (HOME/alias), as qmail-getpw's fallback does (§5.4).
 */
import { isValidHostname } from "../accounts/account_names.ts";
import { logWarning } from "../log.ts";
import { asciiLower, type Assignment, lookupAssign, readAssignSource } from "../../config/users.ts";
import { fromByteString } from "./byte_string.ts";
import { DeliveryError } from "./delivery_error.ts";
import { dotQmailCandidates } from "./dot_qmail.ts";
import type { LocalContext, LocalMailbox } from "./local_context.ts";
import type { MaildirQuota } from "./quota.ts";

/** Who a local part belongs to: qmail-lspawn's six fields, plus qmd's virtual mailbox. */
export interface LocalUser {
  /** Byte string. */
  user: string;
  /** Text (a path). */
  home: string;
  /** Byte strings. */
  dash: string;
  ext: string;
  /** How it was found. */
  source: "assign" | "mailbox" | "domain" | "alias";
  /** The virtual mailbox, when the address is one (or one's -ext). */
  mailbox?: { maildir: string; quota: MaildirQuota };
}

function dirname(path: string): string {
  const trimmed = path.replace(/\/+$/, "");
  const slash = trimmed.lastIndexOf("/");
  return slash <= 0 ? "/" : trimmed.slice(0, slash);
}

function isRegularFile(path: string): boolean {
  try {
    return Deno.statSync(path).isFile;
  } catch {
    return false;
  }
}

function mailboxUser(
  mailbox: LocalMailbox,
  address: string,
  dash: string,
  ext: string,
): LocalUser {
  return {
    user: address,
    home: dirname(mailbox.maildir),
    dash,
    ext,
    source: "mailbox",
    mailbox: {
      maildir: mailbox.maildir,
      quota: { bytes: mailbox.quotaBytes, messages: mailbox.quotaMessages },
    },
  };
}

/**
 * A mailbox for `user` in `domain`: the exact name, else the longest prefix
 * ending before a `-` (user-ext, as qmail-getpw splits at conf-break).
 */
function findMailboxUser(
  context: LocalContext,
  domain: string,
  user: string,
): LocalUser | undefined {
  const exact = context.findMailbox(domain, fromByteString(user));
  if (exact) return mailboxUser(exact, `${asciiLower(user)}@${domain}`, "", "");
  for (let i = user.lastIndexOf("-"); i > 0; i = user.lastIndexOf("-", i - 1)) {
    const prefix = user.slice(0, i);
    const found = context.findMailbox(domain, fromByteString(prefix));
    if (found) return mailboxUser(found, `${asciiLower(prefix)}@${domain}`, "-", user.slice(i + 1));
  }
  return undefined;
}

/**
 * qmail-lspawn's lookup with qmd's fallbacks (§5.2, §5.3, §5.4): users/assign
 * (users/cdb, else the text file); a virtual mailbox (local = DOMAIN-user from
 * the virtualdomains prepend, or user for a domain in locals); the domain's
 * own .qmail-EXT / .qmail-default in HOME/mail/DOMAIN; else the alias user.
 */
export async function resolveLocalUser(
  context: LocalContext,
  local: string,
  domain: string,
): Promise<LocalUser> {
  let assigned: Assignment | undefined;
  let file = `${context.home}/users/cdb`;
  try {
    const source = await readAssignSource(context.home);
    if (source !== undefined) {
      file = source.file;
      assigned = lookupAssign(source.source, local);
    }
  } catch (error) {
    logWarning(`trouble reading ${file}: ${(error as Error).message}`, { file });
    const name = file.endsWith("/assign") ? "users/assign" : "users/cdb";
    throw new DeliveryError(true, `Trouble reading ${name} in qmail-lspawn.`, { cause: error });
  }
  if (assigned !== undefined) {
    const { user, home, dash, ext } = assigned;
    return { user, home: fromByteString(home), dash, ext, source: "assign" };
  }

  const domainName = asciiLower(domain);
  if (isValidHostname(domainName)) {
    const prepend = `${domainName}-`;
    const rest = asciiLower(local).startsWith(prepend) && local.length > prepend.length
      ? local.slice(prepend.length)
      : undefined;
    const user = findMailboxUser(context, domainName, rest ?? local);
    if (user) return user;
    if (rest !== undefined) {
      const domainHome = `${context.home}/mail/${domainName}`;
      for (const candidate of dotQmailCandidates("-", rest)) {
        if (isRegularFile(`${domainHome}/${fromByteString(candidate.name)}`)) {
          return { user: domainName, home: domainHome, dash: "-", ext: rest, source: "domain" };
        }
      }
    }
  }
  return { user: "alias", home: `${context.home}/alias`, dash: "-", ext: local, source: "alias" };
}
