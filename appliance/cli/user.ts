/**
 * `qmd user add|del|passwd|quota|rename|list`: virtual mailboxes in
 * HOME/accounts.sqlite, each with a Maildir under HOME/mail/DOMAIN/USER.
 * Passwords come from the first line of stdin and are never printed or logged.
 *
 * `--challenge-auth` also stores the password itself, which CRAM-MD5,
 * CRAM-SHA1, CRAM-RIPEMD and DIGEST-MD5 need on the server; without it only
 * the scrypt hash is kept and those mechanisms fail for the mailbox.
 */
import { reloadRunningQmd, signalRunningQmd } from "../home/running.ts";
import { otherSubcommand, parseCommand, usageError } from "./args.ts";
import { findHomeProblem, resolveHome } from "../../config/home.ts";
import { AccountError, parseMailboxAddress } from "../accounts/account_names.ts";
import { formatSize, parseSize } from "../accounts/sizes.ts";
import type { MaildirUsage } from "../deliver/quota.ts";
import { applyQuotaToMaildir, readMailboxUsage } from "./mailbox_usage.ts";
import { type AliasEntry, listAliases } from "../aliases/alias_files.ts";
import type { Mailbox } from "../accounts/mailbox.ts";
import { AccountStore } from "../accounts/store.ts";
import { provisionMailbox, renameProvisionedMailbox } from "../accounts/provision.ts";
import { describeMisdelivery, traceDelivery } from "../aliases/delivery_trace.ts";
import { fileExists } from "../durable_file.ts";
import { EXIT } from "../exit_codes.ts";
import { exitCodeFor } from "../mail_error.ts";

const NAME = "qmd user";

const USAGE = `usage: qmd user add ADDRESS --password-stdin [--challenge-auth] [--quota SIZE]
                [--quota-messages N]
       qmd user passwd ADDRESS --password-stdin [--challenge-auth]
       qmd user quota ADDRESS SIZE [--messages N]
       qmd user rename OLD NEW
       qmd user del ADDRESS
       qmd user list [--json] [--domain DOMAIN]

Virtual mailboxes user@domain. add creates HOME/mail/DOMAIN/USER/Maildir and
adds the domain first when it is new (as qmd domain add does). del removes
the account but keeps the Maildir on disk. The password is the first line of
stdin. All subcommands take --home DIR (default: $QMD_HOME, else ./qmd-home).

quota sets the Maildir++ quota deliveries enforce: SIZE in bytes or with K,
M, G (powers of 1024), 0 or none for no limit; --messages N limits the count
(0: none). rename moves the account and its directory HOME/mail/DOMAIN/USER
together; NEW must not exist and its domain must. list shows each mailbox's
usage (its maildirsize, else the sizes of its messages).

Passwords are kept as scrypt hashes, enough for AUTH PLAIN and LOGIN and for
USER/PASS. --challenge-auth also stores the password itself (in the 0600
accounts database), because CRAM-MD5, CRAM-SHA1, CRAM-RIPEMD and DIGEST-MD5
need it on the server. passwd without --challenge-auth removes it again.
`;

/** Longest stdin accepted for a password (the first line is used). */
const MAX_STDIN = 64 * 1024;

/** Exit codes: 64 an invalid name, else 100 a permanent refusal (AccountError), 111 the rest. */
function commandExitCode(error: unknown): number {
  if (error instanceof AccountError && error.kind === "invalid") return EXIT.usage;
  return exitCodeFor(error);
}

function fail(error: unknown, name = NAME): number {
  const message = error instanceof Error ? error.message : String(error);
  console.error(`${name}: ${error instanceof AccountError ? "" : "fatal: "}${message}`);
  return commandExitCode(error);
}

/** The first line of stdin (without CR LF), or undefined when stdin is empty. */
export async function readPasswordLine(
  stdin: ReadableStream<Uint8Array>,
): Promise<string | undefined> {
  const chunks: Uint8Array[] = [];
  let size = 0;
  const reader = stdin.getReader();
  try {
    while (size < MAX_STDIN) {
      const { value, done } = await reader.read();
      if (done) break;
      chunks.push(value);
      size += value.length;
      if (value.includes(0x0a)) break;
    }
  } finally {
    await reader.cancel().catch(() => {});
  }
  const bytes = new Uint8Array(size);
  let offset = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, offset);
    offset += chunk.length;
  }
  const text = new TextDecoder().decode(bytes);
  if (text === "") return undefined;
  return text.split("\n", 1)[0].replace(/\r$/, "");
}

function parseCount(value: string | undefined, flag: string): number | undefined | string {
  if (value === undefined) return undefined;
  if (!/^\d+$/.test(value) || !Number.isSafeInteger(Number(value))) {
    return `${flag} ${JSON.stringify(value)} is not a whole number`;
  }
  return Number(value);
}

/** --quota SIZE (sizes.ts), or a message for usageError. */
function parseQuotaFlag(value: string | undefined): number | undefined | string {
  if (value === undefined) return undefined;
  try {
    return parseSize(value);
  } catch (error) {
    return `--quota: ${(error as Error).message}`;
  }
}

/** `100M, 1000 messages`, or `none`. */
function describeQuota(mailbox: Mailbox): string {
  const parts = [
    mailbox.quotaBytes > 0 ? formatSize(mailbox.quotaBytes) : undefined,
    mailbox.quotaMessages > 0 ? `${mailbox.quotaMessages} messages` : undefined,
  ].filter((part) => part !== undefined);
  return parts.length > 0 ? parts.join(", ") : "none";
}

/** The home's aliases for a note; none when a .qmail file cannot be read (the rename stands). */
function aliasesOrNone(home: string): AliasEntry[] {
  try {
    return listAliases(home);
  } catch {
    return [];
  }
}

/** Says when mail to `mailbox` would not reach its Maildir (a users/assign entry, a route). */
async function warnOfMisdelivery(store: AccountStore, mailbox: Mailbox): Promise<void> {
  let warning: string | undefined;
  try {
    const trace = await traceDelivery(store, mailbox.address);
    warning = describeMisdelivery(mailbox.address, mailbox.maildir, trace);
  } catch (error) {
    // The mailbox is there; only the check could not run (a broken control file).
    warning = `cannot tell where mail to ${mailbox.address} goes: ${(error as Error).message}`;
  }
  if (warning !== undefined) console.log(`${NAME}: warning: ${warning}`);
}

function formatMailbox(mailbox: Mailbox, usage: MaildirUsage) {
  return {
    address: mailbox.address,
    domain: mailbox.domain,
    user: mailbox.user,
    maildir: mailbox.maildir,
    quotaBytes: mailbox.quotaBytes,
    quotaMessages: mailbox.quotaMessages,
    challengeAuth: mailbox.challengeAuth,
    usageBytes: usage.bytes,
    usageMessages: usage.messages,
  };
}

export async function main(
  args: string[],
  stdin: ReadableStream<Uint8Array> = Deno.stdin.readable,
): Promise<number> {
  const [subcommand, ...rest] = args;
  const home = { home: { type: "string" } } as const;
  switch (subcommand) {
    case "add": {
      const parsed = parseCommand({
        name: `${NAME} add`,
        usage: USAGE,
        options: {
          ...home,
          "password-stdin": { type: "boolean" },
          "challenge-auth": { type: "boolean" },
          quota: { type: "string" },
          "quota-messages": { type: "string" },
        },
      }, rest);
      if (!parsed.ok) return parsed.exitCode;
      if (parsed.positionals.length !== 1) return usageError(`${NAME} add`, "expected one ADDRESS");
      if (!parsed.values["password-stdin"]) {
        return usageError(`${NAME} add`, "give the password on stdin with --password-stdin");
      }
      const quotaBytes = parseQuotaFlag(parsed.values.quota);
      const quotaMessages = parseCount(parsed.values["quota-messages"], "--quota-messages");
      if (typeof quotaBytes === "string") return usageError(`${NAME} add`, quotaBytes);
      if (typeof quotaMessages === "string") return usageError(`${NAME} add`, quotaMessages);
      const password = await readPasswordLine(stdin);
      if (!password) return usageError(`${NAME} add`, "no password on stdin");
      return withStore(parsed.values.home, false, async (store) => {
        const { mailbox, domain } = provisionMailbox(store, parsed.positionals[0], password, {
          quotaBytes,
          quotaMessages,
          challengeAuth: parsed.values["challenge-auth"] ?? false,
        });
        if (domain?.database) {
          const parts = [
            "database",
            domain.rcpthosts ? "control/rcpthosts" : undefined,
            domain.virtualdomains ? "control/virtualdomains" : undefined,
          ].filter((part) => part !== undefined);
          console.log(`${NAME}: domain ${domain.domain} was new: added it (${parts.join(", ")})`);
          for (const note of domain.notes) console.log(`${NAME}: note: ${note}`);
          if (domain.virtualdomains) {
            reloadRunningQmd(store.home, NAME);
          }
        }
        // A first challenge secret: a running qmd starts offering CRAM and DIGEST-MD5.
        if (mailbox.challengeAuth && !domain?.virtualdomains) {
          signalRunningQmd(store.home, "SIGHUP");
        }
        console.log(
          `${NAME}: added ${mailbox.address}, Maildir ${mailbox.maildir}` +
            (mailbox.challengeAuth ? ", challenge auth on" : ""),
        );
        await warnOfMisdelivery(store, mailbox);
        return EXIT.ok;
      });
    }
    case "passwd": {
      const parsed = parseCommand({
        name: `${NAME} passwd`,
        usage: USAGE,
        options: {
          ...home,
          "password-stdin": { type: "boolean" },
          "challenge-auth": { type: "boolean" },
        },
      }, rest);
      if (!parsed.ok) return parsed.exitCode;
      if (parsed.positionals.length !== 1) {
        return usageError(`${NAME} passwd`, "expected one ADDRESS");
      }
      if (!parsed.values["password-stdin"]) {
        return usageError(`${NAME} passwd`, "give the password on stdin with --password-stdin");
      }
      const password = await readPasswordLine(stdin);
      if (!password) return usageError(`${NAME} passwd`, "no password on stdin");
      return withStore(parsed.values.home, false, (store) => {
        const challengeAuth = parsed.values["challenge-auth"] ?? false;
        store.setPassword(parsed.positionals[0], password, { challengeAuth });
        // The AUTH mechanisms a running qmd offers follow the challenge secrets.
        signalRunningQmd(store.home, "SIGHUP");
        console.log(
          `${NAME}: changed the password of ${parsed.positionals[0].toLowerCase()}; ` +
            `challenge auth ${challengeAuth ? "on" : "off"}`,
        );
        return EXIT.ok;
      });
    }
    case "del": {
      const parsed = parseCommand({ name: `${NAME} del`, usage: USAGE, options: home }, rest);
      if (!parsed.ok) return parsed.exitCode;
      if (parsed.positionals.length !== 1) return usageError(`${NAME} del`, "expected one ADDRESS");
      return withStore(parsed.values.home, false, (store) => {
        const address = parsed.positionals[0];
        const at = address.lastIndexOf("@");
        const mailbox = at < 0
          ? undefined
          : store.findMailbox(address.slice(at + 1), address.slice(0, at));
        store.deleteMailbox(address);
        // A running qmd reloads: the challenge mechanisms, and realrcptto's remembered "yes".
        if (mailbox !== undefined) signalRunningQmd(store.home, "SIGHUP");
        console.log(
          `${NAME}: deleted ${mailbox?.address ?? address}; ` +
            `its mail stays on disk in ${mailbox?.maildir}`,
        );
        return EXIT.ok;
      });
    }
    case "quota": {
      const parsed = parseCommand({
        name: `${NAME} quota`,
        usage: USAGE,
        options: { ...home, messages: { type: "string" } },
      }, rest);
      if (!parsed.ok) return parsed.exitCode;
      if (parsed.positionals.length !== 2) {
        return usageError(`${NAME} quota`, "expected ADDRESS and SIZE");
      }
      let quotaBytes: number;
      try {
        quotaBytes = parseSize(parsed.positionals[1]);
      } catch (error) {
        return usageError(`${NAME} quota`, (error as Error).message);
      }
      const quotaMessages = parseCount(parsed.values.messages, "--messages");
      if (typeof quotaMessages === "string") return usageError(`${NAME} quota`, quotaMessages);
      return withStore(parsed.values.home, false, async (store) => {
        const { user, domain } = parseMailboxAddress(parsed.positionals[0]);
        store.setQuota(`${user}@${domain}`, { quotaBytes, quotaMessages });
        const mailbox = store.findMailbox(domain, user)!;
        await applyQuotaToMaildir(store.home, mailbox);
        console.log(`${NAME}: quota of ${mailbox.address}: ${describeQuota(mailbox)}`);
        return EXIT.ok;
      });
    }
    case "rename": {
      const parsed = parseCommand({ name: `${NAME} rename`, usage: USAGE, options: home }, rest);
      if (!parsed.ok) return parsed.exitCode;
      if (parsed.positionals.length !== 2) {
        return usageError(`${NAME} rename`, "expected OLD and NEW addresses");
      }
      return withStore(parsed.values.home, false, async (store) => {
        const { from, to, moved } = renameProvisionedMailbox(
          store,
          parsed.positionals[0],
          parsed.positionals[1],
        );
        // The local and pop3d roles look mailboxes up in the database; a reload
        // also drops any cached notion of the old name.
        signalRunningQmd(store.home, "SIGHUP");
        console.log(
          `${NAME}: renamed ${from.address} to ${to.address}; ` +
            (moved ? `its mail is now in ${to.maildir}` : `made ${to.maildir}`),
        );
        await warnOfMisdelivery(store, to);
        for (const alias of aliasesOrNone(store.home)) {
          if (!alias.forwards.some((target) => target.toLowerCase() === from.address)) continue;
          console.log(
            `${NAME}: note: ${alias.address} still forwards to ${from.address} ` +
              `(${alias.path}); qmd alias add ${alias.address} ${to.address} and ` +
              `qmd alias del ${alias.address} ${from.address} move it`,
          );
        }
        return EXIT.ok;
      });
    }
    case "list": {
      const parsed = parseCommand({
        name: `${NAME} list`,
        usage: USAGE,
        options: { ...home, json: { type: "boolean" }, domain: { type: "string" } },
        positionals: false,
      }, rest);
      if (!parsed.ok) return parsed.exitCode;
      const homeDir = resolveHome(parsed.values.home);
      const problem = findHomeProblem(homeDir);
      if (problem !== undefined) return homeError(problem);
      if (!fileExists(`${homeDir}/accounts.sqlite`)) {
        if (parsed.values.json) console.log("[]");
        return EXIT.ok;
      }
      return withStore(parsed.values.home, true, async (store) => {
        const mailboxes = store.listMailboxes(parsed.values.domain);
        const usages: MaildirUsage[] = [];
        for (const mailbox of mailboxes) usages.push(await readMailboxUsage(mailbox.maildir));
        if (parsed.values.json) {
          const rows = mailboxes.map((mailbox, i) => formatMailbox(mailbox, usages[i]));
          console.log(JSON.stringify(rows, null, 2));
        } else {
          for (const [i, mailbox] of mailboxes.entries()) {
            const quota = mailbox.quotaBytes || mailbox.quotaMessages
              ? `\tquota ${mailbox.quotaBytes}S,${mailbox.quotaMessages}C`
              : "";
            const challenge = mailbox.challengeAuth ? "\tchallenge-auth" : "";
            const used = `\tused ${formatSize(usages[i].bytes)} in ${usages[i].messages} messages`;
            console.log(`${mailbox.address}\t${mailbox.maildir}${used}${quota}${challenge}`);
          }
        }
        return EXIT.ok;
      });
    }
    default:
      return otherSubcommand(NAME, USAGE, subcommand, "add, del, passwd, quota, rename or list");
  }
}

/** A home that is missing or not a qmd home: one line, exit 100 (retrying cannot help). */
export function homeError(problem: string, name = NAME): number {
  console.error(`${name}: ${problem}`);
  return EXIT.permanent;
}

/** Opens the home's store, runs `fn`, closes; errors become one line and an exit code. */
export async function withStore(
  homeFlag: string | undefined,
  readonly: boolean,
  fn: (store: AccountStore) => number | Promise<number>,
  name = NAME,
): Promise<number> {
  const home = resolveHome(homeFlag);
  const problem = findHomeProblem(home);
  if (problem !== undefined) return homeError(problem, name);
  let store: AccountStore;
  try {
    store = AccountStore.open(home, { readonly });
  } catch (error) {
    return fail(error, name);
  }
  try {
    return await fn(store);
  } catch (error) {
    return fail(error, name);
  } finally {
    store.close();
  }
}
