/**
 * `qmd newu [--home DIR]`: qmail-newu. Compiles HOME/users/assign into
 * HOME/users/cdb (via users/cdb.tmp, fsync, rename; docs/queue-format.md §5.3).
 * On any problem it prints one line naming the file (and line) and exits 111,
 * leaving the old users/cdb in place.
 */
import { compileAssign, parseAssign } from "../../config/users.ts";
import { compileUsersCdb } from "./users_cdb.ts";

const NAME = "qmd newu";

const USAGE = `usage: qmd newu [--home DIR]

Compiles HOME/users/assign into HOME/users/cdb, as qmail-newu does. Run it
after every change to users/assign. The file must end with a line holding a
single ".". Exit 0 on success, 111 on any error (the old cdb stays).

  --home DIR   the home (default: $QMD_HOME, else ./qmd-home)
`;

export function main(args: string[]): Promise<number> {
  return compileUsersCdb({
    name: NAME,
    usage: USAGE,
    source: "assign",
    target: "cdb",
    compile: (text, path) => {
      const entries = parseAssign(text, path);
      return { records: compileAssign(entries), summary: `${entries.length} assignments` };
    },
  }, args);
}
