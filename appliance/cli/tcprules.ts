/**
 * `qmd tcprules rules.cdb rules.tmp < rules.txt`: ucspi-tcp's tcprules(1).
 * Reads rules on stdin (config/tcprules.ts, docs/queue-format.md §10.1), writes
 * the cdb to rules.tmp, fsyncs, closes and renames it over rules.cdb, so
 * tcpserver and qmd see the old file or the new one, never a partial one.
 * The cdb is byte for byte the one tcprules writes. Silent on success; a bad
 * line exits 100 and an I/O problem 111, both leaving rules.cdb untouched.
 * Installed as `tcprules` (argv[0]), qmd behaves as this command.
 *
 * `qmd tcprules --print rules.cdb` writes a cdb (ours or tcprules') back as
 * rules text that compiles to the same bytes; a record the text format cannot
 * express is printed as a `#` comment and counted in a warning on stderr.
 */
import { parseCommand } from "./args.ts";
import { ControlError } from "../../config/control.ts";
import { CdbFormatError } from "../../config/cdb.ts";
import { compileTcpRules, formatTcpRules, parseTcpRules } from "../../config/tcprules.ts";
import { byteString } from "../../config/byte_string.ts";
import { errorText } from "../deliver/delivery_error.ts";
import { dirname, syncDirectory } from "../durable_file.ts";
import { EXIT } from "../exit_codes.ts";

const NAME = "qmd tcprules";
/** tcprules' own prefix, so scripts and logs read the same. */
const FATAL = "tcprules: fatal: ";

const USAGE = `usage: qmd tcprules rules.cdb rules.tmp < rules.txt
       qmd tcprules --print rules.cdb

Compiles tcpserver rules (e.g. HOME/tcp.smtp) from stdin into rules.cdb, as
ucspi-tcp's tcprules does and in the same format, so tcpserver and qmd read
each other's files. One rule a line: ADDRESS:allow or ADDRESS:deny, then
,VAR="value" for each environment variable (any character may quote).
Addresses: 1.2.3.4, 10.0. (prefix), 10.1-5. (range), =host, =.domain, =,
info@1.2.3.4, info@=host, and the empty address (default).

rules.tmp must be on the same file system as rules.cdb. Exit 0 on success,
100 on a line that does not parse, 111 on an I/O problem; rules.cdb is left
alone on any error.

  --print   write the rules in rules.cdb back as text on stdout
`;

/** tcprules words errors as error_str does ("file does not exist"). */
function reason(error: unknown): string {
  return errorText(error);
}

async function readAll(input: ReadableStream<Uint8Array>): Promise<Uint8Array> {
  const chunks: Uint8Array[] = [];
  let length = 0;
  for await (const chunk of input) {
    chunks.push(chunk);
    length += chunk.length;
  }
  const bytes = new Uint8Array(length);
  let offset = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, offset);
    offset += chunk.length;
  }
  return bytes;
}

/** The offending line as tcprules prints it: trailing blanks removed. */
function lineText(text: string, line: number): string {
  const raw = text.split("\n")[line - 1] ?? "";
  const bytes = Uint8Array.from(raw.replace(/[ \t]+$/, ""), (c) => c.charCodeAt(0));
  return new TextDecoder().decode(bytes);
}

/**
 * tcprules' main: rules from `input` into `cdbPath` via `tmpPath`. Returns the
 * exit code; messages go to stderr.
 */
export async function compileRules(
  cdbPath: string,
  tmpPath: string,
  input: ReadableStream<Uint8Array>,
): Promise<number> {
  let file: Deno.FsFile;
  try {
    file = await Deno.open(tmpPath, { write: true, create: true, truncate: true, mode: 0o644 });
  } catch (error) {
    console.error(`${FATAL}unable to create ${tmpPath}: ${reason(error)}`);
    return EXIT.temporary;
  }
  const abandon = async () => {
    file.close();
    await Deno.remove(tmpPath).catch(() => {});
  };
  let text: string;
  try {
    text = byteString(await readAll(input));
  } catch (error) {
    await abandon();
    console.error(`${FATAL}unable to read input: ${reason(error)}`);
    return EXIT.temporary;
  }
  let cdb: Uint8Array;
  try {
    cdb = compileTcpRules(parseTcpRules(text, "stdin"), { binary: true });
  } catch (error) {
    await abandon();
    if (!(error instanceof ControlError)) throw error;
    console.error(
      `${FATAL}unable to parse this line (${error.message}): ${lineText(text, error.line)}`,
    );
    return EXIT.permanent;
  }
  try {
    let written = 0;
    while (written < cdb.length) written += await file.write(cdb.subarray(written));
    await file.sync();
  } catch (error) {
    await abandon();
    console.error(`${FATAL}unable to write to ${tmpPath}: ${reason(error)}`);
    return EXIT.temporary;
  }
  file.close();
  try {
    await Deno.rename(tmpPath, cdbPath);
  } catch (error) {
    console.error(`${FATAL}unable to move ${tmpPath} to ${cdbPath}: ${reason(error)}`);
    return EXIT.temporary;
  }
  // Some file systems refuse fsync on a directory; the rename itself stands.
  await syncDirectory(dirname(cdbPath)).catch(() => {});
  return EXIT.ok;
}

/** `--print`: the cdb's records as rules text on stdout. */
export async function printRules(cdbPath: string): Promise<number> {
  let bytes: Uint8Array;
  try {
    bytes = await Deno.readFile(cdbPath);
  } catch (error) {
    console.error(`${FATAL}unable to read ${cdbPath}: ${reason(error)}`);
    return EXIT.temporary;
  }
  let printed: { text: string; unexpressible: number };
  try {
    printed = formatTcpRules(bytes);
  } catch (error) {
    if (!(error instanceof CdbFormatError)) throw error;
    console.error(`${FATAL}${cdbPath} is not a cdb file: ${error.message}`);
    return EXIT.temporary;
  }
  const out = Uint8Array.from(printed.text, (c) => c.charCodeAt(0));
  try {
    let written = 0;
    while (written < out.length) written += await Deno.stdout.write(out.subarray(written));
  } catch (error) {
    console.error(`${FATAL}unable to write output: ${reason(error)}`);
    return EXIT.temporary;
  }
  if (printed.unexpressible > 0) {
    console.error(
      `${NAME}: warning: ${printed.unexpressible} record(s) cannot be written as rules; ` +
        "printed as # comments",
    );
  }
  return EXIT.ok;
}

export async function main(args: string[]): Promise<number> {
  const parsed = parseCommand({
    name: NAME,
    usage: USAGE,
    options: { print: { type: "boolean" } },
  }, args);
  if (!parsed.ok) return parsed.exitCode;
  // Like tcprules, arguments after the second are ignored.
  const [first, second] = parsed.positionals;
  if (parsed.values.print) {
    if (first === undefined || second !== undefined) {
      console.error("tcprules: usage: qmd tcprules --print rules.cdb");
      return EXIT.permanent;
    }
    return await printRules(first);
  }
  if (first === undefined || second === undefined) {
    console.error("tcprules: usage: tcprules rules.cdb rules.tmp");
    return EXIT.permanent;
  }
  return await compileRules(first, second, Deno.stdin.readable);
}
