import { assertEquals, assertRejects } from "../../tests/assert.ts";
import { startFakeMx } from "../../tests/fakes/fake_mx.ts";
import { ClientSocketError, connectClient, ConnectionPool, poolKey } from "./connection_pool.ts";

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

Deno.test("client socket: multi-line replies; refused connection", async () => {
  const mx = await startFakeMx({ host: "127.0.0.2" });
  try {
    const socket = await connectClient({ ip: "127.0.0.2", port: mx.port, timeoutMs: 5000 });
    assertEquals((await socket.readReply(5000))[0].slice(0, 4), "220 ");
    await socket.write("EHLO qmd.test\r\n", 5000);
    const ehlo = await socket.readReply(5000);
    assertEquals(ehlo.length > 1, true);
    assertEquals(ehlo.slice(0, -1).every((line) => line[3] === "-"), true);
    await socket.write("QUIT\r\n", 5000);
    await socket.readReply(5000);
    socket.close();
  } finally {
    await mx.close();
  }
  const error = await assertRejects(
    () => connectClient({ ip: "127.0.0.2", port: mx.port, timeoutMs: 5000 }),
    ClientSocketError,
  );
  assertEquals((error as ClientSocketError).kind, "refused");
});
