/**
 * The queue's layout and message states, as qmail keeps them (docs/queue-format.md
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
 *
 * qmd adds two directories qmail's programs never open (SIDECAR_DIRECTORIES):
 * hold/ID, a held message's marker, and deferral/ID, the last temporary
 * failure per recipient. Both are flat, made on first use, and removed with
 * the message; real qmail-send, qmail-qread and qmail-qstat ignore them.
 */

/** conf-split: the number of split subdirectories (qmail's default, 23). */
export const DEFAULT_SPLIT = 23;

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
 * The files under lock/: qmail's install makes tcpto (remote/tcpto.ts),
 * sendmutex (held by the send role) and the trigger FIFO (§2.1); qmd's
 * supervisor adds supervisor.pid (home/running.ts reads it).
 */
export type LockFile = "tcpto" | "sendmutex" | "trigger" | "supervisor.pid";

/** How a top-level directory is split into conf-split subdirectories. */
export type DirectorySplit =
  /** Never: pid/, bounce/, lock/. */
  | "none"
  /** Always, as vanilla qmail does: mess/, info/, local/, remote/. */
  | "split"
  /** In the big-todo layout only (§2.4): intd/, todo/. */
  | "big-todo";

/** The queue directory's own mode, as qmail's install makes it (hier.c). */
export const QUEUE_MODE = 0o750;

/** The top-level directories as qmail's install makes them (hier.c, §2.1), in its order. */
export const QUEUE_DIRECTORIES: readonly {
  name: QueueDirectory;
  mode: number;
  split: DirectorySplit;
}[] = [
  { name: "pid", mode: 0o700, split: "none" },
  { name: "mess", mode: 0o750, split: "split" },
  { name: "intd", mode: 0o700, split: "big-todo" },
  { name: "todo", mode: 0o750, split: "big-todo" },
  { name: "info", mode: 0o700, split: "split" },
  { name: "local", mode: 0o700, split: "split" },
  { name: "remote", mode: 0o700, split: "split" },
  { name: "bounce", mode: 0o700, split: "none" },
  { name: "lock", mode: 0o750, split: "none" },
];

/**
 * qmd's own per-message files beside qmail's layout (queue/held.ts,
 * queue/deferrals.ts): flat, made when first needed, ignored by qmail.
 */
export type SidecarDirectory = "hold" | "deferral";

export const SIDECAR_DIRECTORIES: readonly SidecarDirectory[] = ["hold", "deferral"];

/**
 * The directories qmail-queue writes while it takes a message in (S1→S4:
 * pid/, mess/, intd/, todo/); it then writes lock/trigger.
 */
export const INTAKE_DIRECTORIES: readonly QueueDirectory[] = ["pid", "mess", "intd", "todo"];

/** A top-level directory of the queue at `root`: `ROOT/mess`. */
export function queueDirectory(root: string, name: QueueDirectory): string {
  return `${root}/${name}`;
}

/** Split subdirectory `bucket` of a top-level directory: `ROOT/mess/7`. */
export function bucketDirectory(root: string, name: QueueDirectory, bucket: number): string {
  return `${queueDirectory(root, name)}/${bucket}`;
}

/** A file under the queue's lock/: `ROOT/lock/trigger`. */
export function lockFile(root: string, name: LockFile): string {
  return `${queueDirectory(root, "lock")}/${name}`;
}

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
  /** A sidecar of message `id`: hold/ID or deferral/ID. */
  sidecar(name: SidecarDirectory, id: bigint | number): string {
    return `${this.root}/${name}/${id}`;
  }
  /** A sidecar directory: hold/ or deferral/. */
  sidecarDirectory(name: SidecarDirectory): string {
    return `${this.root}/${name}`;
  }
  pid(name: string): string {
    return `${this.root}/pid/${name}`;
  }
  get pidDir(): string {
    return `${this.root}/pid`;
  }
  get trigger(): string {
    return lockFile(this.root, "trigger");
  }
  get sendmutex(): string {
    return lockFile(this.root, "sendmutex");
  }
  get tcpto(): string {
    return lockFile(this.root, "tcpto");
  }
  get supervisorPid(): string {
    return lockFile(this.root, "supervisor.pid");
  }

  #forms(name: string, id: bigint | number, splitFirst: boolean): [string, string] {
    const split = `${this.root}/${name}/${this.bucket(id)}/${id}`;
    const flat = `${this.root}/${name}/${id}`;
    return splitFirst ? [split, flat] : [flat, split];
  }

  /** A top-level directory of the queue (`mess`, `todo`, …), its split subdirectories aside. */
  directory(name: QueueDirectory): string {
    return queueDirectory(this.root, name);
  }

  /**
   * Every directory a message can be found in, split ones expanded. todo/
   * and intd/ list themselves (flat entries) and their split subdirectories,
   * whichever form the writer uses.
   */
  directories(name: QueueDirectory): string[] {
    const directory = QUEUE_DIRECTORIES.find((each) => each.name === name);
    const top = queueDirectory(this.root, name);
    if (directory === undefined || directory.split === "none") return [top];
    const buckets = Array.from({ length: this.split }, (_, i) => `${top}/${i}`);
    return directory.split === "split" ? buckets : [top, ...buckets];
  }

  /**
   * Every message number found under a directory (qmail's readsubdir:
   * decimal names only), ascending and each once. Directories are not
   * entries: in todo/ and intd/ the split subdirectories sit among the flat
   * entries. `only`: these of its directories alone (a hinted trigger).
   */
  listIds(name: QueueDirectory, only?: readonly string[]): bigint[] {
    const ids = new Set<bigint>();
    for (const dir of only ?? this.directories(name)) {
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
