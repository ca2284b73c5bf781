/**
 * What `qmd newu` and `qmd recipients` share: read one file of HOME/users,
 * compile it into cdb records and replace its cdb durably (via .tmp, fsync,
 * rename). On any problem one line naming the file goes to stderr and the
 * exit is 111, leaving the old cdb in place.
 */
import { parseCommand } from "./args.ts";
import { findHomeProblem, resolveHome } from "../../config/home.ts";
import { errorText } from "../deliver/delivery_error.ts";
import { buildCdb, type CdbRecord } from "../../config/cdb.ts";
import { bytesToString } from "../bytes.ts";
import { replaceFile } from "../durable_file.ts";
import { giveToHomeOwner } from "../home_owner.ts";
import { EXIT } from "../exit_codes.ts";

export interface UsersCdbCommand {
  name: string;
  usage: string;
  /** The source and the cdb, relative to HOME/users. */
  source: string;
  target: string;
  /**
   * The cdb's records and the count for the success line ("12 addresses");
   * throws with a message naming the file (and line) for a broken source.
   */
  compile(text: string, path: string): { records: CdbRecord[]; summary: string };
}

export async function compileUsersCdb(command: UsersCdbCommand, args: string[]): Promise<number> {
  const { name } = command;
  const parsed = parseCommand({
    name,
    usage: command.usage,
    options: { home: { type: "string" } },
    positionals: false,
  }, args);
  if (!parsed.ok) return parsed.exitCode;
  const home = resolveHome(parsed.values.home);
  const problem = findHomeProblem(home, "users");
  if (problem !== undefined) {
    console.error(`${name}: fatal: ${problem}`);
    return EXIT.temporary;
  }
  const sourcePath = `${home}/users/${command.source}`;
  const cdbPath = `${home}/users/${command.target}`;
  let bytes: Uint8Array;
  try {
    bytes = await Deno.readFile(sourcePath);
  } catch (error) {
    console.error(`${name}: fatal: unable to read ${sourcePath}: ${errorText(error)}`);
    return EXIT.temporary;
  }
  let compiled: { records: CdbRecord[]; summary: string };
  try {
    compiled = command.compile(bytesToString(bytes), sourcePath);
  } catch (error) {
    console.error(`${name}: fatal: ${(error as Error).message}`);
    return EXIT.temporary;
  }
  try {
    await replaceFile(cdbPath, buildCdb(compiled.records));
    giveToHomeOwner(home, [cdbPath]);
  } catch (error) {
    console.error(`${name}: fatal: unable to write ${cdbPath}: ${(error as Error).message}`);
    return EXIT.temporary;
  }
  console.log(`${name}: wrote ${cdbPath} (${compiled.summary})`);
  return EXIT.ok;
}
