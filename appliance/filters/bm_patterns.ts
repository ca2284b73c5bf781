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
import { utf8ByteString } from "../bytes.ts";
import { MIN_LENGTH, requiredLiteral } from "./required_literal.ts";

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
 * the whole string and its `@domain`; a wildcard or regex line with a literal
 * every match must contain (required_literal.ts) is run only when the subject
 * contains it. The first line in file order that matches names the rule.
 */
interface CompiledList {
  /** Address line text (lower-cased) to its first position in the list. */
  addresses: Map<string, number>;
  /** The wildcard and regex lines with their positions, in file order. */
  scanned: ScannedLine[];
}

interface ScannedLine {
  position: number;
  line: PatternLine;
  test: LineTest;
  /** Lower-cased; without it in the subject the expression cannot match. */
  literal?: string;
  /** A `!` line: it matches when its expression does not. */
  negated: boolean;
}

/** Compiled lists by list object: one compilation per loaded list, dropped with it. */
const compiled = new WeakMap<PatternList, CompiledList>();

/** What a wildcard or regex line's match must contain (a wildcard's longest fixed part). */
function lineLiteral(value: string): string | undefined {
  if (patternKind(value) === "regex") {
    return requiredLiteral(regexSource(value.startsWith("!") ? value.slice(1) : value));
  }
  const longest = value.split("*").reduce((a, b) => (b.length > a.length ? b : a), "");
  return longest.length >= MIN_LENGTH ? asciiLower(longest) : undefined;
}

/** Whether `each` matches the lower-cased subject (`domain` its `@domain` part, for wildcards). */
function scannedMatches(each: ScannedLine, whole: string, domain: string | undefined): boolean {
  // `domain` is the end of `whole`: a literal missing from one is missing from both.
  if (each.literal !== undefined && !whole.includes(each.literal)) return each.negated;
  return each.test(whole, domain);
}

function compile(list: PatternList): CompiledList {
  let found = compiled.get(list);
  if (found !== undefined) return found;
  const addresses = new Map<string, number>();
  const scanned: ScannedLine[] = [];
  list.lines.forEach((line, position) => {
    // A line the loader let through always compiles (patternError); skip any other defensively.
    if (patternError(line.value) !== undefined) return;
    // Subjects are byte strings (a UTF-8 address as its bytes): the line is compared as its UTF-8
    // bytes too, so `jörg@example.com` matches the address qmail would see byte for byte.
    const value = utf8ByteString(line.value);
    if (patternKind(value) === "address") {
      const entry = asciiLower(value);
      if (!addresses.has(entry)) addresses.set(entry, position);
      return;
    }
    const literal = lineLiteral(value);
    scanned.push({
      position,
      line,
      test: lineTest(value),
      negated: value.startsWith("!"),
      ...(literal === undefined ? {} : { literal }),
    });
  });
  found = { addresses, scanned };
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
  const { addresses, scanned } = compile(list);
  let position = addresses.get(whole);
  const byDomain = domain === undefined ? undefined : addresses.get(domain);
  if (byDomain !== undefined && (position === undefined || byDomain < position)) {
    position = byDomain;
  }
  for (const each of scanned) {
    if (position !== undefined && each.position > position) break;
    if (scannedMatches(each, whole, domain)) return each.line;
  }
  return position === undefined ? undefined : list.lines[position];
}
