/**
 * The list checks as filter modules (filter_modules.ts): badhelo,
 * badrmhost, goodmailfrom, badmailfrom, badmailto, badrcptto, reqbrackets,
 * datechecks and the whole-message refusal (docs/patches.md seeds 000–003),
 * each with its control files (config/filter_lists.ts) and its environment
 * switches, resolved per client:
 *
 * | check        | files (scope)                                                  | switches                                              |
 * | ------------ | -------------------------------------------------------------- | ----------------------------------------------------- |
 * | badhelo      | badhelo (all), badheloext (ext), badheloint (int)              | NO_BADHELO / NOBADHELO, BADHELO=file, NOBADHELOEXT/INT |
 * | badrmhost    | badrmhostext (ext), badrmhostint (int)                         | NOBADRMHOSTEXT, NOBADRMHOSTINT                        |
 * | goodmailfrom | goodmailfrom (all)                                             | NO_GOODMAILFROM, GOODMAILFROM=file                    |
 * | badmailfrom  | badmailfrom (ext), badmailfromext (ext), badmailfromint (int)  | NO_BADMAILFROM, BADMAILFROM=file, NOBADMAILFROMEXT/INT |
 * | badmailto    | badmailto (all), badmailtoext (ext), badmailtoint (int)        | NO_BADMAILTO, BADMAILTO=file, NOBADMAILTOEXT/INT      |
 * | badrcptto    | badrcptto (ext)                                                | NOBADRCPTTO (qmd's)                                   |
 *
 * ext: clients that do not relay; int: clients that relay (seed 001). A
 * variable switches a file off when it is set at all, even empty, as
 * qmail's env_get tests it. control/badmailfrom applies to clients that do
 * not relay only: seed 003's exemption of trusted clients (seed 000 applies
 * it to all; relaying clients' senders go in badmailfromint).
 */
import { patternError } from "../filters/bm_patterns.ts";
import { badheloCheck } from "../filters/badhelo.ts";
import { badmailfromCheck } from "../filters/badmailfrom.ts";
import { badmailtoCheck } from "../filters/badmailto.ts";
import { badrcpttoCheck } from "../filters/badrcptto.ts";
import { badrmhostCheck } from "../filters/badrmhost.ts";
import { datechecksCheck, type DatechecksSettings } from "../filters/datechecks.ts";
import { goodmailfromCheck } from "../filters/goodmailfrom.ts";
import type { ListCheckSettings, ListScope, ScopedList } from "../filters/list_check.ts";
import { reqbracketsCheck, type ReqBracketsSettings } from "../filters/reqbrackets.ts";
import { wholeMessageCheck, type WholeMessageSettings } from "../filters/whole_message.ts";
import { ControlError } from "../../config/control.ts";
import {
  type BmListControls,
  controlFileName,
  type DatechecksControls,
  loadBmListControls,
  loadDatechecksControls,
  loadReqBrackets,
} from "../../config/filter_lists.ts";
import { type FilterClient, filterModule } from "./filter_module.ts";

/**
 * Reads the list files and checks every line is a usable pattern
 * (ControlError: file and line). A file only found by its name
 * (config/filter_lists.ts) with a bad line is left out instead.
 */
export function loadListControls(home: string): BmListControls {
  const controls = loadBmListControls(home);
  for (const [name, list] of Object.entries(controls.lists)) {
    for (const entry of list.lines) {
      const error = patternError(entry.value);
      if (error === undefined) continue;
      if (list.scanned) {
        delete controls.lists[name];
        break;
      }
      throw new ControlError(`${home}/control/${name}`, entry.line, error);
    }
  }
  return controls;
}

/** One file of a check: its default name, its scope, its off switches, the variable naming another file. */
interface ListFile {
  file: string;
  scope: ListScope;
  off: readonly string[];
  other?: string;
}

/** The lists of `files` on for this client (left out when switched off, absent or empty). */
export function scopedLists(
  controls: BmListControls,
  files: readonly ListFile[],
  env: Readonly<Record<string, string>>,
): ScopedList[] {
  const lists: ScopedList[] = [];
  for (const { file, scope, off, other } of files) {
    if (off.some((name) => name in env)) continue;
    const named = other === undefined ? undefined : env[other];
    // qmail-md opens the named file instead; one qmd could not read counts as empty, as a missing file does.
    const name = named ? controlFileName(controls.home, named) : file;
    const list = name === undefined ? undefined : controls.lists[name];
    if (list !== undefined && list.lines.length > 0) lists.push({ list, scope });
  }
  return lists;
}

function listSettings(
  controls: BmListControls,
  files: readonly ListFile[],
  client: FilterClient,
): ListCheckSettings | undefined {
  const lists = scopedLists(controls, files, client.env);
  return lists.length === 0 ? undefined : { lists, log: controls.log };
}

/** A bmchecks module over these files. */
function listModule(check: typeof badheloCheck, files: readonly ListFile[]) {
  return filterModule<BmListControls, ListCheckSettings>({
    check,
    load: loadListControls,
    settings: (controls, client) => listSettings(controls, files, client),
  });
}

export const BADHELO_FILES: readonly ListFile[] = [
  // Seed 000 spells the switch NO_BADHELO, seed 002 NOBADHELO: either turns the file off.
  { file: "badhelo", scope: "all", off: ["NO_BADHELO", "NOBADHELO"], other: "BADHELO" },
  { file: "badheloext", scope: "ext", off: ["NOBADHELOEXT"] },
  { file: "badheloint", scope: "int", off: ["NOBADHELOINT"] },
];

export const BADRMHOST_FILES: readonly ListFile[] = [
  { file: "badrmhostext", scope: "ext", off: ["NOBADRMHOSTEXT"] },
  // Seed 001 gives badrmhostint's switch as NOBADRMHOSTEXT (a copy of the line above); qmd reads
  // NOBADRMHOSTINT, the name its other ...int switches follow, so each file has its own switch.
  { file: "badrmhostint", scope: "int", off: ["NOBADRMHOSTINT"] },
];

export const GOODMAILFROM_FILES: readonly ListFile[] = [
  { file: "goodmailfrom", scope: "all", off: ["NO_GOODMAILFROM"], other: "GOODMAILFROM" },
];

export const BADMAILFROM_FILES: readonly ListFile[] = [
  { file: "badmailfrom", scope: "ext", off: ["NO_BADMAILFROM"], other: "BADMAILFROM" },
  { file: "badmailfromext", scope: "ext", off: ["NOBADMAILFROMEXT"] },
  { file: "badmailfromint", scope: "int", off: ["NOBADMAILFROMINT"] },
];

export const BADMAILTO_FILES: readonly ListFile[] = [
  { file: "badmailto", scope: "all", off: ["NO_BADMAILTO"], other: "BADMAILTO" },
  { file: "badmailtoext", scope: "ext", off: ["NOBADMAILTOEXT"] },
  { file: "badmailtoint", scope: "int", off: ["NOBADMAILTOINT"] },
];

export const BADRCPTTO_FILES: readonly ListFile[] = [
  // Seed 003 checks badrcptto only without RELAYCLIENT and has no switch; NOBADRCPTTO is qmd's.
  { file: "badrcptto", scope: "ext", off: ["NOBADRCPTTO"] },
];

export const BADHELO_MODULE = listModule(badheloCheck, BADHELO_FILES);
export const BADRMHOST_MODULE = listModule(badrmhostCheck, BADRMHOST_FILES);
export const GOODMAILFROM_MODULE = listModule(goodmailfromCheck, GOODMAILFROM_FILES);
export const BADMAILFROM_MODULE = listModule(badmailfromCheck, BADMAILFROM_FILES);
export const BADMAILTO_MODULE = listModule(badmailtoCheck, BADMAILTO_FILES);
export const BADRCPTTO_MODULE = listModule(badrcpttoCheck, BADRCPTTO_FILES);

export const REQBRACKETS_MODULE = filterModule<boolean, ReqBracketsSettings>({
  check: reqbracketsCheck,
  load: loadReqBrackets,
  settings: (required) => required ? { source: "control/reqbrackets" } : undefined,
});

export const DATECHECKS_MODULE = filterModule<DatechecksControls, DatechecksSettings>({
  check: datechecksCheck,
  load: loadDatechecksControls,
  settings: (controls) =>
    controls.checks.length === 0
      ? undefined
      : { source: "control/datechecks", checks: controls.checks, log: controls.log },
});

export const WHOLE_MESSAGE_MODULE = filterModule<null, WholeMessageSettings>({
  check: wholeMessageCheck,
  load: () => null,
  settings: (_controls, client) => {
    // NOBADRCPTSEEN and BADRCPTHOSTSEEN are qmd's: seed 003's refusal has no switch there.
    const spamSeen = !("NOBADRCPTSEEN" in client.env);
    const relaySeen = "BADRCPTHOSTSEEN" in client.env;
    const denyAll = "QMAILRRTDENYALL" in client.env;
    return spamSeen || relaySeen || denyAll ? { spamSeen, relaySeen, denyAll } : undefined;
  },
});
