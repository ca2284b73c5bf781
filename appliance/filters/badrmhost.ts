/**
 * badrmhostext/int (docs/patches.md seed 001): a client whose TCPREMOTEHOST
 * matches a line is refused. The seed says only "reject every host"; qmd
 * refuses each MAIL, so the client can still say QUIT and a refusal names
 * the rule in the trace. A client with no known host name is not checked. Pure.
 */
import { type FilterCheck, PASS } from "./filter.ts";
import { bmcheckLog, type ListCheckSettings, listRefusal, matchLists } from "./list_check.ts";

/** qmd's wording: the seed gives none. */
export const REPLY_BAD_REMOTE_HOST = "553 5.7.1 sorry, your host has been denied";

export const badrmhostCheck: FilterCheck<ListCheckSettings> = {
  name: "badrmhost",
  phases: ["mail"],
  check(request, settings) {
    const host = request.remoteHost;
    if (host === undefined || host === "") return PASS;
    const hit = matchLists(settings, request, host, { address: false });
    if (hit === undefined) return PASS;
    const log = settings.log ? bmcheckLog("badrmhost", hit, `host(${host})`) : undefined;
    return listRefusal(REPLY_BAD_REMOTE_HOST, "badrmhost", hit, log);
  },
};
