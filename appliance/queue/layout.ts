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

/** Paths of one queue. `todoSplit` tells whether todo/ and intd/ use the big-todo layout. */
export class QueueLayout {
  readonly root: string;
  readonly split: number;
  readonly todoSplit: boolean;

  constructor(root: string, options: { split?: number; todoSplit?: boolean } = {}) {
    this.root = root;
    this.split = options.split ?? DEFAULT_SPLIT;
    this.todoSplit = options.todoSplit ?? detectTodoSplit(root);
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
  intd(id: bigint | number): string {
    return this.todoSplit
      ? `${this.root}/intd/${this.bucket(id)}/${id}`
      : `${this.root}/intd/${id}`;
  }
  todo(id: bigint | number): string {
    return this.todoSplit
      ? `${this.root}/todo/${this.bucket(id)}/${id}`
      : `${this.root}/todo/${id}`;
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

  /** Every directory a message can be found in, split ones expanded. */
  directories(name: string): string[] {
    const split = (SPLIT_DIRS as readonly string[]).includes(name) ||
      ((name === "todo" || name === "intd") && this.todoSplit);
    if (!split) return [`${this.root}/${name}`];
    return Array.from({ length: this.split }, (_, i) => `${this.root}/${name}/${i}`);
  }

  /** Every message number found under a directory (qmail's readsubdir: decimal names only). */
  listIds(name: string): bigint[] {
    const ids: bigint[] = [];
    for (const dir of this.directories(name)) {
      let entries: Iterable<Deno.DirEntry>;
      try {
        entries = Deno.readDirSync(dir);
      } catch (error) {
        if (error instanceof Deno.errors.NotFound) continue;
        throw error;
      }
      for (const entry of entries) {
        if (/^\d+$/.test(entry.name)) ids.push(BigInt(entry.name));
      }
    }
    return ids.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  }
}

/**
 * Whether todo/ uses the big-todo layout (todo/0 is a directory). This is a
 * heuristic, not qmail's: qmail knows its layout at compile time.
 */
export function detectTodoSplit(root: string): boolean {
  try {
    return Deno.statSync(`${root}/todo/0`).isDirectory;
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
