/**
 * `qmd recipients [--home DIR]`: qmail-recipients (docs/patches.md seed 001).
 * Compiles HOME/users/recipients, one address or `!@domain` a line, into
 * HOME/users/recipients.cdb (fastforward's `:address` keys; via .tmp, fsync,
 * rename), which control/recipients can then list for recipientchk 2. On any
 * problem it prints one line naming the file and exits 111, leaving the old
 * cdb in place.
 */
import { compileRecipients } from "../../config/recipient_checks.ts";
import { compileUsersCdb } from "./users_cdb.ts";

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

export function main(args: string[]): Promise<number> {
  return compileUsersCdb({
    name: NAME,
    usage: USAGE,
    source: "recipients",
    target: "recipients.cdb",
    compile: (text) => {
      const records = compileRecipients(text);
      return { records, summary: `${records.length} addresses` };
    },
  }, args);
}
