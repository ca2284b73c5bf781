/**
 * HOME/accounts.lines: the control file lines `qmd domain add` (and `qmd
 * user add` for a new domain) wrote, one `FILE LINE` a line, e.g.
 *
 *   rcpthosts example.org
 *   virtualdomains example.org:example.org
 *
 * `qmd domain del` removes only lines recorded here, so a line that `qmd
 * init` or the operator wrote (localhost in rcpthosts, say) survives the
 * deletion of a virtual domain of the same name. Names are kept in lower
 * case, as the control files are matched.
 *
 * Written through a temporary file and rename inside the accounts database's
 * write transaction, which serialises concurrent qmd commands.
 */
import { homePaths } from "../../config/home.ts";
import { writeFileAtomically } from "../control_files.ts";

const HEADER = "# control lines qmd domain add wrote; qmd domain del removes only these\n";

/** The files whose lines are recorded. */
export type RecordedFile = "rcpthosts" | "virtualdomains";

export class AddedLines {
  readonly #home: string;
  readonly #path: string;
  readonly #entries: Set<string>;
  #changed = false;

  private constructor(home: string, path: string, entries: Set<string>) {
    this.#home = home;
    this.#path = path;
    this.#entries = entries;
  }

  /** Reads HOME/accounts.lines (none yet: nothing recorded). */
  static read(home: string): AddedLines {
    const path = homePaths(home).addedLines;
    let text = "";
    try {
      text = Deno.readTextFileSync(path);
    } catch (error) {
      if (!(error instanceof Deno.errors.NotFound)) throw error;
    }
    const entries = new Set(
      text.split("\n").map((line) => line.trim()).filter((line) =>
        line !== "" && !line.startsWith("#")
      ).map((line) => line.toLowerCase()),
    );
    return new AddedLines(home, path, entries);
  }

  has(file: RecordedFile, line: string): boolean {
    return this.#entries.has(key(file, line));
  }

  add(file: RecordedFile, line: string): void {
    if (this.has(file, line)) return;
    this.#entries.add(key(file, line));
    this.#changed = true;
  }

  remove(file: RecordedFile, line: string): void {
    if (this.#entries.delete(key(file, line))) this.#changed = true;
  }

  /** Writes the file when something changed. */
  save(): void {
    if (!this.#changed) return;
    const text = HEADER + [...this.#entries].sort().map((entry) => `${entry}\n`).join("");
    writeFileAtomically(this.#path, new TextEncoder().encode(text), 0o644, this.#home);
    this.#changed = false;
  }
}

function key(file: RecordedFile, line: string): string {
  return `${file} ${line.trim().toLowerCase()}`;
}
