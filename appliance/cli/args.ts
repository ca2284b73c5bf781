/**
 * Flag parsing shared by every command: node:util parseArgs in strict mode,
 * `--help` on every command, and a bad flag answered with one line on stderr
 * and exit 64 (EX_USAGE), as the CLI promises.
 */
import { parseArgs, type ParseArgsConfig } from "node:util";

export const EXIT_USAGE = 64;

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
    return { ok: false, exitCode: 0 };
  }
  try {
    const parsed = parseArgs({
      args,
      options: spec.options,
      allowPositionals: spec.positionals ?? true,
      strict: true,
    });
    return { ok: true, values: parsed.values, positionals: parsed.positionals };
  } catch (error) {
    const message = (error as Error).message.split("\n")[0];
    console.error(`${spec.name}: ${message} (try --help)`);
    return { ok: false, exitCode: EXIT_USAGE };
  }
}

/** Prints a one-line usage error and returns 64. */
export function usageError(name: string, message: string): number {
  console.error(`${name}: ${message} (try --help)`);
  return EXIT_USAGE;
}
