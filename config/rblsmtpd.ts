/**
 * rblsmtpd's options for each SMTP listener, written as in the seeds' run
 * files (docs/patches.md seeds 000, 003 and 004): `control/rblsmtpd` for the
 * port-25 listener (where the seeds run rblsmtpd), `control/rblsmtpd.submission`
 * and `control/rblsmtpd.smtps` for the others. Absent: no DNSBL on that
 * listener. One or more options a line, `#` comments, double or single
 * quotes around an argument with spaces:
 *
 *     -C -t 10
 *     -r "cbl.abuseat.org:Sorry. You are listed in cbl.abuseat.org ..."
 *     -r sbl.spamhaus.org
 *     -a whitelist.example.net
 *
 * `-r zone`, `-r zone:text`, `-a zone`, `-t seconds`, `-b`/`-B`, `-c`/`-C`
 * and seed 000's `-e` (flags may be grouped, `-Cb`). `-e` may be followed
 * by the spam trap's address (`-e spamtrap@example.net`): seed 000's patched
 * rblsmtpd handed qmail-smtpd the address in $BLACKLISTED, but in qmd a
 * $BLACKLISTED in the environment marks every client, so the address lives
 * here; without one a listed client is refused as without -e. Anything else is a
 * ControlError naming the file and line. A source asking exactly what an
 * earlier one asks is dropped: the earlier one has already decided.
 */
import { ControlError, readControlText } from "./control.ts";

/** One `-r` or `-a` option as written in the control file. */
export interface RblSource {
  /** "block" for -r, "anti" for -a. */
  kind: "block" | "anti";
  zone: string;
  /** The `:text` of `-r zone:text` (an A-record list with a fixed reply). */
  text?: string;
  /** The control file and line that gave the option. */
  source: string;
  line: number;
}

/** rblsmtpd's options for one listener (appliance/filters/rbl.ts applies them). */
export interface RblOptions {
  sources: RblSource[];
  /** -b: 553 instead of 451 for a listed client. */
  bounce: boolean;
  /** -c: a temporary lookup failure blocks (default -C: it does not). */
  failClosed: boolean;
  /** -t: seconds of rblsmtpd's conversation (default 60); also each lookup's bound. */
  timeoutSeconds: number;
  /** -e: mark a listed client BLACKLISTED instead of refusing it. */
  blacklist: boolean;
  /** -e ADDRESS: where a listed client's mail goes (the spam trap). */
  blacklistTo?: string;
}

/** rblsmtpd's default -t. */
export const RBL_DEFAULT_TIMEOUT_SECONDS = 60;

/** The listeners' control files. */
export const RBLSMTPD_FILES = {
  smtp: "rblsmtpd",
  submission: "rblsmtpd.submission",
  smtps: "rblsmtpd.smtps",
} as const;

export type RblListener = keyof typeof RBLSMTPD_FILES;

/** Each listener's options; a listener without its file has none. */
export type RblControls = Partial<Record<RblListener, RblOptions>>;

interface Token {
  text: string;
  line: number;
}

/** Shell-like words: blanks split, quotes group, `#` at a word's start comments out the line. */
function tokenize(text: string, path: string): Token[] {
  const tokens: Token[] = [];
  text.split("\n").forEach((raw, index) => {
    const line = index + 1;
    let i = 0;
    while (i < raw.length) {
      while (i < raw.length && /[ \t\r\\]/.test(raw[i])) i++;
      if (i >= raw.length || raw[i] === "#") break;
      let word = "";
      while (i < raw.length && !/[ \t\r]/.test(raw[i])) {
        const quote = raw[i];
        if (quote === '"' || quote === "'") {
          const end = raw.indexOf(quote, i + 1);
          if (end < 0) throw new ControlError(path, line, `unterminated ${quote} quote`);
          word += raw.slice(i + 1, end);
          i = end + 1;
        } else {
          word += raw[i++];
        }
      }
      tokens.push({ text: word, line });
    }
  });
  return tokens;
}

function zoneOf(argument: string, path: string, line: number): { zone: string; text?: string } {
  const colon = argument.indexOf(":");
  const zone = (colon < 0 ? argument : argument.slice(0, colon)).toLowerCase().replace(/\.$/, "");
  if (!/^[a-z0-9_-]+(\.[a-z0-9_-]+)*$/.test(zone)) {
    throw new ControlError(path, line, `not a DNS zone: ${JSON.stringify(argument)}`);
  }
  return colon < 0 ? { zone } : { zone, text: argument.slice(colon + 1) };
}

/** Parses one file's text; `path` names it in errors. */
export function parseRblsmtpdOptions(text: string, path: string): RblOptions {
  const options: RblOptions = {
    sources: [],
    bounce: false,
    failClosed: false,
    timeoutSeconds: RBL_DEFAULT_TIMEOUT_SECONDS,
    blacklist: false,
  };
  const tokens = tokenize(text, path);
  const seen = new Set<string>();
  for (let t = 0; t < tokens.length; t++) {
    const { text: word, line } = tokens[t];
    if (!/^-[a-zA-Z]/.test(word)) {
      throw new ControlError(path, line, `expected an option, found ${JSON.stringify(word)}`);
    }
    for (let c = 1; c < word.length; c++) {
      const flag = word[c];
      if ("bBcCe".includes(flag)) {
        if (flag === "b" || flag === "B") options.bounce = flag === "b";
        if (flag === "c" || flag === "C") options.failClosed = flag === "c";
        if (flag === "e") {
          options.blacklist = true;
          // qmd's -e takes the spam trap's address as its argument, when one follows.
          const next = tokens[t + 1];
          if (c === word.length - 1 && next !== undefined && !next.text.startsWith("-")) {
            options.blacklistTo = next.text;
            t++;
          }
        }
        continue;
      }
      if (!"rat".includes(flag)) throw new ControlError(path, line, `unknown option -${flag}`);
      // getopt: the rest of the word, or else the next word, is the argument.
      let argument = word.slice(c + 1);
      if (argument === "") {
        const next = tokens[++t];
        if (next === undefined) throw new ControlError(path, line, `-${flag} needs an argument`);
        argument = next.text;
      }
      if (flag === "t") {
        if (!/^\d+$/.test(argument)) {
          throw new ControlError(path, line, `-t needs whole seconds, found ${argument}`);
        }
        options.timeoutSeconds = Number(argument);
      } else {
        const { zone, text: reply } = zoneOf(argument, path, line);
        const kind = flag === "r" ? "block" : "anti";
        const source: RblSource = { kind, zone, source: path, line };
        if (reply !== undefined && kind === "block") source.text = reply;
        const query = `${kind === "block" && reply === undefined ? "TXT" : "A"} ${zone}`;
        if (!seen.has(query)) options.sources.push(source);
        seen.add(query);
      }
      break;
    }
  }
  return options;
}

/** Every listener's options from the home's control files. */
export function loadRblControls(home: string): RblControls {
  const controls: RblControls = {};
  for (const [listener, name] of Object.entries(RBLSMTPD_FILES) as [RblListener, string][]) {
    const text = readControlText(home, name);
    if (text !== undefined) controls[listener] = parseRblsmtpdOptions(text, `control/${name}`);
  }
  return controls;
}
