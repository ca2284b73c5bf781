/**
 * badrcptto (docs/patches.md seed 003, patch 3): a recipient listed in
 * control/badrcptto is refused at RCPT, even where a .qmail-default would
 * take it, for clients that do not relay (the seed checks it only without
 * RELAYCLIENT). The refusal is logged as the seed logs it, and marks the
 * transaction for the whole-message refusal (whole_message.ts). Pure.
 */
import { type FilterCheck, PASS } from "./filter.ts";
import { type ListCheckSettings, listRefusal, matchLists } from "./list_check.ts";

/**
 * The seed shows the call (err_brt) but not its text; this is the badrcptto
 * patch's wording, in qmail's form like seed 003's other replies.
 */
export const REPLY_BAD_RCPT_TO = "553 sorry, mail to that recipient is not accepted (#5.7.1)";

export const badrcpttoCheck: FilterCheck<ListCheckSettings> = {
  name: "badrcptto",
  phases: ["rcpt"],
  check(request, settings) {
    const recipient = request.recipient;
    if (recipient === undefined) return PASS;
    const hit = matchLists(settings, request, recipient, { address: true });
    if (hit === undefined) return PASS;
    // Seed 003 logs every hit, whatever control/log/bmchecks says.
    const log = `badrcptto: ${recipient} at ${request.remoteIp}`;
    return listRefusal(REPLY_BAD_RCPT_TO, "badrcptto", hit, log);
  },
};
