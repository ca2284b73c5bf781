/**
 * A send engine over a real temporary queue for tests: injected clock, no
 * timers, no trigger watcher, deliveries collected instead of posted.
 */
import type { DeliveryJob } from "../../ipc.ts";
import { type LogRecord, setLogSink } from "../../log.ts";
import { stringToBytes } from "../../bytes.ts";
import { injectMessage } from "../../queue/qmail_queue.ts";
import type { Channel, QueueLayout } from "../../queue/layout.ts";
import { SendEngine, type SendEngineOptions } from "./send_engine.ts";
import { makeTestQueue } from "../../queue/test_queue.ts";

const b = (text: string) => stringToBytes(text);

/** 5 Mar 2024 07:08:09 UTC: the engine's clock starts here. */
export const BIRTH = 1_709_622_489;

export interface Harness {
  home: string;
  layout: QueueLayout;
  clock: { now: number };
  jobs: { job: DeliveryJob; channel: Channel }[];
  logs: string[];
  engine: SendEngine;
  newEngine(options?: Partial<SendEngineOptions>): SendEngine;
  queue(sender: string, recipients: string[], body?: string): Promise<bigint>;
}

export async function withSend(
  run: (h: Harness) => Promise<void>,
  options: {
    controls?: Record<string, string>;
    todoSplit?: boolean;
    engine?: Partial<SendEngineOptions>;
  } = {},
): Promise<void> {
  const home = await Deno.makeTempDir({ prefix: "qmd-send-" });
  const engines: SendEngine[] = [];
  try {
    Deno.mkdirSync(`${home}/control`);
    const controls = {
      me: "mx.example.com",
      locals: "mx.example.com\nlocalhost",
      virtualdomains: "nowhere.mil:joe-foo",
      ...options.controls,
    };
    for (const [name, text] of Object.entries(controls)) {
      Deno.writeTextFileSync(`${home}/control/${name}`, `${text}\n`);
    }
    const layout = makeTestQueue(home, { todoSplit: options.todoSplit });
    const clock = { now: BIRTH };
    const jobs: Harness["jobs"] = [];
    const logs: string[] = [];
    setLogSink((record: LogRecord) => logs.push(record.text), "send");
    const newEngine = (extra: Partial<SendEngineOptions> = {}) => {
      const engine = new SendEngine({
        home,
        layout,
        now: () => clock.now,
        deliver: (job, channel) => jobs.push({ job, channel }),
        timers: false,
        watchTrigger: false,
        ...options.engine,
        ...extra,
      });
      engines.push(engine);
      return engine;
    };
    const queue = async (sender: string, recipients: string[], body = "Subject: t\n\nbody\n") => {
      const { id } = await injectMessage(layout, b(body), b(sender), recipients.map(b), {
        pid: 4242,
        who: "by uid 1000",
        now: new Date(clock.now * 1000),
      });
      return id;
    };
    await run({ home, layout, clock, jobs, logs, engine: newEngine(), newEngine, queue });
  } finally {
    for (const engine of engines) engine.close();
    setLogSink((record) => console.log(record.text), "main");
    await Deno.remove(home, { recursive: true });
  }
}

/**
 * This process's descriptors open on a queue's channel files, `local/NN/ID` (tests run side by
 * side; the split directories themselves are held open too).
 */
export function channelFilesOpen(directory: string): number {
  let count = 0;
  for (const entry of Deno.readDirSync("/proc/self/fd")) {
    try {
      const target = Deno.readLinkSync(`/proc/self/fd/${entry.name}`);
      if (
        target.startsWith(`${directory}/`) && /^\d+\/\d+$/.test(target.slice(directory.length + 1))
      ) count++;
    } catch {
      // closed meanwhile
    }
  }
  return count;
}
