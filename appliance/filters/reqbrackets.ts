/**
 * reqbrackets (docs/patches.md seed 000, md20: "defaults to 1 = yes"): MAIL
 * FROM and RCPT TO must give their address in angle brackets. qmail's parser
 * takes `MAIL FROM: a@b` (docs/queue-format.md §8.4); with reqbrackets on,
 * such a command is refused. Which argument counts as bracketed follows that
 * parser: one with a `<` anywhere. Pure.
 */
import { type FilterCheck, PASS } from "./filter.ts";

/** qmd's wording: the seed names the file only. */
export const REPLY_BRACKETS_REQUIRED = "555 5.5.4 syntax error, brackets required";

export interface ReqBracketsSettings {
  /** control/reqbrackets: the path as read, for the trace. */
  source: string;
}

export const reqbracketsCheck: FilterCheck<ReqBracketsSettings> = {
  name: "reqbrackets",
  phases: ["mail", "rcpt"],
  check(request, settings) {
    const argument = request.argument;
    if (argument === undefined || argument.includes("<")) return PASS;
    return {
      kind: "refuse",
      reply: [REPLY_BRACKETS_REQUIRED],
      rule: { check: "reqbrackets", source: settings.source, entry: argument },
    };
  },
};
