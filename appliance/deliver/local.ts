/**
 * Local delivery: qmail-lspawn's checks and user lookup and qmail-local's
 * `.qmail` processing for one recipient (docs/queue-format.md §5.1–§5.5, §6),
 * turning a DeliveryJob into the K/Z/D report qmail-send expects.
 *
 * The parts: local_user.ts finds who the local part belongs to;
 * qmail_local.ts is qmail-local (dot_qmail_search.ts finds the .qmail file,
 * dot_qmail_lines.ts runs its lines, forward.ts forwards); local_report.ts
 * makes the report.
 */
import { EXIT } from "../exit_codes.ts";
import type { DeliveryJob, DeliveryReport } from "../ipc.ts";
import { logWarning, safeLogText } from "../log.ts";
import { toByteString } from "./byte_string.ts";
import { DeliveryError, errorText } from "./delivery_error.ts";
import type { LocalContext } from "./local_context.ts";
import { ADDRESS_NEEDS_HOST, formatLocalReport, MESSID_NONNUMERIC } from "./local_report.ts";
import { type LocalUser, resolveLocalUser } from "./local_user.ts";
import { runQmailLocal } from "./qmail_local.ts";
import { checkHome, findDotQmail } from "./dot_qmail_search.ts";
import { readSmallFileSync } from "../durable_file.ts";

/** Messages up to this size are read once: the loop check and each delivery use the bytes. */
const SMALL_MESSAGE_BYTES = 256 * 1024;

/**
 * The whole message file, or undefined (then each step reads the file
 * itself and reports its own error). A queue message never changes once
 * queued; one that grew past the size seen is left to the file path.
 */
function readSmallMessage(messagePath: string): Uint8Array | undefined {
  let file: Deno.FsFile;
  try {
    file = Deno.openSync(messagePath, { read: true });
  } catch {
    return undefined;
  }
  try {
    return readSmallFileSync(file, SMALL_MESSAGE_BYTES);
  } catch {
    return undefined;
  } finally {
    file.close();
  }
}

/**
 * One delivery, as qmail-lspawn + qmail-local: validate the command, find
 * the user, run the .qmail instructions, report K/Z/D.
 */
export async function deliverLocal(
  job: DeliveryJob,
  context: LocalContext,
): Promise<DeliveryReport> {
  const report = (code: number, output: string) => formatLocalReport(job.delivery, code, output);
  if (!/^[0-9][0-9/]*$/.test(job.mess) || job.mess.length > 100) {
    return report(EXIT.permanent, MESSID_NONNUMERIC + "\n");
  }
  const at = job.recipient.lastIndexOf("@");
  if (at < 0) return report(EXIT.permanent, ADDRESS_NEEDS_HOST + "\n");
  const messagePath = context.layout.messFromName(job.mess);
  let info: Deno.FileInfo;
  try {
    info = Deno.statSync(messagePath);
  } catch {
    return report(EXIT.temporary, "qmail-spawn unable to open message. (#4.3.0)\n");
  }
  if (!info.isFile) return report(EXIT.temporary, "Sorry, message has wrong type. (#4.3.5)\n");
  const local = job.recipient.slice(0, at);
  const domain = job.recipient.slice(at + 1);
  if (local === "") return report(EXIT.ok, ""); // the trash can (§5.2 step 1)

  let user: LocalUser;
  try {
    user = await resolveLocalUser(context, local, domain);
  } catch (error) {
    if (error instanceof DeliveryError) {
      return report(EXIT.temporary, toByteString(error.message) + "\n");
    }
    logWarning(`user lookup for ${safeLogText(job.recipient)} failed: ${errorText(error)}`);
    return report(EXIT.temporary, "Temporary failure in qmail-lspawn.\n");
  }
  const defaultDelivery = toByteString(
    user.mailbox !== undefined
      ? `${user.mailbox.maildir.replace(/\/+$/, "")}/\n`
      : context.defaultDelivery ?? "./Maildir/\n",
  );
  const result = await runQmailLocal({
    user,
    local,
    domain,
    sender: job.sender,
    defaultDelivery,
    messagePath,
    message: info.size <= SMALL_MESSAGE_BYTES ? readSmallMessage(messagePath) : undefined,
  }, context);
  return report(result.code, result.output);
}

/**
 * Whether deliverLocal would take `recipient` (an address as the local
 * channel records it) instead of bouncing it with qmail-local's "no mailbox
 * here" (realrcptto, recipientchk 1: docs/patches.md). The same steps as a
 * delivery, up to the .qmail search: the trash can, the user lookup
 * (users/assign, virtual mailboxes, the domain's .qmail files, the alias
 * user), the home's checks, then a .qmail file for the extension; an
 * address without an extension takes its default delivery. Nothing is
 * created: a virtual mailbox whose home does not exist yet has no .qmail
 * files. Rejects (a DeliveryError, temporary) where the delivery would be
 * deferred, so the caller answers "try later" rather than guess.
 */
export async function wouldDeliverLocal(
  recipient: string,
  context: LocalContext,
): Promise<boolean> {
  const at = recipient.lastIndexOf("@");
  if (at < 0) return false;
  const local = recipient.slice(0, at);
  if (local === "") return true;
  const user = await resolveLocalUser(context, local, recipient.slice(at + 1));
  if (user.dash === "") return true;
  if (user.mailbox !== undefined && !isDirectory(user.home)) return false;
  const absent = checkHome(user.home, false);
  return findDotQmail(user.home, user.dash, user.ext, absent) !== undefined;
}

function isDirectory(path: string): boolean {
  try {
    return Deno.statSync(path).isDirectory;
  } catch {
    return false;
  }
}
