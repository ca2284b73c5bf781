/**
 * `qmd init [--home DIR] [--me HOST]`: creates what is missing of a working
 * home (control files, users/, the alias user, mail/, queue/); never
 * overwrites a file that exists.
 */
import { parseCommand, usageError } from "./args.ts";
import { resolveHome } from "../../config/home.ts";
import { defaultMe, initHome } from "../home/init_home.ts";
import { isValidHostname } from "../accounts/address.ts";

const NAME = "qmd init";

const USAGE = `usage: qmd init [--home DIR] [--me HOST]

Creates what is missing of a qmd home: control/ (me, defaultdomain,
plusdomain, locals, rcpthosts, and servercert.pem: a private key and a
self-signed certificate for me), users/assign, alias/ with .qmail-postmaster,
.qmail-mailer-daemon and .qmail-root, mail/, and queue/ with qmail's
directories and modes. Existing files are never changed.

  --home DIR   the home (default: $QMD_HOME, else ./qmd-home)
  --me HOST    this host's fully qualified name for control/me
               (default: the host name if it has a dot, else localhost)
`;

export async function main(args: string[]): Promise<number> {
  const parsed = parseCommand({
    name: NAME,
    usage: USAGE,
    options: { home: { type: "string" }, me: { type: "string" } },
    positionals: false,
  }, args);
  if (!parsed.ok) return parsed.exitCode;
  const me = parsed.values.me?.toLowerCase();
  if (me !== undefined && !isValidHostname(me)) {
    return usageError(NAME, `--me ${JSON.stringify(parsed.values.me)} is not a host name`);
  }
  const home = resolveHome(parsed.values.home);
  let created: string[];
  try {
    ({ created } = await initHome(home, { me }));
  } catch (error) {
    console.error(`${NAME}: fatal: ${(error as Error).message}`);
    return 111;
  }
  if (created.length === 0) {
    console.log(`${NAME}: ${home} is complete; nothing to create`);
    return 0;
  }
  const queue = created.filter((path) => path.startsWith("queue/"));
  for (const path of created) {
    if (!path.startsWith("queue/")) console.log(`${NAME}: created ${home}/${path}`);
  }
  if (queue.length > 0) {
    console.log(`${NAME}: created ${queue.length} queue entries under ${home}/queue`);
  }
  const hostname = Deno.hostname();
  if (me === undefined && created.includes("control/me") && defaultMe(hostname) === "localhost") {
    console.log(
      `${NAME}: the host name ${JSON.stringify(hostname)} has no domain, so control/me is ` +
        `localhost; use --me HOST on a new home to name this host`,
    );
  }
  return 0;
}
