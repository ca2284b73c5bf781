/**
 * qmail-local for one recipient (docs/queue-format.md §5.5, §6): checks the
 * home, refuses loops, finds the .qmail file, runs its lines and forwards,
 * and answers with its exit code and what it printed, as qmail-lspawn reads
 * them (local_report.ts).
 */
import { EXIT, type FailureExitCode } from "../exit_codes.ts";
import { exitCodeFor } from "../mail_error.ts";
import { stringToBytes } from "../bytes.ts";
import { logWarning } from "../log.ts";
import { fromByteString, toByteString } from "./byte_string.ts";
import { hasDeliveredToLine, messageHasDeliveredToLine } from "./delivered_to.ts";
import { DeliveryError, errorText } from "./delivery_error.ts";
import { formatNewSender, ownerFileNames, parseDotQmail } from "./dot_qmail.ts";
import { deliverDotQmailLines } from "./dot_qmail_lines.ts";
import { checkHome, findDotQmail, ownerExists } from "./dot_qmail_search.ts";
import { forwardMessage } from "./forward.ts";
import { formatDeliveredTo, formatFromLine, formatReturnPath } from "./headers.ts";
import type { LocalContext } from "./local_context.ts";
import type { LocalUser } from "./local_user.ts";
import { formatProgramEnvironment } from "./program.ts";

/** qmail-local's report texts (§6.1, §6.2). */
export const NO_MAILBOX = "Sorry, no mailbox here by that name. (#5.1.1)";
export const LOOPING = "This message is looping: it already has my Delivered-To line. (#5.4.6)";

/** qmail-local's arguments (§5.2 step 4), with qmd's virtual mailbox. */
export interface QmailLocalRun {
  user: LocalUser;
  /** Recipient local part and domain, original case. */
  local: string;
  domain: string;
  sender: string;
  defaultDelivery: string;
  messagePath: string;
  /** The message file's bytes, when deliverLocal read them (small messages). */
  message?: Uint8Array;
}

/** qmail-local's result: its exit code (0, 100, 111) and everything it and its programs printed. */
export interface QmailLocalResult {
  code: typeof EXIT.ok | FailureExitCode;
  output: string;
}

/**
 * qmail-local (§5.5, §6): checks the home, refuses loops, finds the .qmail
 * file, runs its lines in order (file and program deliveries at once,
 * forwards collected and injected once at the end) and prints `did F+W+P`.
 */
export async function runQmailLocal(
  run: QmailLocalRun,
  context: LocalContext,
): Promise<QmailLocalResult> {
  let output = "";
  const { user, local, domain, sender, messagePath } = run;
  try {
    const absent = checkHome(user.home, user.mailbox !== undefined);
    const now = context.now();
    const dtline = formatDeliveredTo(local, domain);
    const rpline = formatReturnPath(sender);
    const ufline = formatFromLine(sender, now);
    const dtlineBytes = stringToBytes(dtline);

    try {
      const looping = run.message !== undefined
        ? messageHasDeliveredToLine(run.message, dtlineBytes)
        : await hasDeliveredToLine(messagePath, dtlineBytes);
      if (looping) throw new DeliveryError(false, LOOPING);
    } catch (error) {
      if (error instanceof DeliveryError) throw error;
      throw new DeliveryError(true, `Unable to read message: ${errorText(error)}. (#4.3.0)`, {
        cause: error,
      });
    }

    const owners = ownerFileNames(user.dash, user.ext);
    const newSender = formatNewSender(sender, local, domain, {
      owner: sender !== "" && sender !== "#@[]" && ownerExists(user.home, owners.owner, absent),
      ownerDefault: sender !== "" && sender !== "#@[]" &&
        ownerExists(user.home, owners.ownerDefault, absent),
    });

    const found = findDotQmail(user.home, user.dash, user.ext, absent);
    if (found === undefined && user.dash !== "") throw new DeliveryError(false, NO_MAILBOX);
    let forwardOnly = found?.forwardOnly ?? false;
    let text = found?.text ?? run.defaultDelivery;
    if (found !== undefined && found.text === "") {
      text = run.defaultDelivery;
      forwardOnly = false;
    }

    const lines = await deliverDotQmailLines(parseDotQmail(text), {
      user,
      context,
      messagePath,
      message: run.message,
      now,
      dtline: dtlineBytes,
      rpline: stringToBytes(rpline),
      ufline: stringToBytes(ufline),
      forwardOnly,
      programEnvironment: () => ({
        ...context.env,
        ...formatProgramEnvironment({
          user: fromByteString(user.user),
          home: user.home,
          local: fromByteString(local),
          host: fromByteString(domain),
          sender: fromByteString(sender),
          newSender: fromByteString(newSender),
          ext: fromByteString(user.ext),
          defaultPart: found?.defaultPart === undefined
            ? undefined
            : fromByteString(found.defaultPart),
          dtline: fromByteString(dtline),
          rpline: fromByteString(rpline),
          ufline: fromByteString(ufline),
        }),
      }),
      print: (text) => {
        output += text;
      },
    });
    if (lines.exit !== undefined) return { code: lines.exit, output };

    let qp: string | undefined;
    if (lines.forwards.length > 0) {
      qp = await forwardMessage(context, dtlineBytes, messagePath, newSender, lines.forwards);
    }
    output += `did ${lines.files}+${lines.forwards.length}+${lines.programs}\n`;
    if (qp !== undefined) output += `qp ${qp}\n`;
    return { code: EXIT.ok, output };
  } catch (error) {
    if (error instanceof DeliveryError) {
      return {
        code: exitCodeFor(error),
        output: output + toByteString(error.message) + "\n",
      };
    }
    logWarning(`local delivery failed unexpectedly: ${errorText(error)}`);
    return {
      code: EXIT.temporary,
      output: output + "Temporary failure in qmail-local. (#4.3.0)\n",
    };
  }
}
