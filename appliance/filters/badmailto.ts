/**
 * badmailto (docs/patches.md seed 000 README.bmchecks, seed 002;
 * badmailtoext/int of seed 001): a recipient matching a line is refused at
 * RCPT with seed 000's reply. Pure.
 */
import { type FilterCheck, PASS } from "./filter.ts";
import { bmcheckLog, type ListCheckSettings, listRefusal, matchLists } from "./list_check.ts";

/** Seed 000's reply. */
export const REPLY_BAD_MAIL_TO = "553 5.7.1 sorry, your envelope recipient has been denied";

export const badmailtoCheck: FilterCheck<ListCheckSettings> = {
  name: "badmailto",
  phases: ["rcpt"],
  check(request, settings) {
    const recipient = request.recipient;
    if (recipient === undefined) return PASS;
    const hit = matchLists(settings, request, recipient, { address: true });
    if (hit === undefined) return PASS;
    const log = settings.log ? bmcheckLog("badmailto", hit, `<${recipient}>`) : undefined;
    // README.bmchecks: "the client gets tarpitted with this error".
    return listRefusal(REPLY_BAD_MAIL_TO, "badmailto", hit, log, { tarpitted: true });
  },
};
