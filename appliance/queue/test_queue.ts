/**
 * A real, empty qmail queue in a temporary directory for tests, laid out as
 * the qmail installer lays it out (docs/queue-format.md §2.1), big-todo split
 * included unless asked otherwise.
 */
import { stringToBytes } from "../bytes.ts";
import { buildRoutingTable } from "../send/routing.ts";
import { DEFAULT_SPLIT, QueueLayout } from "./layout.ts";
import { injectMessage } from "./qmail_queue.ts";
import { makeFifo } from "./trigger.ts";

/** The clock queue tests run at: 5 Mar 2024 07:08:09 UTC. */
export const TEST_NOW = 1_709_622_489;
export const TEST_DATE = new Date(TEST_NOW * 1000);

/** Routing for queue tests: mx.example.com is local, nowhere.mil is virtual (prefix joe-foo). */
export const testRoutingTable = buildRoutingTable({
  envnoathost: "mx.example.com",
  locals: ["mx.example.com"],
  percenthack: [],
  virtualdomains: ["nowhere.mil:joe-foo"],
});

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

/** Runs `run` on a fresh test queue in a temporary home, removed afterwards. */
export async function withTestQueue(
  run: (layout: QueueLayout, home: string) => Promise<void> | void,
  options: TestQueueOptions = {},
): Promise<void> {
  const home = await Deno.makeTempDir({ prefix: "qmd-queue-test-" });
  try {
    await run(makeTestQueue(home, options), home);
  } finally {
    await Deno.remove(home, { recursive: true });
  }
}

/** Queues a message as `qmail-inject` run by uid 1000 (pid 4242) would at TEST_DATE. */
export function injectTestMessage(
  layout: QueueLayout,
  sender: string,
  recipients: string[],
  body = "Subject: t\n\nx\n",
): ReturnType<typeof injectMessage> {
  return injectMessage(
    layout,
    stringToBytes(body),
    stringToBytes(sender),
    recipients.map(stringToBytes),
    { pid: 4242, who: "by uid 1000", now: TEST_DATE },
  );
}

/** Whether anything (a dangling link included) stands at `path`. */
export function pathExists(path: string): boolean {
  try {
    Deno.lstatSync(path);
    return true;
  } catch {
    return false;
  }
}

/** A message as a vanilla (big-todo-less) qmail-queue leaves it; see writeVanillaMessage. */
export interface VanillaMessage {
  /** qmail-queue's own Received line, with its LF. */
  received: string;
  body: string;
  uid: number;
  pid: number;
  sender: string;
  recipients: string[];
}

/**
 * Writes a message the way vanilla qmail-queue does (docs/queue-format.md §3.2),
 * independently of qmd's writer: pid/PID.TIME.1 created O_EXCL with mode
 * 0644, its inode number as the message number, linked to mess/NN/ID and
 * unlinked; the Received line and the body; then the flat intd/ID (mode
 * 0644: `u`, `p`, `F`, `T` records, no final NUL) hard-linked to the flat
 * todo/ID, whatever layout the queue's directories have. Returns the number.
 */
export function writeVanillaMessage(layout: QueueLayout, message: VanillaMessage): bigint {
  const encoder = new TextEncoder();
  const pidPath = `${layout.root}/pid/${message.pid}.${Math.floor(Date.now() / 1000)}.1`;
  const file = Deno.openSync(pidPath, { write: true, createNew: true, mode: 0o644 });
  Deno.chmodSync(pidPath, 0o644);
  const id = BigInt(file.statSync().ino!);
  const mess = `${layout.root}/mess/${id % BigInt(layout.split)}/${id}`;
  Deno.linkSync(pidPath, mess);
  Deno.removeSync(pidPath);
  const content = encoder.encode(message.received + message.body);
  for (let offset = 0; offset < content.length;) offset += file.writeSync(content.subarray(offset));
  file.close();
  const records = [
    `u${message.uid}`,
    `p${message.pid}`,
    `F${message.sender}`,
    ...message.recipients.map((recipient) => `T${recipient}`),
  ].map((record) => `${record}\0`).join("");
  Deno.writeFileSync(`${layout.root}/intd/${id}`, encoder.encode(records), {
    createNew: true,
    mode: 0o644,
  });
  Deno.chmodSync(`${layout.root}/intd/${id}`, 0o644);
  Deno.linkSync(`${layout.root}/intd/${id}`, `${layout.root}/todo/${id}`);
  return id;
}
