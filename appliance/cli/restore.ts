/**
 * `qmd restore DIR`: put a backup made by `qmd backup` into a home
 * (appliance/backup/restore_backup.ts).
 */
import { resolveHome } from "../../config/home.ts";
import { restoreBackup } from "../backup/restore_backup.ts";
import { EXIT } from "../exit_codes.ts";
import { exitCodeFor } from "../mail_error.ts";
import { parseCommand, usageError } from "./args.ts";

const NAME = "qmd restore";

const USAGE = `usage: qmd restore DIR [--force] [--home DIR]

Checks every file of the backup in DIR against its qmd-backup.json, then
writes it into the home (default $QMD_HOME, else ./qmd-home), completes the
home as qmd init does, and copies the backup's queued messages in under new
numbers. Refuses a home qmd is running on, a home that is not empty unless
--force (which writes over the backup's files and leaves the others), and a
queue that still holds messages.`;

export async function main(args: string[]): Promise<number> {
  const parsed = parseCommand({
    name: NAME,
    usage: USAGE,
    options: { home: { type: "string" }, force: { type: "boolean" } },
  }, args);
  if (!parsed.ok) return parsed.exitCode;
  if (parsed.positionals.length !== 1) return usageError(NAME, "expected one DIR");
  const home = resolveHome(parsed.values.home);
  const dir = resolveHome(parsed.positionals[0]);
  try {
    const result = await restoreBackup(dir, home, { force: parsed.values.force ?? false });
    const accounts = result.manifest.accounts;
    console.log(
      `${NAME}: restored ${dir} (made ${result.manifest.created}) into ${home}: ` +
        `${result.files} files` +
        (accounts
          ? `, the accounts database (${accounts.domains} domains, ` +
            `${accounts.mailboxes} mailboxes)`
          : "") +
        (result.manifest.queue ? `, ${result.queueMessages} queued messages` : ""),
    );
    return EXIT.ok;
  } catch (error) {
    console.error(`${NAME}: ${(error as Error).message}`);
    return exitCodeFor(error);
  }
}
