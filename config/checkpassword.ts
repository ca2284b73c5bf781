/**
 * control/checkpassword (qmd's): the checkpassword command line the auth role
 * runs for users the accounts database does not know, as qmail-popup and the
 * SMTP AUTH patches run one (docs/patches.md seed 000's run files: `checkpassword-chain
 * /bin/true`). Leaf module: returns plain data.
 */
import { readControlLine } from "./control.ts";

/** The command line split at white space, or undefined when the file is absent or empty. */
export function readCheckpassword(home: string): string[] | undefined {
  const line = readControlLine(home, "checkpassword")?.trim();
  return line === undefined || line === "" ? undefined : line.split(/\s+/);
}
