/**
 * `qmd init [--home DIR] [--me HOST]`: creates what is missing of a working
 * home (control files, users/, the alias user, mail/, queue/); never
 * overwrites a file that exists. With --me on a home that has a control/me,
 * it changes the name as config-fast would, in the files init itself wrote
 * (change_me.ts), and says what it changed.
 */
import { parseCommand, usageError } from "./args.ts";
import { resolveHome } from "../../config/home.ts";
import { InitError, initHome } from "../home/init_home.ts";
import { giveToHomeOwner } from "../home_owner.ts";
import { changeMe } from "../home/change_me.ts";
import { isValidHostname } from "../accounts/account_names.ts";
import { errorText } from "../deliver/delivery_error.ts";
import { EXIT } from "../exit_codes.ts";
import { formatAdminPasswordLine } from "./admin.ts";

const NAME = "qmd init";

const USAGE = `usage: qmd init [--home DIR] [--me HOST]

Creates what is missing of a qmd home: control/ (me, defaultdomain,
plusdomain, locals, rcpthosts, and servercert.pem: a private key and a
self-signed certificate for me), users/assign, alias/ with .qmail-postmaster,
.qmail-mailer-daemon and .qmail-root, mail/, and queue/ with qmail's
directories and modes. Existing files are never overwritten.

On a home that has a control/me, --me HOST renames the host as qmail's
config-fast does: control/me becomes HOST; defaultdomain, plusdomain and
servercert.pem follow while they are still what init made for the old name;
locals and rcpthosts gain HOST and keep the old name. Each change is printed.

  --home DIR   the home (default: $QMD_HOME, else ./qmd-home)
  --me HOST    this host's fully qualified name for control/me
               (default for a new home: the host name if it has a dot,
               else localhost)
`;

export async function main(args: string[]): Promise<number> {
  const parsed = parseCommand({
    name: NAME,
    usage: USAGE,
    options: { home: { type: "string" }, me: { type: "string" } },
    positionals: false,
  }, args);
  if (!parsed.ok) return parsed.exitCode;
  const me = parsed.values.me?.toLowerCase().replace(/\.$/, "");
  if (me !== undefined && !isValidHostname(me)) {
    return usageError(NAME, `--me ${JSON.stringify(parsed.values.me)} is not a host name`);
  }
  if (me !== undefined && !me.includes(".")) {
    // config-fast takes any name; other hosts expect a fully qualified one in HELO and bounces.
    console.error(
      `${NAME}: warning: ${me} has no dot; other mail hosts expect a fully qualified ` +
        `name such as mail.example.com`,
    );
  }
  const home = resolveHome(parsed.values.home);
  let created: string[];
  let notes: string[];
  let adminPassword: string | undefined;
  let changed: string[] = [];
  try {
    if (me !== undefined) changed = await changeMe(home, me);
    ({ created, notes, adminPassword } = await initHome(home, { me }));
    giveToHomeOwner(home, created.map((path) => `${home}/${path}`));
  } catch (error) {
    for (const line of changed) console.log(`${NAME}: ${line}`);
    if (error instanceof InitError && !error.temporary) {
      console.error(`${NAME}: ${error.message}`);
      return EXIT.permanent;
    }
    const message = error instanceof InitError ? error.message : errorText(error);
    console.error(`${NAME}: fatal: ${message}`);
    return EXIT.temporary;
  }
  for (const line of changed) console.log(`${NAME}: ${line}`);
  if (created.length === 0 && changed.length === 0 && adminPassword === undefined) {
    console.log(`${NAME}: ${home} is complete; nothing to create`);
  }
  const queue = created.filter((path) => path.startsWith("queue/"));
  for (const path of created) {
    if (!path.startsWith("queue/")) console.log(`${NAME}: created ${home}/${path}`);
  }
  if (queue.length > 0) {
    console.log(`${NAME}: created ${queue.length} queue entries under ${home}/queue`);
  }
  for (const note of notes) console.log(`${NAME}: note: ${note}`);
  if (adminPassword !== undefined) console.log(formatAdminPasswordLine(adminPassword));
  return EXIT.ok;
}
