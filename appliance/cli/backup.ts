/**
 * `qmd backup DIR`: copy what makes a home into a new directory, with a
 * manifest (appliance/backup/write_backup.ts says what goes in).
 */
import { findHomeProblem, resolveHome } from "../../config/home.ts";
import { writeBackup } from "../backup/write_backup.ts";
import { EXIT } from "../exit_codes.ts";
import { exitCodeFor } from "../mail_error.ts";
import { parseCommand, usageError } from "./args.ts";
import { homeError } from "./user.ts";

const NAME = "qmd backup";

const USAGE = `usage: qmd backup DIR [--queue] [--maildirs] [--home DIR]

Copies the home into DIR (new or empty), laid out as the home itself:
control/, users/, tcp.* rules and cdbs, accounts.lines, every .qmail file, and
the accounts database through SQLite's online backup (safe while qmd runs).
  --queue      also the queue (stop qmd first for an exact copy)
  --maildirs   also every Maildir (alias/ and mail/ whole)
DIR/qmd-backup.json, written last, lists every file with its size and SHA-256.
Restore with qmd restore DIR.`;

export async function main(args: string[]): Promise<number> {
  const parsed = parseCommand({
    name: NAME,
    usage: USAGE,
    options: {
      home: { type: "string" },
      queue: { type: "boolean" },
      maildirs: { type: "boolean" },
    },
  }, args);
  if (!parsed.ok) return parsed.exitCode;
  if (parsed.positionals.length !== 1) return usageError(NAME, "expected one DIR");
  const home = resolveHome(parsed.values.home);
  const problem = findHomeProblem(home);
  if (problem !== undefined) return homeError(problem, NAME);
  const dir = resolveHome(parsed.positionals[0]);
  try {
    const { manifest, skipped } = await writeBackup(home, dir, {
      queue: parsed.values.queue ?? false,
      maildirs: parsed.values.maildirs ?? false,
    }, new Date());
    // Counted as restore counts them: the queue's files go back message by message.
    const files = manifest.entries.filter((entry) =>
      entry.kind === "file" && !entry.path.startsWith("queue/")
    ).length;
    const parts = [
      `${files} files`,
      manifest.accounts
        ? `the accounts database (${manifest.accounts.domains} domains, ` +
          `${manifest.accounts.mailboxes} mailboxes)`
        : undefined,
      manifest.queueMessages !== undefined
        ? `${manifest.queueMessages} queued messages`
        : undefined,
    ].filter((part) => part !== undefined);
    console.log(`${NAME}: wrote ${dir}: ${parts.join(", ")}`);
    for (const path of skipped) console.log(`${NAME}: note: not copied: ${home}/${path}`);
    return EXIT.ok;
  } catch (error) {
    console.error(`${NAME}: ${(error as Error).message}`);
    return exitCodeFor(error);
  }
}
