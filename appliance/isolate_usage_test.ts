import { assert, assertEquals } from "../tests/assert.ts";
import { threadUsage, type Usage, UsageCollector } from "./isolate_usage.ts";

const FIGURES: Usage = { cpuUserMs: 5, cpuSystemMs: 1, heapUsedBytes: 10, heapTotalBytes: 20 };

Deno.test("isolate usage: this thread's CPU time grows with work done on it", () => {
  const before = threadUsage();
  let sum = 0;
  const until = Date.now() + 150;
  while (Date.now() < until) sum += Math.sqrt(sum + 1);
  const after = threadUsage();
  assert(sum > 0);
  assert(after.cpuUserMs + after.cpuSystemMs > before.cpuUserMs + before.cpuSystemMs);
  assert(after.heapUsedBytes > 0 && after.heapUsedBytes <= after.heapTotalBytes);
});

Deno.test("isolate usage: a round ends when every isolate answered, supervisor first", async () => {
  const collector = new UsageCollector();
  const asked: number[] = [];
  const round = collector.collect([
    { key: "smtpd 1", ask: (request) => asked.push(request) },
    { key: "send 1", ask: (request) => asked.push(request) },
  ], 60_000);
  assertEquals(asked.length, 2);
  assertEquals(asked[0], asked[1]);
  collector.answer(asked[0], "send 1", FIGURES);
  collector.answer(asked[0] + 1, "smtpd 1", FIGURES); // another round's number: dropped
  collector.answer(asked[0], "smtpd 1", { ...FIGURES, cpuUserMs: 7 });
  const answer = await round;
  assertEquals(answer.map((each) => each.isolate), ["supervisor", "smtpd 1", "send 1"]);
  assertEquals(answer[1].usage?.cpuUserMs, 7);
  assertEquals(answer[2].usage, FIGURES);
  assert(answer[0].usage !== undefined);
});

Deno.test("isolate usage: an isolate that does not answer in time is listed without figures", async () => {
  const collector = new UsageCollector();
  let number = 0;
  const round = collector.collect([
    { key: "local 1", ask: (request) => (number = request) },
    { key: "remote 1", ask: () => {} },
  ], 50);
  collector.answer(number, "local 1", FIGURES);
  const answer = await round;
  assertEquals(answer[1], { isolate: "local 1", usage: FIGURES });
  assertEquals(answer[2], { isolate: "remote 1", usage: undefined });
  collector.answer(number, "remote 1", FIGURES); // late: nothing waits for it, nothing breaks
});
