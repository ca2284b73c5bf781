/**
 * Checks a control file before the console saves it: the home's control/
 * is copied to a scratch home (HOME/admin/check) with the new text in
 * place, and the roles' own loaders read it (config/check_controls.ts). A
 * broken file is refused with the loader's words, file and line, naming the
 * real path. A file that was already broken before this edit does not
 * block saving another one.
 */
import { homePaths } from "../../config/home.ts";
import { findControl } from "../../config/controls.ts";
import { findControlProblems } from "../../config/check_controls.ts";
import { adminPaths } from "./admin_state.ts";

/**
 * Control files that hold a private key or a signing secret: the console
 * neither shows nor writes them (change them on disk).
 */
const SECRET_CONTROLS: ReadonlySet<string> = new Set([
  "servercert.pem",
  "clientcert.pem",
  "signkey",
]);

/** Whether the console may show control/`name`'s text: in the table, not a secret. */
export function isShownControl(name: string): boolean {
  return findControl(name) !== undefined && !SECRET_CONTROLS.has(name);
}

/**
 * Whether `name` is a control file the console may write: shown, not a cdb
 * (built by its command), a plain path (not a pattern such as tlshosts/<FQDN>.pem).
 */
export function isEditableControl(name: string): boolean {
  return isShownControl(name) && findControl(name)?.kind !== "cdb" && !/[<>]|\.\./.test(name);
}

function copyTree(from: string, to: string): void {
  Deno.mkdirSync(to, { recursive: true });
  for (const entry of Deno.readDirSync(from)) {
    if (entry.isDirectory) copyTree(`${from}/${entry.name}`, `${to}/${entry.name}`);
    else if (entry.isFile) {
      Deno.writeFileSync(`${to}/${entry.name}`, Deno.readFileSync(`${from}/${entry.name}`));
    }
  }
}

/**
 * The problems the loaders find with `text` as control/`name` (none: it may
 * be saved). Files broken before the edit are left out.
 */
export function checkControlText(home: string, name: string, text: string | undefined): string[] {
  const scratch = adminPaths(home).check;
  const control = homePaths(home).control;
  try {
    Deno.removeSync(scratch, { recursive: true });
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  }
  try {
    copyTree(control, `${scratch}/control`);
    const target = `${scratch}/control/${name}`;
    if (text === undefined) {
      Deno.removeSync(target);
    } else {
      Deno.mkdirSync(target.slice(0, target.lastIndexOf("/")), { recursive: true });
      Deno.writeTextFileSync(target, text);
    }
    const options = { pop3: true, tcpSmtp: homePaths(home).tcpSmtp };
    const before = new Set(findControlProblems(home, options));
    return findControlProblems(scratch, options)
      .map((problem) => problem.replaceAll(`${scratch}/`, `${home}/`))
      .filter((problem) => !before.has(problem));
  } finally {
    Deno.removeSync(scratch, { recursive: true });
  }
}
