/**
 * The whole-message refusals at DATA (docs/patches.md seed 003 patch 5, seed
 * 001's QMAILRRTDENYALL): once a recipient of the transaction was refused as
 * a badrcptto address, the client is taken for a spammer and the message is
 * refused, even for the recipients that were accepted; the same after a
 * recipient refused for a domain not in rcpthosts, where the client asks for
 * it (BADRCPTHOSTSEEN: seeds 000 and 001, the later patches, keep qmail's
 * delivery to the accepted recipients). With QMAILRRTDENYALL, recipients
 * realrcptto found no mailbox for were answered 250 (so they cannot be probed
 * one by one) and the message is refused here instead. The session lists the
 * transaction's refused recipients in FilterRequest.refusedRecipients. Pure.
 */
import { type FilterCheck, PASS, type RefusedRecipient } from "./filter.ts";

/** Seed 003's replies, exactly (qmail's trailing code, as realrcptto's reply has it). */
export const REPLY_BAD_RCPT_TO_SEEN =
  "553 sorry, badrcptto seen, so you MUST be spamming. (#5.1.1)";
export const REPLY_BAD_RCPT_HOST_SEEN =
  "553 sorry, badrcpthost seen, so you MUST be spamming. (#5.1.1)";
/** realrcptto's refusal, given at DATA under QMAILRRTDENYALL (seed 003's realrcptto_deny). */
export const REPLY_NO_MAILBOX_DENY_ALL = "550 sorry, no mailbox here by that name. (#5.1.1)";

export interface WholeMessageSettings {
  /** Seed 003's refusal after a badrcptto refusal (on; off with NOBADRCPTSEEN). */
  spamSeen: boolean;
  /** Seed 003's refusal after an rcpthosts refusal (off; on with BADRCPTHOSTSEEN). */
  relaySeen: boolean;
  /** QMAILRRTDENYALL is set. */
  denyAll: boolean;
}

/** Which refused recipients lead to which reply, in seed 003's order. */
function firstRefusal(
  refused: readonly RefusedRecipient[],
  settings: WholeMessageSettings,
): { recipient: RefusedRecipient; reply: string; source?: string } | undefined {
  const find = (checks: readonly string[]) => refused.find((each) => checks.includes(each.check));
  if (settings.denyAll) {
    const unknown = find(["realrcptto"]);
    if (unknown !== undefined) {
      return { recipient: unknown, reply: REPLY_NO_MAILBOX_DENY_ALL, source: "QMAILRRTDENYALL" };
    }
  }
  const bad = settings.spamSeen ? find(["badrcptto"]) : undefined;
  if (bad !== undefined) return { recipient: bad, reply: REPLY_BAD_RCPT_TO_SEEN };
  const foreign = settings.relaySeen ? find(["rcpthosts"]) : undefined;
  if (foreign !== undefined) return { recipient: foreign, reply: REPLY_BAD_RCPT_HOST_SEEN };
  return undefined;
}

export const wholeMessageCheck: FilterCheck<WholeMessageSettings> = {
  name: "wholemessage",
  phases: ["data"],
  check(request, settings) {
    const refusal = firstRefusal(request.refusedRecipients ?? [], settings);
    if (refusal === undefined) return PASS;
    const { recipient, reply, source } = refusal;
    return {
      kind: "refuse",
      reply: [reply],
      rule: {
        check: "wholemessage",
        ...(source === undefined ? {} : { source }),
        entry: `${recipient.check}: ${recipient.recipient}`,
      },
      scope: "transaction",
    };
  },
};
