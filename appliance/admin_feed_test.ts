import { assertEquals } from "../tests/assert.ts";
import { AdminFeed } from "./admin_feed.ts";
import type { ToRole } from "./ipc.ts";
import type { LogRecord } from "./log.ts";

function record(text: string): LogRecord {
  return { time: 1, role: "send", event: "delivery_success", text, fields: { channel: "local" } };
}

Deno.test("admin feed: records go in one batch with the counters; without a console they are only counted", () => {
  const posted: ToRole[] = [];
  const feed = new AdminFeed((message) => posted.push(message), true);
  feed.record(record("one"));
  feed.record(record("two"));
  feed.flush();
  assertEquals(posted.length, 1);
  const batch = posted[0] as Extract<ToRole, { type: "admin-feed" }>;
  assertEquals(batch.records.map((each) => each.text), ["one", "two"]);
  assertEquals(batch.counters.deliveries, { local: 2 });
  feed.stop();

  const silent: ToRole[] = [];
  const off = new AdminFeed((message) => silent.push(message), false);
  off.record(record("three"));
  off.flush();
  assertEquals(silent, []);
});
