/**
 * `deno task install [--bin-dir DIR | --prefix DIR]`: puts a `qmd` launcher
 * (appliance/cli/launcher.ts) in DIR (default ~/.local/bin; --prefix P means
 * P/bin), so that `qmd ...` runs this checkout's main.ts with the flags of
 * `deno task qmd` from any directory, through Deno when it is installed and
 * through `npx -y deno@VERSION` when only Node.js is. Says where it wrote the
 * launcher and whether that directory is on the PATH. A file called qmd
 * that is not a launcher (a compiled qmd, say) is left alone.
 */
import { parseArgs } from "node:util";
import {
  checkoutRoot,
  launcherCheckout,
  launcherScript,
  shellQuote,
} from "../../appliance/cli/launcher.ts";

const NAME = "qmd install";
const USAGE = `usage: deno task install [--bin-dir DIR | --prefix DIR]
  --bin-dir DIR   where the qmd launcher goes (default ~/.local/bin)
  --prefix DIR    the same as --bin-dir DIR/bin`;

/** The `deno run` flags of deno.json's qmd task, so the launcher runs qmd exactly as it does. */
function qmdTaskFlags(root: string): string[] {
  const config = JSON.parse(Deno.readTextFileSync(`${root}/deno.json`));
  const words = String(config.tasks?.qmd ?? "").trim().split(/\s+/);
  if (words[0] !== "deno" || words[1] !== "run" || words.at(-1) !== "main.ts") {
    throw new Error(`the qmd task in ${root}/deno.json is not "deno run FLAGS main.ts"`);
  }
  return words.slice(2, -1);
}

function main(args: string[]): number {
  let values: { "bin-dir"?: string; prefix?: string; help?: boolean };
  try {
    values = parseArgs({
      args,
      options: {
        "bin-dir": { type: "string" },
        prefix: { type: "string" },
        help: { type: "boolean", short: "h" },
      },
      strict: true,
    }).values;
  } catch (error) {
    console.error(`${NAME}: ${(error as Error).message.split("\n")[0]} (try --help)`);
    return 64;
  }
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  const home = Deno.env.get("HOME");
  const chosen = values["bin-dir"] ??
    (values.prefix !== undefined ? `${values.prefix}/bin` : home && `${home}/.local/bin`);
  if (!chosen) {
    console.error(`${NAME}: HOME is not set; name the directory with --bin-dir DIR`);
    return 64;
  }
  const binDir = chosen.startsWith("/")
    ? chosen
    : `${Deno.env.get("INIT_CWD") ?? Deno.cwd()}/${chosen}`;
  const target = `${binDir}/qmd`;
  const root = checkoutRoot();
  try {
    if (Deno.lstatSync(target) && launcherCheckout(target) === undefined) {
      console.error(`${NAME}: ${target} exists and is not a qmd launcher; not replacing it`);
      return 1;
    }
  } catch {
    // no such file yet
  }
  try {
    const script = launcherScript(root, qmdTaskFlags(root));
    Deno.mkdirSync(binDir, { recursive: true });
    const temporary = `${target}.tmp${Deno.pid}`;
    Deno.writeTextFileSync(temporary, script, { mode: 0o755 });
    Deno.chmodSync(temporary, 0o755);
    Deno.renameSync(temporary, target);
  } catch (error) {
    console.error(`${NAME}: cannot write ${target}: ${(error as Error).message}`);
    return 1;
  }
  console.log(`${NAME}: wrote ${target}, which runs ${root}/main.ts as \`deno task qmd\` does`);
  const onPath = (Deno.env.get("PATH") ?? "").split(":").includes(binDir);
  if (onPath) {
    console.log(`${NAME}: ${binDir} is on your PATH: try qmd --help`);
  } else {
    console.log(`${NAME}: ${binDir} is not on your PATH; add it (and to your shell's profile):`);
    console.log(`  export PATH=${shellQuote(binDir)}:"$PATH"`);
  }
  console.log(
    `${NAME}: links to it named qmail-inject, sendmail, qmail-qstat, ... act as those programs`,
  );
  return 0;
}

Deno.exit(main(Deno.args));
