/**
 * `qmd domain add|del|list`: virtual domains, as vpopmail's vadddomain and
 * vdeldomain keep them for qmail: a row in HOME/accounts.sqlite, a line in
 * control/rcpthosts and a line `domain:domain` in control/virtualdomains.
 */
import { reloadRunningQmd } from "../home/running.ts";
import { otherSubcommand, parseCommand, usageError } from "./args.ts";
import { findHomeProblem, resolveHome } from "../../config/home.ts";
import type { DomainChange } from "../accounts/provision.ts";
import { provisionDomain, unprovisionDomain } from "../accounts/provision.ts";
import { homeError, withStore } from "./user.ts";
import { fileExists } from "../durable_file.ts";
import { EXIT } from "../exit_codes.ts";
import { readControlLine } from "../../config/control.ts";
import { formatZone } from "./dns_records.ts";
import { planFor } from "./dns.ts";

const NAME = "qmd domain";

const USAGE = `usage: qmd domain add DOMAIN
       qmd domain del DOMAIN [--force]
       qmd domain list [--json]

add puts DOMAIN in the account database, control/rcpthosts and
control/virtualdomains (as DOMAIN:DOMAIN) and makes HOME/mail/DOMAIN, then
prints the DNS records to publish (as qmd dns DOMAIN); running it again
repairs what is missing. del removes those entries; it refuses while
the domain has mailboxes unless --force, which removes the mailboxes from the
database too. Mail on disk is never deleted. All subcommands take --home DIR
(default: $QMD_HOME, else ./qmd-home).
`;

function report(change: DomainChange, verb: "added" | "removed", home: string): void {
  const parts = [
    change.database ? "database" : undefined,
    change.rcpthosts ? "control/rcpthosts" : undefined,
    change.virtualdomains ? "control/virtualdomains" : undefined,
  ].filter((part) => part !== undefined);
  if (parts.length === 0) {
    console.log(`${NAME}: ${change.domain} is already set up; nothing to change`);
  } else {
    console.log(`${NAME}: ${verb} ${change.domain} (${parts.join(", ")})`);
  }
  for (const note of change.notes) console.log(`${NAME}: note: ${note}`);
  if (change.virtualdomains) {
    reloadRunningQmd(home, NAME);
  }
}

/** The records `qmd dns DOMAIN` prints (DKIM too when keys exist), for the operator to publish. */
function printDnsRecords(home: string, domain: string): void {
  const host = readControlLine(home, "me")?.trim();
  if (host === undefined || host === "") return;
  console.log(
    `${NAME}: the DNS records mail for ${domain} needs (qmd dns check ${domain} checks them):`,
  );
  console.log(formatZone(planFor(home, domain, host)).trimEnd());
}

export async function main(args: string[]): Promise<number> {
  const [subcommand, ...rest] = args;
  const home = { home: { type: "string" } } as const;
  switch (subcommand) {
    case "add": {
      const parsed = parseCommand({ name: `${NAME} add`, usage: USAGE, options: home }, rest);
      if (!parsed.ok) return parsed.exitCode;
      if (parsed.positionals.length !== 1) return usageError(`${NAME} add`, "expected one DOMAIN");
      return await withStore(parsed.values.home, false, (store) => {
        const change = provisionDomain(store, parsed.positionals[0]);
        report(change, "added", store.home);
        printDnsRecords(store.home, change.domain);
        return EXIT.ok;
      }, NAME);
    }
    case "del": {
      const parsed = parseCommand({
        name: `${NAME} del`,
        usage: USAGE,
        options: { ...home, force: { type: "boolean" } },
      }, rest);
      if (!parsed.ok) return parsed.exitCode;
      if (parsed.positionals.length !== 1) return usageError(`${NAME} del`, "expected one DOMAIN");
      return await withStore(parsed.values.home, false, (store) => {
        const change = unprovisionDomain(store, parsed.positionals[0], {
          force: parsed.values.force,
        });
        report(change, "removed", store.home);
        if (change.mailboxesRemoved.length > 0) {
          console.log(
            `${NAME}: removed ${change.mailboxesRemoved.length} mailbox` +
              `${change.mailboxesRemoved.length === 1 ? "" : "es"} from the database ` +
              `(${change.mailboxesRemoved.map((m) => m.address).join(", ")}); ` +
              `their mail stays on disk under ${store.home}/mail/${change.domain}`,
          );
        }
        return EXIT.ok;
      }, NAME);
    }
    case "list": {
      const parsed = parseCommand({
        name: `${NAME} list`,
        usage: USAGE,
        options: { ...home, json: { type: "boolean" } },
        positionals: false,
      }, rest);
      if (!parsed.ok) return parsed.exitCode;
      const homeDir = resolveHome(parsed.values.home);
      const problem = findHomeProblem(homeDir);
      if (problem !== undefined) return homeError(problem, NAME);
      if (!fileExists(`${homeDir}/accounts.sqlite`)) {
        if (parsed.values.json) console.log("[]");
        return EXIT.ok;
      }
      return await withStore(parsed.values.home, true, (store) => {
        const domains = store.listDomains().map((domain) => ({
          domain,
          mailboxes: store.listMailboxes(domain).length,
        }));
        if (parsed.values.json) console.log(JSON.stringify(domains, null, 2));
        else for (const d of domains) console.log(`${d.domain}\t${d.mailboxes} mailboxes`);
        return EXIT.ok;
      }, NAME);
    }
    default:
      return otherSubcommand(NAME, USAGE, subcommand, "add, del or list");
  }
}
