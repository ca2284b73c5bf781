/**
 * `qmd alias add|del|list`: forwarding addresses, kept as qmail keeps them:
 * `&address` lines in the .qmail file that mail to the alias reads
 * (alias_files.ts says which file). Local delivery reads them at every
 * message, so a change needs no reload.
 */
import { findHomeProblem, resolveHome } from "../../config/home.ts";
import { EXIT } from "../exit_codes.ts";
import { listAliases } from "../aliases/alias_files.ts";
import { addAlias, deleteAlias } from "../aliases/alias_change.ts";
import { otherSubcommand, parseCommand, usageError } from "./args.ts";
import { homeError, withStore } from "./user.ts";

const NAME = "qmd alias";

const USAGE = `usage: qmd alias add ADDRESS TARGET...
       qmd alias del ADDRESS [TARGET...]
       qmd alias list [--json] [--domain DOMAIN]

An alias forwards mail for ADDRESS to each TARGET, as a line &TARGET in a
.qmail file: HOME/mail/DOMAIN/.qmail-USER for a virtual domain,
HOME/alias/.qmail-USER for a domain in control/locals. default@DOMAIN is the
catch-all (.qmail-default). add appends the targets not there yet. del
removes the named targets, or with none the whole file (only when it holds
nothing but forwards); a file left without lines is removed. An address that
users/assign or a mailbox claims is refused. All subcommands take --home DIR
(default: $QMD_HOME, else ./qmd-home).
`;

export async function main(args: string[]): Promise<number> {
  const [subcommand, ...rest] = args;
  const home = { home: { type: "string" } } as const;
  switch (subcommand) {
    case "add": {
      const parsed = parseCommand({ name: `${NAME} add`, usage: USAGE, options: home }, rest);
      if (!parsed.ok) return parsed.exitCode;
      const [address, ...targets] = parsed.positionals;
      if (targets.length === 0) return usageError(`${NAME} add`, "expected ADDRESS and TARGET");
      return await withStore(parsed.values.home, false, async (store) => {
        console.log(`${NAME}: ${await addAlias(store, address, targets)}`);
        return EXIT.ok;
      }, NAME);
    }
    case "del": {
      const parsed = parseCommand({ name: `${NAME} del`, usage: USAGE, options: home }, rest);
      if (!parsed.ok) return parsed.exitCode;
      const [address, ...targets] = parsed.positionals;
      if (address === undefined) return usageError(`${NAME} del`, "expected ADDRESS");
      return await withStore(parsed.values.home, false, async (store) => {
        console.log(`${NAME}: ${await deleteAlias(store, address, targets)}`);
        return EXIT.ok;
      }, NAME);
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
      if (problem !== undefined) return homeError(problem, NAME);
      let entries;
      try {
        entries = listAliases(homeDir, parsed.values.domain);
      } catch (error) {
        console.error(`${NAME}: ${(error as Error).message}`);
        return EXIT.temporary;
      }
      if (parsed.values.json) {
        console.log(JSON.stringify(entries, null, 2));
        return EXIT.ok;
      }
      for (const entry of entries) {
        const lines = [...entry.forwards, ...entry.other];
        console.log(`${entry.address}\t${lines.join(", ")}\t${entry.path}`);
      }
      return EXIT.ok;
    }
    default:
      return otherSubcommand(NAME, USAGE, subcommand, "add, del or list");
  }
}
