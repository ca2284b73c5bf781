/**
 * What each isolate costs: the CPU time of its own thread (each Worker runs
 * on one thread, so `process.threadCpuUsage()` inside it is that role's
 * CPU alone) and its V8 heap. `qmd status` shows it and `deno task bench
 * --profile` divides its growth by the messages of a bounded run.
 *
 * The supervisor asks every isolate with one numbered `usage` message;
 * each answers with its own figures (worker_loop.ts); the collector waits
 * for all of them or 2 s, and an isolate that did not answer in time is
 * listed without figures rather than holding the reply up.
 */
import process from "node:process";

/** One isolate's figures. CPU in milliseconds since the isolate started. */
export interface Usage {
  cpuUserMs: number;
  cpuSystemMs: number;
  heapUsedBytes: number;
  heapTotalBytes: number;
}

/** One isolate in the supervisor's answer: `role-N` (index from 1) and its figures, if it answered. */
export interface IsolateUsage {
  isolate: string;
  usage?: Usage;
}

/** How long the supervisor waits for the isolates' answers. */
const USAGE_TIMEOUT_MS = 2_000;

/** This thread's figures (the calling isolate's own). */
export function threadUsage(): Usage {
  const cpu = process.threadCpuUsage();
  const heap = Deno.memoryUsage();
  return {
    cpuUserMs: cpu.user / 1000,
    cpuSystemMs: cpu.system / 1000,
    heapUsedBytes: heap.heapUsed,
    heapTotalBytes: heap.heapTotal,
  };
}

interface Round {
  answers: Map<string, Usage>;
  expected: number;
  done: () => void;
}

/** The supervisor's side: numbered rounds of questions, one answer per isolate. */
export class UsageCollector {
  readonly #rounds = new Map<number, Round>();
  #next = 1;

  /**
   * Asks each isolate (`ask(request)` posts the question to it) and resolves
   * with every isolate's answer, the supervisor's own thread first.
   */
  collect(
    isolates: { key: string; ask: (request: number) => void }[],
    timeoutMs = USAGE_TIMEOUT_MS,
  ): Promise<IsolateUsage[]> {
    const request = this.#next++;
    const answers = new Map<string, Usage>();
    return new Promise((resolve) => {
      const finish = () => {
        clearTimeout(timer);
        this.#rounds.delete(request);
        resolve([
          { isolate: "supervisor", usage: threadUsage() },
          ...isolates.map(({ key }) => ({ isolate: key, usage: answers.get(key) })),
        ]);
      };
      const timer = setTimeout(finish, timeoutMs);
      this.#rounds.set(request, { answers, expected: isolates.length, done: finish });
      for (const isolate of isolates) isolate.ask(request);
      if (isolates.length === 0) finish();
    });
  }

  /** One isolate's answer to round `request` (a late one is dropped). */
  answer(request: number, key: string, usage: Usage): void {
    const round = this.#rounds.get(request);
    if (round === undefined) return;
    round.answers.set(key, usage);
    if (round.answers.size >= round.expected) round.done();
  }
}
