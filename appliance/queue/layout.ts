/**
 * The queue's layout and message states, as qmail keeps them (qmail-formats.md
 * §2). This is the only module that knows the queue's path names; every other
 * module asks it.
 *
 * States (`+` exists, `-` absent, `?` either):
 *
 * | state | mess | intd | todo | info | local | remote | bounce | meaning                   |
 * |-------|------|------|------|------|-------|--------|--------|---------------------------|
 * | S1    | -    | -    | -    | -    | -     | -      | -      | no message                |
 * | S2    | +    | -    | -    | -    | -     | -      | -      | being written (or deleted)|
 * | S3    | +    | +    | -    | -    | -     | -      | -      | envelope being written    |
 * | S4    | +    | ?    | +    | ?    | ?     | ?      | -      | queued, awaiting send     |
 * | S5    | +    | -    | -    | +    | ?     | ?      | ?      | preprocessed, delivering  |
 *
 * An intd or todo entry counts in either form, flat (`todo/ID`, vanilla
 * qmail-queue) or split (`todo/NN/ID`, big-todo and qmd), whatever layout the
 * queue was made with (queue/entries.ts).
 *
 * Writers: inject (S1→S2→S3→S4) is the only code that creates pid/, mess/,
 * intd/ and todo/ entries; the send role alone moves S4→S5, marks recipients
 * done, writes bounce/ and deletes (S5→S1).
 */

/** conf-split: the number of split subdirectories (qmail's default, 23). */
export const DEFAULT_SPLIT = 23;

/** Directories split into SPLIT subdirectories in vanilla qmail. */
export const SPLIT_DIRS = ["mess", "info", "local", "remote"] as const;

/** Age after which leftovers of a dead qmail-queue may be removed: 36 h. */
export const OSSIFIED_SECONDS = 129600;

export type Channel = "local" | "remote";

/** The queue's top-level directories (§2.1). */
export type QueueDirectory =
  | "pid"
  | "mess"
  | "intd"
  | "todo"
  | "info"
  | Channel
  | "bounce"
  | "lock";

/**
 * Paths of one queue. `todoSplit` and `intdSplit` tell the form qmd's own
 * writer uses for todo/ and intd/ (big-todo split, or flat), each detected
 * from its own directory. Readers accept both forms in any queue: a vanilla
 * qmail-queue writes flat `todo/ID` and `intd/ID` even where qmd made the
 * split directories, and a queue may hold both at once (todoForms, intdForms,
 * listIds).
 */
export class QueueLayout {
  readonly root: string;
  readonly split: number;
  readonly todoSplit: boolean;
  readonly intdSplit: boolean;

  constructor(
    root: string,
    options: { split?: number; todoSplit?: boolean; intdSplit?: boolean } = {},
  ) {
    this.root = root;
    this.split = options.split ?? DEFAULT_SPLIT;
    this.todoSplit = options.todoSplit ?? detectDirectorySplit(root, "todo");
    this.intdSplit = options.intdSplit ?? options.todoSplit ?? detectDirectorySplit(root, "intd");
  }

  /** The split subdirectory of a message number. */
  bucket(id: bigint | number): string {
    return String(BigInt(id) % BigInt(this.split));
  }

  /** Relative name "NN/ID" as qmail-send hands it to the spawners. */
  messName(id: bigint | number): string {
    return `${this.bucket(id)}/${id}`;
  }

  mess(id: bigint | number): string {
    return `${this.root}/mess/${this.bucket(id)}/${id}`;
  }
  /** mess/NN/ID from the relative name a delivery job carries (messName). */
  messFromName(name: string): string {
    return `${this.root}/mess/${name}`;
  }
  info(id: bigint | number): string {
    return `${this.root}/info/${this.bucket(id)}/${id}`;
  }
  channel(channel: Channel, id: bigint | number): string {
    return `${this.root}/${channel}/${this.bucket(id)}/${id}`;
  }
  local(id: bigint | number): string {
    return this.channel("local", id);
  }
  remote(id: bigint | number): string {
    return this.channel("remote", id);
  }
  /** intd/ID in the form qmd's writer uses (intdForms lists both). */
  intd(id: bigint | number): string {
    return this.intdForms(id)[0];
  }
  /** todo/ID in the form qmd's writer uses (todoForms lists both). */
  todo(id: bigint | number): string {
    return this.todoForms(id)[0];
  }
  /** Both names intd/ID may have, the writer's form first. */
  intdForms(id: bigint | number): [string, string] {
    return this.#forms("intd", id, this.intdSplit);
  }
  /** Both names todo/ID may have, the writer's form first. */
  todoForms(id: bigint | number): [string, string] {
    return this.#forms("todo", id, this.todoSplit);
  }
  /**
   * Every name an entry of `name` (todo, intd, info, local, remote) may have
   * for a message: split and flat. qmail writes info, local and remote split
   * only; checks that guard a message body look for both anyway.
   */
  entryForms(name: "todo" | "intd" | "info" | Channel, id: bigint | number): [string, string] {
    if (name === "todo") return this.todoForms(id);
    if (name === "intd") return this.intdForms(id);
    return this.#forms(name, id, true);
  }
  bounce(id: bigint | number): string {
    return `${this.root}/bounce/${id}`;
  }
  pid(name: string): string {
    return `${this.root}/pid/${name}`;
  }
  get pidDir(): string {
    return `${this.root}/pid`;
  }
  get trigger(): string {
    return `${this.root}/lock/trigger`;
  }
  get sendmutex(): string {
    return `${this.root}/lock/sendmutex`;
  }
  get tcpto(): string {
    return `${this.root}/lock/tcpto`;
  }

  #forms(name: string, id: bigint | number, splitFirst: boolean): [string, string] {
    const split = `${this.root}/${name}/${this.bucket(id)}/${id}`;
    const flat = `${this.root}/${name}/${id}`;
    return splitFirst ? [split, flat] : [flat, split];
  }

  /** A top-level directory of the queue (`mess`, `todo`, …), its split subdirectories aside. */
  directory(name: QueueDirectory): string {
    return `${this.root}/${name}`;
  }

  /**
   * Every directory a message can be found in, split ones expanded. todo/
   * and intd/ list themselves (flat entries) and their split subdirectories,
   * whichever form the writer uses.
   */
  directories(name: string): string[] {
    const buckets = Array.from({ length: this.split }, (_, i) => `${this.root}/${name}/${i}`);
    if ((SPLIT_DIRS as readonly string[]).includes(name)) return buckets;
    if (name === "todo" || name === "intd") return [`${this.root}/${name}`, ...buckets];
    return [`${this.root}/${name}`];
  }

  /**
   * Every message number found under a directory (qmail's readsubdir:
   * decimal names only), ascending and each once. Directories are not
   * entries: in todo/ and intd/ the split subdirectories sit among the flat
   * entries.
   */
  listIds(name: string): bigint[] {
    const ids = new Set<bigint>();
    for (const dir of this.directories(name)) {
      let entries: Iterable<Deno.DirEntry>;
      try {
        entries = Deno.readDirSync(dir);
      } catch (error) {
        if (error instanceof Deno.errors.NotFound) continue;
        throw error;
      }
      for (const entry of entries) {
        if (!entry.isDirectory && /^\d+$/.test(entry.name)) ids.add(BigInt(entry.name));
      }
    }
    return [...ids].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  }
}

/** A path relative to the queue, as qmail-send names files in its log ("todo/123"). */
export function queueName(layout: QueueLayout, path: string): string {
  return path.startsWith(`${layout.root}/`) ? path.slice(layout.root.length + 1) : path;
}

/**
 * Whether qmd writes a directory's entries split (big-todo: DIR/0 is a
 * directory) or flat. A heuristic, not qmail's: qmail knows its layout at
 * compile time. todo/ and intd/ are judged apart, so a queue whose intd/ was
 * left flat still gets entries its directories can hold.
 */
export function detectDirectorySplit(root: string, name: "todo" | "intd"): boolean {
  try {
    return Deno.statSync(`${root}/${name}/0`).isDirectory;
  } catch {
    return false;
  }
}

/**
 * The split of an existing queue: the number of consecutive decimal
 * subdirectories 0, 1, … of mess/ (qmail compiles conf-split in; a queue made
 * by another qmail may use another value). DEFAULT_SPLIT when mess/ has none.
 */
export function detectSplit(root: string): number {
  let split = 0;
  for (;;) {
    try {
      if (!Deno.statSync(`${root}/mess/${split}`).isDirectory) break;
    } catch {
      break;
    }
    split++;
  }
  return split > 0 ? split : DEFAULT_SPLIT;
}

/** The queue under a qmd home, its split and todo layout read from the disk. */
export function queueLayoutFor(home: string): QueueLayout {
  const root = `${home}/queue`;
  return new QueueLayout(root, { split: detectSplit(root) });
}
