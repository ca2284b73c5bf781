/**
 * The lines of the bmchecks lists (badhelo, badmailfrom, goodmailfrom,
 * badmailto, badrmhost, badrcptto and their ext/int pairs; docs/patches.md
 * seeds 000 README.bmchecks, 001, 002 and 003) and how one line matches. Pure.
 *
 * Three kinds of line, told apart by what they contain, so that a qmail
 * control file keeps its meaning and the patches' lines keep theirs:
 *
 * - address: no regular-expression character. qmail's own lines (`addr`,
 *   `@domain`, docs/queue-format.md §8.6): equal, ASCII case-insensitively,
 *   to the whole string or, for addresses, to `@` + the part after its last
 *   `@`. `@example.com` never covers `sub.example.com` (seed 004's note: no
 *   `*` needed for a domain).
 * - wildcard: `*` as the only special character, and never as `.*`: Tom
 *   Clegg's badmailfrom wildcards (seed 003), `*` standing for any run of
 *   characters, matched like an address line (`*@example.com`,
 *   `@*.example.com`, `spam*@example.com`).
 * - regex: anything else, a POSIX extended regular expression (regex(7)),
 *   case-insensitive (seed 001), found anywhere in the string as regexec
 *   finds it (`.*spam.*` and `spam` alike). A leading `!` negates: the line
 *   matches when the expression does not (seed 002's `!\.` and `!@`).
 *
 * The lines stay plain data (they cross postMessage); the compiled form of a
 * list is kept per list object, so each worker compiles a list once per reload.
 */
import { asciiLower } from "../../config/ascii.ts";

/** One line of a list file, as written, with its 1-based line number. */
export interface PatternLine {
  value: string;
  line: number;
}

/** A list file's lines and where they came from (`control/badmailfrom`). */
export interface PatternList {
  source: string;
  lines: readonly PatternLine[];
}

export type PatternKind = "address" | "wildcard" | "regex";

/** Characters that make a line a regular expression (`.` and `+` occur in addresses). */
const REGEX_CHARACTERS = /[\[\]()|^$\\?{}]/;

/** Which kind of line this is (see the module comment). */
export function patternKind(value: string): PatternKind {
  if (value.startsWith("!") || REGEX_CHARACTERS.test(value)) return "regex";
  if (value.includes("*")) return /(^|[^*])\.\*|\*\*/.test(value) ? "regex" : "wildcard";
  return "address";
}

/** POSIX bracket classes JavaScript lacks, in their ASCII meaning. */
const POSIX_CLASSES: Readonly<Record<string, string>> = {
  alpha: "A-Za-z",
  digit: "0-9",
  alnum: "A-Za-z0-9",
  upper: "A-Z",
  lower: "a-z",
  space: " \\t\\n\\r\\f\\v",
  blank: " \\t",
  punct: "!-\\/:-@\\[-`{-~",
  xdigit: "0-9A-Fa-f",
  cntrl: "\\x00-\\x1f\\x7f",
  print: " -~",
  graph: "!-~",
};

/**
 * A regex line (without its `!`) as a JavaScript RegExp source: POSIX
 * `[[:alpha:]]` classes become ranges. Other ERE syntax means the same in
 * JavaScript for the lines these files hold.
 */
export function regexSource(expression: string): string {
  return expression.replace(
    /\[:([a-z]+):\]/g,
    (whole, name: string) => POSIX_CLASSES[name] ?? whole,
  );
}

/** Why a line cannot be used, or undefined when it can (the loaders name file and line). */
export function patternError(value: string): string | undefined {
  if (patternKind(value) !== "regex") return undefined;
  const expression = value.startsWith("!") ? value.slice(1) : value;
  if (expression === "") return "an empty expression after !";
  const unknown = /\[:([a-z]*):\]/.exec(expression);
  if (unknown !== null && POSIX_CLASSES[unknown[1]] === undefined) {
    return `unknown character class [:${unknown[1]}:]`;
  }
  try {
    new RegExp(regexSource(expression), "i");
    return undefined;
  } catch (error) {
    return `bad regular expression: ${(error as Error).message}`;
  }
}

/** How a list is matched: addresses also by `@domain`, other strings (HELO, host) whole. */
export interface MatchOptions {
  address: boolean;
}

type LineTest = (whole: string, domain: string | undefined) => boolean;

/** A wildcard line's expression, anchored; the subject is already lower-cased. */
function wildcardSource(value: string): string {
  return `^(?:${value.split("*").map(escapeRegExp).join(".*")})$`;
}

/** A wildcard or regex line's own test (address lines are looked up instead). */
function lineTest(value: string): LineTest {
  if (patternKind(value) === "wildcard") {
    const pattern = new RegExp(wildcardSource(value));
    return (whole, domain) => pattern.test(whole) || (domain !== undefined && pattern.test(domain));
  }
  const negated = value.startsWith("!");
  const pattern = new RegExp(regexSource(negated ? value.slice(1) : value), "i");
  // The lower-cased string is what `i` would match anyway; the original is not needed.
  return (whole) => pattern.test(whole) !== negated;
}

function escapeRegExp(text: string): string {
  return asciiLower(text).replace(/[.*+?^${}()|[\]\\/]/g, "\\$&");
}

/**
 * A list compiled for matching. Lists run to thousands of lines, so a subject
 * is not tried against each in turn: address lines are one Map lookup each for
 * the whole string and its `@domain`, and the wildcard and regex lines are
 * first tried together as one alternation, which tells in one pass whether
 * any of them can match. Only then are they tried one by one, in file order,
 * to name the first that does. A negated line matches when its expression
 * does not, so a list with one has no such shortcut.
 */
interface CompiledList {
  /** Address line text (lower-cased) to its first position in the list. */
  addresses: Map<string, number>;
  /** The wildcard and regex lines with their positions, in file order. */
  scanned: { position: number; line: PatternLine; test: LineTest }[];
  /** False only when no scanned line can match (the subject lower-cased). */
  mayMatch: LineTest;
}

/** Compiled lists by list object: one compilation per loaded list, dropped with it. */
const compiled = new WeakMap<PatternList, CompiledList>();

/**
 * One test that passes where any of `sources` matches, or undefined when they
 * don't combine. Alternatives that all begin with `^` (and have no `|` of
 * their own) share one `^` in front: an expression that begins there is only
 * tried at the start of the subject, not at every position of it.
 */
function union(sources: string[], flags: string): ((subject: string) => boolean) | undefined {
  if (sources.length === 0) return undefined;
  // Back references and named groups are numbered or named across the whole expression.
  if (sources.some((source) => /\\[1-9k]|\(\?</.test(source))) return undefined;
  const anchored = sources.filter((source) => source.startsWith("^") && !source.includes("|"));
  const floating = sources.filter((source) => !anchored.includes(source));
  try {
    const tests = [
      anchored.length === 0
        ? undefined
        : new RegExp(`^(?:${anchored.map((source) => `(?:${source.slice(1)})`).join("|")})`, flags),
      floating.length === 0
        ? undefined
        : new RegExp(floating.map((source) => `(?:${source})`).join("|"), flags),
    ].filter((each) => each !== undefined);
    return (subject) => tests.some((each) => each.test(subject));
  } catch {
    return undefined;
  }
}

function mayMatchTest(lines: readonly PatternLine[]): LineTest {
  const regexes: string[] = [];
  const wildcards: string[] = [];
  for (const { value } of lines) {
    if (patternKind(value) === "wildcard") wildcards.push(wildcardSource(value));
    else if (value.startsWith("!")) return () => true;
    else regexes.push(regexSource(value));
  }
  const regex = union(regexes, "i");
  const wildcard = union(wildcards, "");
  if (
    (regex === undefined && regexes.length > 0) || (wildcard === undefined && wildcards.length > 0)
  ) {
    return () => true;
  }
  return (whole, domain) =>
    (regex?.(whole) ?? false) ||
    (wildcard !== undefined && (wildcard(whole) || (domain !== undefined && wildcard(domain))));
}

function compile(list: PatternList): CompiledList {
  let found = compiled.get(list);
  if (found !== undefined) return found;
  const addresses = new Map<string, number>();
  const scanned: CompiledList["scanned"] = [];
  list.lines.forEach((line, position) => {
    // A line the loader let through always compiles (patternError); skip any other defensively.
    if (patternError(line.value) !== undefined) return;
    if (patternKind(line.value) === "address") {
      const entry = asciiLower(line.value);
      if (!addresses.has(entry)) addresses.set(entry, position);
    } else {
      scanned.push({ position, line, test: lineTest(line.value) });
    }
  });
  found = { addresses, scanned, mayMatch: mayMatchTest(scanned.map(({ line }) => line)) };
  compiled.set(list, found);
  return found;
}

/** The first line of `list` (in file order) that matches `subject`, if any. */
export function findMatch(
  list: PatternList,
  subject: string,
  options: MatchOptions,
): PatternLine | undefined {
  const whole = asciiLower(subject);
  const at = whole.lastIndexOf("@");
  const domain = options.address && at >= 0 ? whole.slice(at) : undefined;
  const { addresses, scanned, mayMatch } = compile(list);
  let position = addresses.get(whole);
  const byDomain = domain === undefined ? undefined : addresses.get(domain);
  if (byDomain !== undefined && (position === undefined || byDomain < position)) {
    position = byDomain;
  }
  if (scanned.length > 0 && mayMatch(whole, domain)) {
    for (const each of scanned) {
      if (position !== undefined && each.position > position) break;
      if (each.test(whole, domain)) return each.line;
    }
  }
  return position === undefined ? undefined : list.lines[position];
}
