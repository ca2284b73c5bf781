/**
 * What `deno task compile` will run, worked out from its arguments and
 * environment without running anything: one `deno compile` invocation per
 * target (the host, one `--target`, or both Linux targets with
 * `--all-targets`), or the one line saying why it cannot.
 */
import { COMPILE_INCLUDES, RUN_FLAGS } from "../../mod.ts";

/** The Linux targets qmd is built for, by the name in the output file. */
export const LINUX_TARGETS: Readonly<Record<string, string>> = {
  "x86_64": "x86_64-unknown-linux-gnu",
  "aarch64": "aarch64-unknown-linux-gnu",
};

export const COMPILE_USAGE =
  "usage: deno task compile [--target x86_64-unknown-linux-gnu|aarch64-unknown-linux-gnu | --all-targets] [OUTPUT]";

/** One executable to build: the deno compile arguments and where it lands. */
export interface CompileStep {
  /** The target triple, or undefined for the host deno compile picks. */
  target: string | undefined;
  output: string;
  args: string[];
}

export type CompilePlan = { steps: CompileStep[] } | { error: string };

/** The deno compile arguments for one executable. */
function compileArgs(target: string | undefined, output: string): string[] {
  return [
    "compile",
    ...RUN_FLAGS,
    ...COMPILE_INCLUDES.flatMap((path) => ["--include", path]),
    ...(target === undefined ? [] : ["--target", target]),
    "--output",
    output,
    "main.ts",
  ];
}

/** The architecture name (x86_64, aarch64) of a Linux target triple, if it is one. */
function archOf(target: string): string | undefined {
  return Object.keys(LINUX_TARGETS).find((arch) => LINUX_TARGETS[arch] === target);
}

interface CompileArgs {
  targets: (string | undefined)[];
  output: string | undefined;
}

/** Reads the command line: the targets to build and an explicit output. */
function readArgs(args: readonly string[]): CompileArgs | { error: string } {
  let targets: (string | undefined)[] = [undefined];
  let output: string | undefined;
  for (let index = 0; index < args.length; index++) {
    const arg = args[index];
    if (arg === "--all-targets") {
      targets = Object.values(LINUX_TARGETS);
    } else if (arg === "--target" || arg.startsWith("--target=")) {
      const target = arg === "--target" ? args[++index] : arg.slice("--target=".length);
      if (target === undefined || archOf(target) === undefined) {
        return {
          error: `qmd compile: unknown target ${target ?? "(none given)"}; ${COMPILE_USAGE}`,
        };
      }
      targets = [target];
    } else if (arg.startsWith("-") || output !== undefined) {
      return { error: `qmd compile: unexpected argument ${arg}; ${COMPILE_USAGE}` };
    } else {
      output = arg;
    }
  }
  return { targets, output };
}

/**
 * The builds for these arguments. OUTPUT names the executable of a single
 * build (default `qmd` for the host, `qmd-ARCH` for a --target) and the
 * directory of `--all-targets`'s qmd-x86_64 and qmd-aarch64 (default the
 * current one). DENORT_BIN is one target's runtime, so it is refused with
 * `--all-targets`, and refused when the file it names is missing.
 */
export function compilePlan(
  args: readonly string[],
  denortBin: string | undefined,
  exists: (path: string) => boolean,
): CompilePlan {
  const read = readArgs(args);
  if ("error" in read) return read;
  if (denortBin !== undefined && !exists(denortBin)) {
    return {
      error: `qmd compile: DENORT_BIN=${denortBin} does not exist; cannot build the executable`,
    };
  }
  if (denortBin !== undefined && read.targets.length > 1) {
    return {
      error:
        "qmd compile: DENORT_BIN names one target's denort; build each target with --target and its own DENORT_BIN",
    };
  }
  const steps = read.targets.map((target) => {
    const name = target === undefined ? "qmd" : `qmd-${archOf(target)}`;
    const output = read.targets.length > 1
      ? `${(read.output ?? ".").replace(/\/$/, "")}/${name}`
      : read.output ?? name;
    return { target, output, args: compileArgs(target, output) };
  });
  return { steps };
}

/**
 * The one line for a failed deno compile: a denort that could not be had
 * (deno compile downloads it from dl.deno.land while "setting up the base
 * binary"), else deno's own last line.
 */
export function compileFailureLine(stderr: string, target: string | undefined): string {
  // deno-lint-ignore no-control-regex -- deno colours its errors
  const plain = stderr.replace(/\x1b\[[0-9;]*m/g, "");
  if (/denort|dl\.deno\.land|Setting up base binary/i.test(plain)) {
    const runtime = target === undefined ? "denort" : `denort for ${target}`;
    return `qmd compile: cannot get the ${runtime} (no network to dl.deno.land and DENORT_BIN unset); set DENORT_BIN=/path/to/denort and retry`;
  }
  const lines = plain.trim().split("\n").map((line) => line.trim());
  const last = lines.find((line) => line.startsWith("error:")) ?? lines.slice(-1)[0];
  return `qmd compile: deno compile failed: ${last || "(no output)"}`;
}
