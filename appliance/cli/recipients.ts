/**
 * `qmd recipients [--home DIR]`: qmail-recipients (docs/patches.md seed 001).
 * Compiles HOME/users/recipients, one address or `!@domain` a line, into
 * HOME/users/recipients.cdb (fastforward's `:address` keys; via .tmp, fsync,
 * rename), which control/recipients can then list for recipientchk 2. On any
 * problem it prints one line naming the file and exits 111, leaving the old
 * cdb in place.
 */
import { parseCommand } from "./args.ts";
import { findHomeProblem, resolveHome } from "../../config/home.ts";
import { errorText } from "../deliver/delivery_error.ts";
import { compileRecipients } from "../../config/recipient_checks.ts";
import { buildCdb } from "../../config/cdb.ts";
import { replaceFile } from "../durable_file.ts";
import { EXIT } from "../exit_codes.ts";

const NAME = "qmd recipients";

const USAGE = `usage: qmd recipients [--home DIR]

Compiles HOME/users/recipients into HOME/users/recipients.cdb, as
qmail-recipients does: one address a line (an address without @ is
user@localhost), !@domain for every address of a domain, # comments. List
users/recipients.cdb in control/recipients to refuse other recipients at
RCPT (recipientchk 2). Exit 0 on success, 111 on any error (the old cdb
stays).

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
  const sourcePath = `${home}/users/recipients`;
  const cdbPath = `${home}/users/recipients.cdb`;
  let bytes: Uint8Array;
  try {
    bytes = await Deno.readFile(sourcePath);
  } catch (error) {
    console.error(`${NAME}: fatal: unable to read ${sourcePath}: ${errorText(error)}`);
    return EXIT.temporary;
  }
  try {
    let text = "";
    for (let i = 0; i < bytes.length; i += 8192) {
      text += String.fromCharCode(...bytes.subarray(i, i + 8192));
    }
    const records = compileRecipients(text);
    await replaceFile(cdbPath, buildCdb(records));
    console.log(`${NAME}: wrote ${cdbPath} (${records.length} addresses)`);
    return EXIT.ok;
  } catch (error) {
    console.error(`${NAME}: fatal: unable to write ${cdbPath}: ${(error as Error).message}`);
    return EXIT.temporary;
  }
}
