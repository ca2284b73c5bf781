/**
 * badmailfrom (docs/patches.md seed 000 README.bmchecks, badmailfromext/int
 * of seed 001, Tom Clegg's wildcards of seed 003): a sender matching a line
 * is refused at MAIL with seed 000's reply. qmail 1.03 answers MAIL with 250
 * and refuses each RCPT instead (docs/queue-format.md §8.6); seed 000 moves
 * the refusal to MAIL, and qmd follows it (docs/patches.md "qmd's choices").
 * The empty sender `<>` is never checked (seed 001). Pure.
 */
import { type FilterCheck, PASS } from "./filter.ts";
import { bmcheckLog, type ListCheckSettings, listRefusal, matchLists } from "./list_check.ts";

/** Seed 000's reply. */
export const REPLY_BAD_MAIL_FROM = "553 5.7.1 sorry, your envelope sender has been denied";

export const badmailfromCheck: FilterCheck<ListCheckSettings> = {
  name: "badmailfrom",
  phases: ["mail"],
  check(request, settings) {
    const sender = request.sender;
    if (sender === undefined || sender === "") return PASS;
    const hit = matchLists(settings, request, sender, { address: true });
    if (hit === undefined) return PASS;
    const log = settings.log ? bmcheckLog("badmailfrom", hit, `<${sender}>`) : undefined;
    // README.bmchecks: "the client gets tarpitted with this error".
    return listRefusal(REPLY_BAD_MAIL_FROM, "badmailfrom", hit, log, { tarpitted: true });
  },
};
