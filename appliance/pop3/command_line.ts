/**
 * A POP3 command line as qmail's commands.c reads it (verb and argument), and
 * as a command log may show it (secrets masked).
 */

/** Verbs whose argument is a secret in a command log. */
const SECRET_ARGUMENT = new Set(["pass"]);

/** ASCII lower case only, as qmail's case_diffs. */
function lowerAscii(text: string): string {
  return text.replace(/[A-Z]/g, (c) => String.fromCharCode(c.charCodeAt(0) + 32));
}

/**
 * qmail's commands.c: the verb is everything up to the first space, the
 * argument what follows after skipping spaces.
 */
export function splitCommand(text: string): { verb: string; argument: string } {
  const space = text.indexOf(" ");
  if (space < 0) return { verb: lowerAscii(text), argument: "" };
  return { verb: lowerAscii(text.slice(0, space)), argument: text.slice(space).replace(/^ +/, "") };
}

/**
 * A client line as a command log may show it: PASS's argument, APOP's digest,
 * AUTH's initial response and every SASL response (`inSasl`) are masked.
 */
export function redactPop3Line(line: string, inSasl: boolean): string {
  if (inSasl) return "<hidden>";
  const { verb } = splitCommand(line);
  const words = line.split(" ");
  if (SECRET_ARGUMENT.has(verb) && words.length > 1) return `${words[0]} <hidden>`;
  if (verb === "apop" && words.length > 2) return `${words[0]} ${words[1]} <hidden>`;
  if (verb === "auth" && words.length > 2) return `${words[0]} ${words[1]} <hidden>`;
  return line;
}
