/**
 * badhelo (docs/patches.md seed 000 README.bmchecks; badheloext/int of seed
 * 001): a HELO/EHLO argument matching a line is refused. Pure.
 */
import { type FilterCheck, PASS } from "./filter.ts";
import { bmcheckLog, type ListCheckSettings, listRefusal, matchLists } from "./list_check.ts";

/** Seed 000's reply. */
export const REPLY_BAD_HELO = "553 5.7.1 sorry, your helo or ehlo is incorrect";

export const badheloCheck: FilterCheck<ListCheckSettings> = {
  name: "badhelo",
  phases: ["helo"],
  check(request, settings) {
    const helo = request.helo;
    if (helo === undefined) return PASS;
    const hit = matchLists(settings, request, helo, { address: false });
    if (hit === undefined) return PASS;
    const log = settings.log ? bmcheckLog("badhelo", hit, `helo(${helo})`) : undefined;
    // README.bmchecks: "gets tarpitted with" the reply.
    return listRefusal(REPLY_BAD_HELO, "badhelo", hit, log, { tarpitted: true });
  },
};
