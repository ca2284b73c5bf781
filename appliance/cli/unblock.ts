/**
 * `qmd unblock IP|NAME`: lifts a failed-login block on the running appliance
 * at once, and forgets the failures behind it. An IP clears that IP's record
 * and those of every user name at it; a user name (an address, or a
 * checkpassword user) clears that name at every IP. The supervisor logs it
 * as auth_unblock.
 */
import { parseCommand, usageError } from "./args.ts";
import { resolveHome } from "../../config/home.ts";
import { askRunningQmd, parseBlockTarget, summariseRemoved } from "../home/login_blocks.ts";
import { EXIT } from "../exit_codes.ts";

const NAME = "qmd unblock";

const USAGE = `usage: qmd unblock [--home DIR] IP|NAME

Lifts a failed-login block (SMTP AUTH and POP3) on the running qmd and
forgets the failures behind it: an IP address clears that IP, including the
user names blocked at it; a user name (you@example.test) clears that name
at every IP. qmd status lists the blocks. Exits 111 when qmd is not running.
  --home DIR   the qmd home (default $QMD_HOME, else ./qmd-home)`;

export async function main(args: string[]): Promise<number> {
  const parsed = parseCommand({
    name: NAME,
    usage: USAGE,
    options: { home: { type: "string" } },
  }, args);
  if (!parsed.ok) return parsed.exitCode;
  if (parsed.positionals.length !== 1) return usageError(NAME, "give one IP address or user name");
  const target = parseBlockTarget(parsed.positionals[0]);
  if (target === undefined) {
    return usageError(NAME, `${JSON.stringify(parsed.positionals[0])} is not an IP or a user name`);
  }
  const home = resolveHome(parsed.values.home);
  const answer = await askRunningQmd(home, { kind: "unblock", target });
  if (!answer.ok) {
    console.error(`${NAME}: ${answer.reason}`);
    return EXIT.temporary;
  }
  const name = "ip" in target ? target.ip : JSON.stringify(target.account);
  const removed = answer.reply.removed ?? [];
  if (removed.length === 0) {
    console.log(`${NAME}: qmd (pid ${answer.pid}) had no failed logins for ${name}`);
    return EXIT.ok;
  }
  console.log(`${NAME}: ${name}: ${summariseRemoved(removed, answer.reply.now)}`);
  return EXIT.ok;
}
