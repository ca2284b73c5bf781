import { assertEquals } from "../../../tests/assert.ts";
import { type LogRecord, setLogSink } from "../../log.ts";
import { queueLayoutFor } from "../../queue/layout.ts";
import { CLEANUP_INTERVAL_SECONDS } from "../retry.ts";
import { CleanupSchedule } from "./cleanup_schedule.ts";

const layout = queueLayoutFor("/nonexistent-qmd-home");

Deno.test("the cleanup scanner runs at start, then once per interval, one run at a time", async () => {
  const runs: number[] = [];
  let settled = 0;
  const schedule = new CleanupSchedule(layout, (_layout, now) => {
    runs.push(now);
    return Promise.resolve();
  }, () => settled++);
  await schedule.runAtStart(() => 1000);
  assertEquals(runs, [1000]);
  assertEquals(schedule.wakeAt(), 1000 + CLEANUP_INTERVAL_SECONDS);
  schedule.startIfDue(1000 + CLEANUP_INTERVAL_SECONDS - 1);
  assertEquals(schedule.busy, undefined);
  schedule.startIfDue(1000 + CLEANUP_INTERVAL_SECONDS);
  schedule.startIfDue(1000 + CLEANUP_INTERVAL_SECONDS);
  assertEquals(schedule.wakeAt(), undefined);
  await schedule.busy;
  assertEquals(runs, [1000, 1000 + CLEANUP_INTERVAL_SECONDS]);
  assertEquals(settled, 1);
  assertEquals(schedule.wakeAt(), 1000 + 2 * CLEANUP_INTERVAL_SECONDS);
});

Deno.test("a failed periodic cleanup is logged and the next one is still scheduled", async () => {
  const logs: string[] = [];
  setLogSink((record: LogRecord) => logs.push(record.text), "send");
  try {
    const schedule = new CleanupSchedule(
      layout,
      () => Promise.reject(new Error("disk on fire")),
      () => {},
    );
    schedule.startIfDue(0);
    await schedule.busy;
    assertEquals(logs, ["warning: trouble cleaning up the queue: disk on fire"]);
    assertEquals(schedule.wakeAt(), CLEANUP_INTERVAL_SECONDS);
  } finally {
    setLogSink((record) => console.log(record.text), "main");
  }
});
