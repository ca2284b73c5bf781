/**
 * How qmd is run from outside its checkout: the `qmd` launcher that
 * `deno task install` writes (a shell script running main.ts with the flags
 * of `deno task qmd`, through Deno when it is on the PATH, else through npx),
 * and the command the start banner prints, which must work as printed from
 * any directory.
 */

/** The Deno release qmd is pinned to (README, .ci/run); npx fetches it where Deno is missing. */
export const DENO_VERSION = "2.9.6";

/** The checkout this module belongs to: absolute, no trailing slash. */
export function checkoutRoot(): string {
  return decodeURIComponent(new URL("../../", import.meta.url).pathname).replace(/\/$/, "");
}

/** The first comment line of a launcher, naming its checkout. */
const MARK = "# qmd launcher for ";

/** `text` quoted for /bin/sh when it holds anything but safe characters. */
export function shellQuote(text: string): string {
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(text) ? text : `'${text.replaceAll("'", `'\\''`)}'`;
}

/**
 * The launcher script for the checkout at `root` (absolute, no trailing
 * slash). `flags` are `deno run`'s flags from the qmd task. argv[0] reaches
 * main.ts as QMD_ARGV0, so a link to the launcher named qmail-inject,
 * sendmail, ... behaves as that program, as the binary does.
 */
export function launcherScript(root: string, flags: string[]): string {
  const run = ["run", "--config", shellQuote(`${root}/deno.json`), ...flags.map(shellQuote)]
    .join(" ");
  const main = shellQuote(`${root}/main.ts`);
  return [
    "#!/bin/sh",
    `${MARK}${root}`,
    "# Written by `deno task install`: runs main.ts as `deno task qmd` does, from any directory.",
    "QMD_ARGV0=$0",
    "export QMD_ARGV0",
    "if command -v deno >/dev/null 2>&1; then",
    `  exec deno ${run} ${main} "$@"`,
    "fi",
    `exec npx -y deno@${DENO_VERSION} ${run} ${main} "$@"`,
    "",
  ].join("\n");
}

/** The checkout a launcher at `path` runs, or undefined when the file is not a launcher. */
export function launcherCheckout(path: string): string | undefined {
  let text: string;
  try {
    text = Deno.readTextFileSync(path);
  } catch {
    return undefined;
  }
  const line = text.split("\n", 3).find((each) => each.startsWith(MARK));
  return line?.slice(MARK.length);
}

/** The first executable file called `name` on $PATH, else undefined. */
export function findOnPath(name: string, path = Deno.env.get("PATH") ?? ""): string | undefined {
  for (const dir of path.split(":")) {
    if (dir === "") continue;
    try {
      const info = Deno.statSync(`${dir}/${name}`);
      if (info.isFile && ((info.mode ?? 0) & 0o111) !== 0) return `${dir}/${name}`;
    } catch {
      // not here
    }
  }
  return undefined;
}

/**
 * The words that run a qmd command, for printed instructions: the
 * executable itself when qmd was compiled; `qmd` when the PATH's qmd is this
 * checkout's launcher; else Deno with this checkout's deno.json (npx's Deno
 * where Deno is not installed).
 */
export function qmdCommand(path = Deno.env.get("PATH") ?? ""): string {
  // Compiled with `deno compile`, the running executable is qmd itself.
  if (!/(^|\/)deno$/.test(Deno.execPath())) return shellQuote(Deno.execPath());
  const root = checkoutRoot();
  // npx and npm put their node_modules/.bin first on the PATH of what they run: a deno
  // there is npx's, which the operator's shell does not have.
  const shellPath = path.split(":").filter((dir) => !/\/node_modules\/\.bin\/?$/.test(dir))
    .join(":");
  const onPath = findOnPath("qmd", shellPath);
  if (onPath !== undefined && launcherCheckout(onPath) === root) return "qmd";
  const deno = findOnPath("deno", shellPath) !== undefined ? "deno" : `npx -y deno@${DENO_VERSION}`;
  return `${deno} task --config ${shellQuote(`${root}/deno.json`)} qmd`;
}
