/** `qmd qstat`: qmail-qstat, the queue's two counts (qmail-qstat.sh). */
import { resolveHome } from "../../config/home.ts";
import { queueLayoutFor } from "../queue/layout.ts";
import { countQueue, formatQstat } from "../queue/status.ts";
import { parseCommand } from "./args.ts";
import { EXIT } from "../exit_codes.ts";

const USAGE = `Usage: qmd qstat [--home DIR]
Prints, as qmail-qstat does, how many messages are in the queue and how many
of them are not yet preprocessed.

  --home DIR   the qmd home (default $QMD_HOME, else ./qmd-home)
`;

export async function main(args: string[]): Promise<number> {
  const parsed = parseCommand(
    {
      name: "qmd qstat",
      usage: USAGE,
      options: { home: { type: "string" } },
      positionals: false,
    },
    args,
  );
  if (!parsed.ok) return parsed.exitCode;
  const layout = queueLayoutFor(resolveHome(parsed.values.home));
  try {
    if (!Deno.statSync(layout.root).isDirectory) throw new Error("not a directory");
  } catch {
    console.error(`qmd qstat: cannot read the queue ${layout.root}`);
    return EXIT.temporary;
  }
  await writeAllStdout(new TextEncoder().encode(formatQstat(countQueue(layout))));
  return EXIT.ok;
}

async function writeAllStdout(bytes: Uint8Array): Promise<void> {
  let offset = 0;
  while (offset < bytes.length) offset += await Deno.stdout.write(bytes.subarray(offset));
}

if (import.meta.main) Deno.exit(await main(Deno.args));
