/**
 * A virtual mailbox's Maildir++ state for the admin commands: how much it
 * holds (`qmd user list`) and its maildirsize brought in step with a new
 * quota (`qmd user quota`), with the reading and recounting rules of
 * deliver/quota.ts, the code deliveries enforce the quota with.
 */
import {
  type MaildirUsage,
  measureMaildir,
  parseMaildirsize,
  recalculateMaildirsize,
} from "../deliver/quota.ts";
import { fileExists, removeIfPresentSync } from "../durable_file.ts";
import { giveToHomeOwner } from "../home_owner.ts";
import type { Mailbox } from "../accounts/mailbox.ts";

/**
 * The usage of `maildir`: the sums in its maildirsize when that file parses
 * (what deliveries check against), else the sizes of the messages in new/
 * and cur/ of the Maildir and its folders, except .Trash. A missing Maildir
 * holds nothing.
 */
export async function readMailboxUsage(maildir: string): Promise<MaildirUsage> {
  try {
    const parsed = parseMaildirsize(await Deno.readTextFile(`${maildir}/maildirsize`));
    if (parsed !== undefined) return parsed.usage;
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  }
  if (!fileExists(maildir)) return { bytes: 0, messages: 0 };
  return await measureMaildir(maildir);
}

/**
 * Brings the mailbox's maildirsize in step with its (new) quota, so IMAP
 * servers and other Maildir++ readers see it at once: with a limit, the file
 * is rewritten with the definition and a fresh count; with none, it is
 * removed (no maildirsize = no quota, as Courier reads it). Deliveries would
 * make the same change at the next message; this only makes it now.
 */
export async function applyQuotaToMaildir(home: string, mailbox: Mailbox): Promise<void> {
  const path = `${mailbox.maildir}/maildirsize`;
  if (mailbox.quotaBytes === 0 && mailbox.quotaMessages === 0) {
    removeIfPresentSync(path);
    return;
  }
  if (!fileExists(mailbox.maildir)) return;
  await recalculateMaildirsize(
    mailbox.maildir,
    { bytes: mailbox.quotaBytes, messages: mailbox.quotaMessages },
    new Date(),
  );
  giveToHomeOwner(home, [path]);
}
