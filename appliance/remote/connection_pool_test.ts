import { assertEquals } from "../../tests/assert.ts";
import { ConnectionPool, poolKey } from "./connection_pool.ts";

class FakeConnection {
  closed = false;
  retired = 0;
  retire(): void {
    this.retired++;
    this.closed = true;
  }
}

Deno.test("pool: idle connections are reused by key, closed ones skipped", () => {
  const pool = new ConnectionPool<FakeConnection>({ idleMs: 60_000 });
  const key = poolKey("127.0.0.2", 25, false);
  const a = new FakeConnection();
  pool.put(key, a);
  assertEquals(pool.idleCount(key), 1);
  assertEquals(pool.take(poolKey("127.0.0.2", 25, true)), undefined);
  assertEquals(pool.take(key), a);
  const dead = new FakeConnection();
  pool.put(key, dead);
  dead.closed = true;
  assertEquals(pool.take(key), undefined);
  pool.put(key, a);
  pool.close();
  assertEquals(a.retired, 1);
});

Deno.test("pool: per-destination bound makes the next caller wait", async () => {
  const pool = new ConnectionPool<FakeConnection>({ maxPerDestination: 1 });
  const first = await pool.acquire("127.0.0.2:25");
  let got = false;
  const second = pool.acquire("127.0.0.2:25").then((slot) => {
    got = true;
    return slot;
  });
  await Promise.resolve();
  assertEquals(got, false);
  assertEquals(pool.busyCount("127.0.0.2:25"), 1);
  first.release();
  (await second).release();
  assertEquals(got, true);
  assertEquals(pool.busyCount("127.0.0.2:25"), 0);
  pool.close();
});
