/**
 * Reads the list checks' control files (the bmchecks, reqbrackets,
 * datechecks of appliance/filters/; docs/patches.md seeds 000–003) once per
 * reload, into plain data that crosses postMessage. Whether each line is a
 * usable pattern is the check's to say (appliance/policy/list_modules.ts
 * throws a ControlError naming the file and line); a datechecks line that is
 * not `prefix:days` throws here.
 *
 * BADHELO, BADMAILFROM, BADMAILTO and GOODMAILFROM (seed 000) name another
 * file for one client. qmail-smtpd opens it per connection; qmd reads the
 * candidates with the rest at reload, so a session never touches the disk:
 * every file those variables name in tcp.smtp (and in qmd's own environment,
 * when it may read it), and every other file in control/ whose name starts
 * with badhelo, badmailfrom, badmailto or goodmailfrom (for a variable set
 * where qmd cannot see it, such as the listener's environment). As
 * qmail-smtpd runs in its home, a relative name is taken from the home
 * (`control/badmailfrom-strict`); the file must lie in control/, the only
 * part of the home the smtpd role may read.
 */
import { ControlError, type ListEntry, readControlLine, readControlList } from "./control.ts";
import { flagDefault } from "./controls.ts";
import { homePaths } from "./home.ts";
import { loadTcpRules } from "./tcprules.ts";

/** The list files every reload reads, by their name under control/. */
export const BM_LIST_FILES = [
  "badhelo",
  "badheloext",
  "badheloint",
  "badmailfrom",
  "badmailfromext",
  "badmailfromint",
  "goodmailfrom",
  "badrmhostext",
  "badrmhostint",
  "badmailto",
  "badmailtoext",
  "badmailtoint",
  "badrcptto",
] as const;

/** The variables that name another file for one client (seed 000 README.bmchecks). */
export const BM_FILE_VARIABLES = ["BADHELO", "BADMAILFROM", "BADMAILTO", "GOODMAILFROM"] as const;

/** One list file's lines, and the file as the trace names it (`control/badmailfrom`). */
export interface ControlPatternList {
  source: string;
  lines: ListEntry[];
  /**
   * Found by its name only, not named anywhere qmd could see: a file with a
   * bad line is then left out rather than stopping the reload (it may be an
   * editor's backup).
   */
  scanned?: true;
}

/** A datechecks line. */
export interface DateCheckLine {
  prefix: string;
  days: number;
  line: number;
}

export interface BmListControls {
  /** The home, to resolve the names the BAD... variables give. */
  home: string;
  /** Every list file that exists, by its name under control/ ("badmailfrom", "badmailfrom-strict"). */
  lists: Record<string, ControlPatternList>;
  /** control/log/bmchecks. */
  log: boolean;
}

export interface DatechecksControls {
  /** control/datechecks lines; empty when the file is absent. */
  checks: DateCheckLine[];
  /** control/log/datechecks. */
  log: boolean;
}

/** Set and neither empty nor "0"; absent gives the controls table's default. */
export function readSwitch(home: string, name: string): boolean {
  const line = readControlLine(home, name);
  if (line === undefined) return flagDefault(name);
  const trimmed = line.trim();
  return trimmed !== "" && trimmed !== "0";
}

/**
 * The name under control/ of the file a BAD.../GOODMAILFROM value names, or
 * undefined when it lies outside HOME/control. Pure.
 */
export function controlFileName(home: string, value: string): string | undefined {
  const control = `${homePaths(home).control}/`;
  let path = value.startsWith("/") ? value : `${home}/${value.replace(/^(\.\/)+/, "")}`;
  path = path.replace(/\/\.\//g, "/");
  if (!path.startsWith(control)) return undefined;
  const name = path.slice(control.length);
  return name === "" || name.split("/").includes("..") ? undefined : name;
}

/** Reads one list file; undefined when the file does not exist. */
function readPatternList(home: string, name: string): ControlPatternList | undefined {
  const lines = readControlList(home, name);
  return lines === undefined ? undefined : { source: `control/${name}`, lines };
}

/** The values qmd's own environment gives the variables, when the role may read it. */
function environmentValues(names: readonly string[]): string[] {
  try {
    return names.flatMap((name) => Deno.env.get(name) ?? []);
  } catch {
    // The smtpd role runs without env permission: tcp.smtp is where per-client files are named.
    return [];
  }
}

/** The other files the variables name, by name under control/. */
function namedFiles(home: string): string[] {
  const tcpSmtp = homePaths(home).tcpSmtp;
  const rules = loadTcpRules(tcpSmtp);
  const fromRules = BM_FILE_VARIABLES.flatMap((name) => rules?.valuesOf(name) ?? []);
  const names: string[] = [];
  for (const value of [...fromRules, ...environmentValues(BM_FILE_VARIABLES)]) {
    if (value === "") continue;
    const name = controlFileName(home, value);
    if (name === undefined) {
      throw new ControlError(tcpSmtp, 0, `${JSON.stringify(value)} is not a file in control/`);
    }
    if (!names.includes(name)) names.push(name);
  }
  return names;
}

/** The bases of the names BADHELO... may give, for the scan of control/. */
const NAMED_FILE_BASES = ["badhelo", "badmailfrom", "badmailto", "goodmailfrom"];

/** Files in control/ named like a list that are not one of the fixed files. */
function scannedFiles(home: string): string[] {
  const names: string[] = [];
  try {
    for (const entry of Deno.readDirSync(homePaths(home).control)) {
      const name = entry.name;
      if (!entry.isFile || (BM_LIST_FILES as readonly string[]).includes(name)) continue;
      if (NAMED_FILE_BASES.some((base) => name.startsWith(base))) names.push(name);
    }
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  }
  return names.sort();
}

export function loadBmListControls(home: string): BmListControls {
  const lists: Record<string, ControlPatternList> = {};
  for (const name of [...BM_LIST_FILES, ...namedFiles(home)]) {
    if (name in lists) continue;
    const list = readPatternList(home, name);
    if (list !== undefined) lists[name] = list;
  }
  for (const name of scannedFiles(home)) {
    if (name in lists) continue;
    const list = readPatternList(home, name);
    if (list !== undefined) lists[name] = { ...list, scanned: true };
  }
  return { home, lists, log: readSwitch(home, "log/bmchecks") };
}

/** `prefix:days` lines (seed 000: `qmail-list-:7`). */
export function parseDatechecks(
  path: string,
  entries: readonly { value: string; line: number }[],
): DateCheckLine[] {
  return entries.map(({ value, line }) => {
    const colon = value.lastIndexOf(":");
    const days = value.slice(colon + 1).trim();
    if (colon <= 0 || !/^\d+$/.test(days)) {
      throw new ControlError(path, line, `expected prefix:days, found ${JSON.stringify(value)}`);
    }
    return { prefix: value.slice(0, colon), days: Number(days), line };
  });
}

export function loadDatechecksControls(home: string): DatechecksControls {
  const entries = readControlList(home, "datechecks") ?? [];
  return {
    checks: parseDatechecks(`${home}/control/datechecks`, entries),
    log: readSwitch(home, "log/datechecks"),
  };
}

/** control/reqbrackets (default 1, seed 000 md20). */
export function loadReqBrackets(home: string): boolean {
  return readSwitch(home, "reqbrackets");
}
