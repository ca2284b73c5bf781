/**
 * goodmailfrom (docs/patches.md seed 000): a sender matching a line is
 * accepted at once, so the sender checks after it in the chain (badmailfrom,
 * mfcheck) are not asked. Pure.
 */
import { type FilterCheck, PASS } from "./filter.ts";
import { bmcheckLog, hitRule, type ListCheckSettings, matchLists, withLog } from "./list_check.ts";

export const goodmailfromCheck: FilterCheck<ListCheckSettings> = {
  name: "goodmailfrom",
  phases: ["mail"],
  check(request, settings) {
    const sender = request.sender;
    if (sender === undefined) return PASS;
    const hit = matchLists(settings, request, sender, { address: true });
    if (hit === undefined) return PASS;
    const log = settings.log ? bmcheckLog("goodmailfrom", hit, `<${sender}>`) : undefined;
    return withLog({ kind: "accept", rule: hitRule("goodmailfrom", hit) }, log);
  },
};
