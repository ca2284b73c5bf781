import { assert, assertEquals } from "../tests/assert.ts";
import type { LogRecord } from "./log.ts";
import { BATCH_MS, HARD_LIMIT, LogBacklog, RESUME_BELOW, SOFT_LIMIT } from "./log_backlog.ts";

function record(event: string, text = event): LogRecord {
  return { time: 0, role: "smtpd", event, text, fields: {} };
}

/** A worker's side and the supervisor's side over one buffer, as the roles use them. */
function pair() {
  const sent: LogRecord[][] = [];
  const worker = new LogBacklog();
  const supervisor = new LogBacklog(worker.buffer);
  const sink = worker.sink((records) => sent.push(records));
  return { sent, worker, supervisor, sink };
}

Deno.test("log backlog: records go out in order, in batches, counted until written", () => {
  const { sent, worker, supervisor, sink } = pair();
  for (let i = 0; i < 600; i++) sink(record("smtp_in", `line ${i}`));
  worker.flush();
  assertEquals(sent.map((batch) => batch.length), [256, 256, 88]);
  assertEquals(sent.flat().map((r) => r.text)[599], "line 599");
  assertEquals(supervisor.inFlight, 600);
  supervisor.written(600);
  assertEquals(worker.inFlight, 0);
});

Deno.test("log backlog: a session's records within BATCH_MS go as one message", async () => {
  const { sent, sink } = pair();
  sink(record("smtp_connect"));
  // Due before the batch's timer, which was set first for BATCH_MS.
  await new Promise((resolve) => setTimeout(resolve, BATCH_MS / 5));
  sink(record("smtp_queued"));
  sink(record("smtp_close"));
  // Not after a turn of the event loop, nor a few ms: the batch waits for BATCH_MS.
  assertEquals(sent.length, 0);
  // A later timer fires after the batch's.
  await new Promise((resolve) => setTimeout(resolve, BATCH_MS * 2));
  assertEquals(sent.map((batch) => batch.map((r) => r.event)), [
    ["smtp_connect", "smtp_queued", "smtp_close"],
  ]);
});

Deno.test("log backlog: past the soft limit the drivers wait until the writer caught up", async () => {
  const { worker, supervisor, sink } = pair();
  assertEquals(worker.pressure(), undefined);
  for (let i = 0; i < SOFT_LIMIT; i++) sink(record("smtp_out"));
  worker.flush();
  const waiting = worker.pressure();
  assert(waiting !== undefined);
  let resumed = false;
  waiting.then(() => resumed = true);
  await new Promise((resolve) => setTimeout(resolve, 30));
  assert(!resumed, "still waiting while the writer is behind");
  supervisor.written(SOFT_LIMIT - RESUME_BELOW + 1);
  await waiting;
  assertEquals(worker.pressure(), undefined);
});

Deno.test("log backlog: past the hard limit dialogue records are dropped and counted, other events never", () => {
  const { sent, worker, supervisor, sink } = pair();
  for (let i = 0; i < HARD_LIMIT; i++) sink(record("smtp_in"));
  worker.flush();
  sink(record("smtp_in", "dropped 1"));
  sink(record("smtp_out", "dropped 2"));
  sink(record("smtp_close", "kept"));
  worker.flush();
  assertEquals(sent.at(-1)!.map((r) => r.text), [
    "warning: 2 session log records dropped: the log writer fell behind",
    "kept",
  ]);
  supervisor.written(HARD_LIMIT + 2);
  sink(record("smtp_in", "through again"));
  worker.flush();
  assertEquals(sent.at(-1)!.map((r) => r.text), ["through again"]);
});
