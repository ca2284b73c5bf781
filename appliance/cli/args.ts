/**
 * Flag parsing shared by every command: node:util parseArgs in strict mode,
 * `--help` on every command, and a bad flag answered with one line of our
 * own on stderr (never the parser's text) and exit 64 (EX_USAGE), as the CLI
 * promises.
 */
import { parseArgs, type ParseArgsConfig } from "node:util";
import { EXIT } from "../exit_codes.ts";

type Options = NonNullable<ParseArgsConfig["options"]>;

export interface CommandSpec<O extends Options> {
  /** e.g. "qmd init" */
  name: string;
  /** Usage text printed by --help (first line: synopsis). */
  usage: string;
  options: O;
  /** Whether positional arguments are allowed (default true). */
  positionals?: boolean;
}

export type ParsedCommand<O extends Options> =
  | {
    ok: true;
    values: ReturnType<
      typeof parseArgs<{ options: O; allowPositionals: true; strict: true }>
    >["values"];
    positionals: string[];
  }
  | { ok: false; exitCode: number };

/**
 * Parses a command's arguments. On --help prints usage and returns exit 0;
 * on a bad flag prints one line and returns exit 64.
 */
export function parseCommand<O extends Options>(
  spec: CommandSpec<O>,
  args: string[],
): ParsedCommand<O> {
  if (args.includes("--help") || args.includes("-h") && !("h" in spec.options)) {
    console.log(spec.usage.trimEnd());
    return { ok: false, exitCode: EXIT.ok };
  }
  let parsed;
  try {
    parsed = parseArgs({
      args,
      options: spec.options,
      allowPositionals: spec.positionals ?? true,
      strict: true,
    });
  } catch (error) {
    return { ok: false, exitCode: usageError(spec.name, describeParseError(error)) };
  }
  // An empty --home would silently mean the current directory.
  if ("home" in spec.options && (parsed.values as { home?: unknown }).home === "") {
    return { ok: false, exitCode: usageError(spec.name, "--home needs a directory") };
  }
  return { ok: true, values: parsed.values, positionals: parsed.positionals };
}

/**
 * parseArgs' error as one short sentence: the parser's own text is long,
 * spans lines and suggests `--` tricks that do not apply here.
 */
export function describeParseError(error: unknown): string {
  const { code, message } = error as { code?: string; message?: string };
  const text = String(message ?? error);
  // The parser quotes the option as '--name', '-n' or '-n, --name <value>'.
  const quoted = /'([^']*)'/.exec(text)?.[1] ?? "";
  const option = quoted.split(/[ ,]+/).filter((word) => word.startsWith("-")).pop() ?? quoted;
  switch (code) {
    case "ERR_PARSE_ARGS_UNKNOWN_OPTION":
      return `unknown option ${option}`;
    case "ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL":
      return `unexpected argument ${JSON.stringify(quoted)}`;
    case "ERR_PARSE_ARGS_INVALID_OPTION_VALUE":
      return / does not take an argument/.test(text)
        ? `${option} takes no value`
        : `${option} needs a value`;
    default:
      return text.split("\n", 1)[0];
  }
}

/** Prints a one-line usage error and returns 64. */
export function usageError(name: string, message: string): number {
  console.error(`${name}: ${message} (try --help)`);
  return EXIT.usage;
}

/**
 * A command with subcommands, given a first word that is none of them:
 * --help or -h prints `usage`; nothing, or an option first, asks for one of
 * `expected` ("add, del or list"); any other word is an unknown subcommand.
 */
export function otherSubcommand(
  name: string,
  usage: string,
  subcommand: string | undefined,
  expected: string,
): number {
  if (subcommand === "--help" || subcommand === "-h") {
    console.log(usage.trimEnd());
    return EXIT.ok;
  }
  if (subcommand === undefined) return usageError(name, `expected ${expected}`);
  if (subcommand.startsWith("-")) {
    return usageError(name, `expected ${expected} before ${subcommand}`);
  }
  return usageError(name, `unknown subcommand ${JSON.stringify(subcommand)}`);
}
