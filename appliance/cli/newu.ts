/**
 * `qmd newu [--home DIR]`: qmail-newu. Compiles HOME/users/assign into
 * HOME/users/cdb (via users/cdb.tmp, fsync, rename; docs/queue-format.md §5.3).
 * On any problem it prints one line naming the file (and line) and exits 111,
 * leaving the old users/cdb in place.
 */
import { parseCommand } from "./args.ts";
import { findHomeProblem, resolveHome } from "../../config/home.ts";
import { errorText } from "../deliver/delivery_error.ts";
import { compileAssign, parseAssign } from "../../config/users.ts";
import { buildCdb } from "../../config/cdb.ts";
import { replaceFile } from "../durable_file.ts";
import { EXIT } from "../exit_codes.ts";

const NAME = "qmd newu";

const USAGE = `usage: qmd newu [--home DIR]

Compiles HOME/users/assign into HOME/users/cdb, as qmail-newu does. Run it
after every change to users/assign. The file must end with a line holding a
single ".". Exit 0 on success, 111 on any error (the old cdb stays).

  --home DIR   the home (default: $QMD_HOME, else ./qmd-home)
`;

export async function main(args: string[]): Promise<number> {
  const parsed = parseCommand({
    name: NAME,
    usage: USAGE,
    options: { home: { type: "string" } },
    positionals: false,
  }, args);
  if (!parsed.ok) return parsed.exitCode;
  const home = resolveHome(parsed.values.home);
  const problem = findHomeProblem(home, "users");
  if (problem !== undefined) {
    console.error(`${NAME}: fatal: ${problem}`);
    return EXIT.temporary;
  }
  const assignPath = `${home}/users/assign`;
  const cdbPath = `${home}/users/cdb`;
  let bytes: Uint8Array;
  try {
    bytes = await Deno.readFile(assignPath);
  } catch (error) {
    console.error(`${NAME}: fatal: unable to read ${assignPath}: ${errorText(error)}`);
    return EXIT.temporary;
  }
  try {
    let text = "";
    for (let i = 0; i < bytes.length; i += 8192) {
      text += String.fromCharCode(...bytes.subarray(i, i + 8192));
    }
    const entries = parseAssign(text, assignPath);
    await replaceFile(cdbPath, buildCdb(compileAssign(entries)));
    console.log(`${NAME}: wrote ${cdbPath} (${entries.length} assignments)`);
    return EXIT.ok;
  } catch (error) {
    console.error(`${NAME}: fatal: ${(error as Error).message}`);
    return EXIT.temporary;
  }
}
