import { assertEquals } from "../../tests/assert.ts";
import { BulkJobs } from "./bulk_jobs.ts";

Deno.test("bulk jobs: one message at a time, in order; a failing step is a result; done counted", async () => {
  const jobs = new BulkJobs();
  const started: string[] = [];
  let running = 0;
  let most = 0;
  const gates: (() => void)[] = [];
  const job = jobs.start("hold", ["1", "2", "3"], async (id) => {
    started.push(id);
    most = Math.max(most, ++running);
    await new Promise<void>((resolve) => gates.push(resolve));
    running--;
    if (id === "2") throw new Error("not in the queue");
    return { id, ok: true, text: "held" };
  });
  assertEquals(jobs.find(job.id), job);
  for (let step = 0; step < 3; step++) {
    for (let turns = 0; turns < 10 && gates.length === 0; turns++) await Promise.resolve();
    assertEquals(job.results.length, step);
    assertEquals(job.finished, false);
    gates.shift()!();
  }
  for (let turns = 0; turns < 10 && !job.finished; turns++) await Promise.resolve();
  assertEquals(started, ["1", "2", "3"]);
  assertEquals(most, 1);
  assertEquals(job.finished, true);
  assertEquals(job.results, [
    { id: "1", ok: true, text: "held" },
    { id: "2", ok: false, text: "not in the queue" },
    { id: "3", ok: true, text: "held" },
  ]);
  assertEquals(jobs.find("no such job"), undefined);
});
