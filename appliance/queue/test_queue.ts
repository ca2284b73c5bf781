/**
 * A real, empty qmail queue in a temporary directory for tests, laid out as
 * the qmail installer lays it out (qmail-formats.md §2.1), big-todo split
 * included unless asked otherwise.
 */
import { DEFAULT_SPLIT, QueueLayout } from "./layout.ts";
import { makeFifo } from "./trigger.ts";

export interface TestQueueOptions {
  split?: number;
  /** Whether todo/ and intd/ are split (big-todo, §2.4); default true, as qmd init makes them. */
  todoSplit?: boolean;
}

/** Creates HOME/queue with every directory, lock/tcpto, lock/sendmutex and the lock/trigger FIFO. */
export function makeTestQueue(home: string, options: TestQueueOptions = {}): QueueLayout {
  const split = options.split ?? DEFAULT_SPLIT;
  const todoSplit = options.todoSplit ?? true;
  const root = `${home}/queue`;
  const dir = (path: string, mode: number) => {
    Deno.mkdirSync(path, { recursive: true });
    Deno.chmodSync(path, mode);
  };
  dir(root, 0o750);
  dir(`${root}/pid`, 0o700);
  dir(`${root}/bounce`, 0o700);
  dir(`${root}/lock`, 0o750);
  const splitDirs: [string, number, boolean][] = [
    ["mess", 0o750, true],
    ["info", 0o700, true],
    ["local", 0o700, true],
    ["remote", 0o700, true],
    ["intd", 0o700, todoSplit],
    ["todo", 0o750, todoSplit],
  ];
  for (const [name, mode, isSplit] of splitDirs) {
    dir(`${root}/${name}`, mode);
    if (isSplit) { for (let i = 0; i < split; i++) dir(`${root}/${name}/${i}`, mode); }
  }
  Deno.writeFileSync(`${root}/lock/tcpto`, new Uint8Array(1024), { mode: 0o644 });
  Deno.writeFileSync(`${root}/lock/sendmutex`, new Uint8Array(0), { mode: 0o600 });
  makeFifo(`${root}/lock/trigger`, 0o622);
  return new QueueLayout(root, { split, todoSplit });
}
