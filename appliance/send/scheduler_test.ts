import { assert, assertEquals } from "../../tests/assert.ts";
import { ChannelScheduler, DueQueue, settleReport, SlotPool } from "./scheduler.ts";

Deno.test("DueQueue hands out entries earliest first, only when due", () => {
  const queue = new DueQueue();
  const dues = [50, 10, 40, 30, 20, 60, 5];
  dues.forEach((due, i) => queue.insert(BigInt(i), due));
  assertEquals(queue.peek()?.due, 5);
  assertEquals(queue.takeDue(4), undefined);
  const taken: number[] = [];
  for (let entry = queue.takeDue(45); entry; entry = queue.takeDue(45)) taken.push(entry.due);
  assertEquals(taken, [5, 10, 20, 30, 40]);
  assertEquals(queue.size, 2);
  assertEquals(queue.has(0n), true);
  assertEquals(queue.has(1n), false);
  queue.makeAllDue(45);
  assertEquals(queue.drain().map((entry) => entry.due), [45, 45]);
  assertEquals(queue.size, 0);
});

Deno.test("DueQueue keeps heap order over many operations", () => {
  const queue = new DueQueue();
  let seed = 7;
  const next = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31);
  for (let i = 0; i < 500; i++) queue.insert(BigInt(i), next() % 1000);
  let last = -1;
  for (let entry = queue.takeDue(1000); entry; entry = queue.takeDue(1000)) {
    assertEquals(entry.due >= last, true);
    last = entry.due;
  }
});

Deno.test("SlotPool hands out the lowest free slot up to its limit", () => {
  const pool = new SlotPool(2);
  assertEquals(pool.acquire(), 0);
  assertEquals(pool.acquire(), 1);
  assertEquals(pool.acquire(), undefined);
  assertEquals(pool.release(0), true);
  assertEquals(pool.release(0), false);
  assertEquals(pool.acquire(), 0);
  pool.limit = 1;
  assertEquals(pool.available, false);
  pool.release(0);
  assertEquals(pool.available, false);
  pool.release(1);
  assertEquals(pool.acquire(), 0);
  assertEquals(pool.used(), [0]);
  pool.limit = 0;
  assertEquals(pool.available, false);
});

const record = (offset: number, address: string, done = false) => ({ offset, address, done });

Deno.test("ChannelScheduler: a pass starts one delivery per free slot, then ends", () => {
  const channel = new ChannelScheduler("local", 2);
  channel.queue.insert(7n, 100);
  assertEquals(channel.takeDue(99), undefined);
  assertEquals(channel.takeDue(100), 7n);
  channel.openPass(
    7n,
    { sender: "list-@l.org-@[]", birth: 100 },
    [record(0, "a@x"), record(5, "b@x", true), record(10, "c@y"), record(15, "d@z")],
    false,
    100,
    604800,
  );
  let delid = 1;
  const next = () => channel.step(() => delid++, 100);
  const first = next();
  assert(first?.kind === "deliver");
  assertEquals([first.delivery.slot, first.delivery.delid, first.delivery.offset], [0, 1, 0]);
  assertEquals(first.sender, "list-a=x@l.org");
  const second = next();
  assert(second?.kind === "deliver");
  assertEquals([second.delivery.slot, second.delivery.recipient], [1, "c@y"]);
  assertEquals(next(), undefined, "no free slot");
  assertEquals(channel.takeDue(100), undefined, "the pass is still open");
  // K for slot 0: the record is done, the slot frees, the pass goes on.
  const done = channel.takeDelivery(0)!;
  done.job.open--;
  assertEquals(channel.release(done.job, 100), { kind: "pending" });
  const third = next();
  assert(third?.kind === "deliver");
  assertEquals([third.delivery.slot, third.delivery.recipient], [0, "d@z"]);
  const end = next();
  assert(end?.kind === "end");
  assertEquals([end.corrupt, end.release], [false, { kind: "pending" }]);
  // Z for slot 1 (stays open), K for slot 0: the last reference reschedules at the retry time.
  assertEquals(channel.release(channel.takeDelivery(1)!.job, 120), { kind: "pending" });
  const last = channel.takeDelivery(0)!;
  last.job.open--;
  assertEquals(channel.release(last.job, 130), { kind: "rescheduled", due: 200 });
  assertEquals(channel.queue.entries(), [{ id: 7n, due: 200 }]);
  assertEquals(channel.takeDelivery(0), undefined);
});

Deno.test("ChannelScheduler: all records done completes the job; corrupt files reschedule", () => {
  const channel = new ChannelScheduler("remote", 1);
  channel.openPass(1n, { sender: "", birth: 0 }, [record(0, "a@b", true)], false, 50, 604800);
  const end = channel.step(() => 1, 50);
  assertEquals(end?.kind === "end" && end.release, { kind: "complete" });

  channel.openPass(2n, { sender: "", birth: 0 }, [], true, 50, 604800);
  const corrupt = channel.step(() => 1, 50);
  assert(corrupt?.kind === "end");
  assertEquals(corrupt.corrupt, true);
  // isqrt(50) = 7, + 20 = 27 -> 729.
  assertEquals(corrupt.release, { kind: "rescheduled", due: 729 });
});

Deno.test("ChannelScheduler: an abandoned pass is due again at once; dying jobs", () => {
  const channel = new ChannelScheduler("local", 1);
  channel.openPass(
    3n,
    { sender: "s@x", birth: 0 },
    [record(0, "a@b"), record(4, "c@d")],
    false,
    604801,
    604800,
  );
  const step = channel.step(() => 1, 604801);
  assert(step?.kind === "deliver");
  assertEquals(step.delivery.job.dying, true);
  assertEquals(channel.abandon(604900), { kind: "pending" });
  assertEquals(channel.passOpen, false);
  const delivery = channel.takeDelivery(0)!;
  assertEquals(channel.release(delivery.job, 604950), { kind: "rescheduled", due: 604950 });
});

Deno.test("settleReport: K, Z, D, dying Z and mangled reports", () => {
  assertEquals(settleReport("K", "ok\n", false), { outcome: "success", text: "ok\n" });
  assertEquals(settleReport("Z", "busy\n", false), { outcome: "deferral", text: "busy\n" });
  assertEquals(settleReport("D", "no\n", true), { outcome: "failure", text: "no\n" });
  assertEquals(settleReport("Z", "busy\n", true), {
    outcome: "failure",
    text: "busy\nI'm not going to try again; this message has been in the queue too long.\n",
  });
  assertEquals(settleReport("?", "x", false).outcome, "mangled");
  assertEquals(settleReport("K", "x".repeat(20000), false).text.length, 9998);
});
