/**
 * `qmd admin passwd` and `qmd admin token`: the admin console's password
 * and its API bearer tokens (admin/admin_state.ts). Both secrets are
 * printed once and stored only as hashes; a lost one is replaced, never
 * shown again.
 */
import { parseCommand, usageError } from "./args.ts";
import { findHomeProblem, resolveHome } from "../../config/home.ts";
import { addAdminToken, randomAdminPassword, setAdminPassword } from "../admin/admin_state.ts";
import { checkPassword } from "../accounts/mailbox.ts";
import { readPasswordLine } from "./user.ts";
import { EXIT } from "../exit_codes.ts";

const NAME = "qmd admin";

const USAGE = `usage: qmd admin passwd [--home DIR] [--password-stdin]
       qmd admin token [--home DIR] [--name NAME]

  passwd   set the admin console's password: the first line of stdin with
           --password-stdin, else a new random one, printed once
  token    make a bearer token for the console's JSON API and /metrics,
           printed once (a token with the same name is replaced; default
           name: api)
  --home DIR   the home (default: $QMD_HOME, else ./qmd-home)
`;

/** The line that shows a new admin password, once (qmd init, qmd start, qmd admin passwd). */
export function formatAdminPasswordLine(password: string): string {
  return `admin password: ${password}   (shown once; change it with qmd admin passwd)`;
}

export async function main(
  args: string[],
  stdin: ReadableStream<Uint8Array> = Deno.stdin.readable,
): Promise<number> {
  const [subcommand, ...rest] = args;
  if (subcommand === "--help" || subcommand === "-h") {
    console.log(USAGE.trimEnd());
    return EXIT.ok;
  }
  if (subcommand !== "passwd" && subcommand !== "token") {
    return usageError(
      NAME,
      subcommand === undefined
        ? "expected passwd or token"
        : `unknown subcommand ${JSON.stringify(subcommand)}`,
    );
  }
  const parsed = parseCommand({
    name: `${NAME} ${subcommand}`,
    usage: USAGE,
    positionals: false,
    options: {
      home: { type: "string" },
      "password-stdin": { type: "boolean" },
      name: { type: "string" },
    },
  }, rest);
  if (!parsed.ok) return parsed.exitCode;
  const home = resolveHome(parsed.values.home);
  const problem = findHomeProblem(home);
  if (problem !== undefined) {
    console.error(`${NAME}: ${problem}`);
    return EXIT.permanent;
  }
  if (subcommand === "token") {
    if (parsed.values["password-stdin"]) {
      return usageError(`${NAME} token`, "--password-stdin is for passwd");
    }
    let token: string;
    try {
      token = addAdminToken(home, parsed.values.name ?? "api");
    } catch (error) {
      return usageError(`${NAME} token`, (error as Error).message);
    }
    console.log(token);
    console.error(
      `${NAME}: token ${JSON.stringify(parsed.values.name ?? "api")} made; it is shown once: ` +
        `send it as Authorization: Bearer TOKEN`,
    );
    return EXIT.ok;
  }
  if (parsed.values.name !== undefined) return usageError(`${NAME} passwd`, "--name is for token");
  let password: string | undefined;
  if (parsed.values["password-stdin"]) {
    password = await readPasswordLine(stdin);
    if (!password) return usageError(`${NAME} passwd`, "no password on stdin");
    try {
      checkPassword(password);
    } catch (error) {
      return usageError(`${NAME} passwd`, (error as Error).message);
    }
  }
  const chosen = password ?? randomAdminPassword();
  setAdminPassword(home, chosen);
  if (password === undefined) console.log(formatAdminPasswordLine(chosen));
  else console.log(`${NAME}: changed the admin password`);
  return EXIT.ok;
}

if (import.meta.main) Deno.exit(await main(Deno.args));
