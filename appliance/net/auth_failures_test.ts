import { assertEquals, assertThrows } from "../../tests/assert.ts";
import {
  AUTH_FAILURE_LIMIT,
  AUTH_FAILURE_WINDOW_SECONDS,
  authFailureDelaySeconds,
  AuthFailures,
} from "./auth_failures.ts";

const T0 = 1_700_000_000;

Deno.test("record counts failures per IP and recent reads them", () => {
  const failures = new AuthFailures(AuthFailures.createBuffer());
  assertEquals(failures.recent("192.0.2.1", T0), 0);
  assertEquals(failures.record("192.0.2.1", T0), 1);
  assertEquals(failures.record("192.0.2.1", T0 + 10), 2);
  assertEquals(failures.record("192.0.2.1", T0 + 20), 3);
  assertEquals(failures.recent("192.0.2.1", T0 + 20), 3);
  assertEquals(failures.recent("192.0.2.2", T0 + 20), 0);
  assertEquals(failures.record("192.0.2.2", T0 + 20), 1);
  assertEquals(failures.recent("192.0.2.1", T0 + 20), 3);
});

Deno.test("the count restarts once the last failure is older than the window", () => {
  const failures = new AuthFailures(AuthFailures.createBuffer());
  for (let i = 1; i <= AUTH_FAILURE_LIMIT; i++) assertEquals(failures.record("10.9.9.9", T0), i);
  // Each failure renews the window.
  const last = T0 + AUTH_FAILURE_WINDOW_SECONDS;
  assertEquals(failures.record("10.9.9.9", last), AUTH_FAILURE_LIMIT + 1);
  assertEquals(failures.recent("10.9.9.9", last + AUTH_FAILURE_WINDOW_SECONDS), 11);
  assertEquals(failures.recent("10.9.9.9", last + AUTH_FAILURE_WINDOW_SECONDS + 1), 0);
  assertEquals(failures.record("10.9.9.9", last + AUTH_FAILURE_WINDOW_SECONDS + 1), 1);
});

Deno.test("a clock stepping back keeps counting and keeps the later time", () => {
  const failures = new AuthFailures(AuthFailures.createBuffer());
  assertEquals(failures.record("10.0.0.1", T0), 1);
  assertEquals(failures.record("10.0.0.1", T0 - 100), 2);
  assertEquals(failures.recent("10.0.0.1", T0 + AUTH_FAILURE_WINDOW_SECONDS), 2);
});

Deno.test("an IPv4-mapped address shares the IPv4 address's count", () => {
  const failures = new AuthFailures(AuthFailures.createBuffer());
  failures.record("::ffff:198.51.100.4", T0);
  assertEquals(failures.record("198.51.100.4", T0), 2);
});

Deno.test("the count stops at 65535 instead of wrapping", () => {
  const failures = new AuthFailures(AuthFailures.createBuffer());
  let count = 0;
  for (let i = 0; i < 70000; i++) count = failures.record("10.0.0.1", T0);
  assertEquals(count, 65535);
  assertEquals(failures.recent("10.0.0.1", T0), 65535);
});

Deno.test("a buffer of the wrong size is refused", () => {
  assertThrows(() => new AuthFailures(new SharedArrayBuffer(64)), RangeError);
});

Deno.test("authFailureDelaySeconds doubles from the base up to 60 s", () => {
  assertEquals(authFailureDelaySeconds(0, 2), 0);
  assertEquals(authFailureDelaySeconds(1, 2), 2);
  assertEquals(authFailureDelaySeconds(2, 2), 4);
  assertEquals(authFailureDelaySeconds(3, 2), 8);
  assertEquals(authFailureDelaySeconds(5, 2), 32);
  assertEquals(authFailureDelaySeconds(6, 2), 60);
  assertEquals(authFailureDelaySeconds(1000, 2), 60);
  // No base configured: grow from 1 s.
  assertEquals(authFailureDelaySeconds(1, 0), 1);
  assertEquals(authFailureDelaySeconds(4, 0), 8);
  assertEquals(authFailureDelaySeconds(7, 0), 60);
  // A base longer than the cap is kept, not shortened.
  assertEquals(authFailureDelaySeconds(1, 90), 90);
  assertEquals(authFailureDelaySeconds(3, 90), 90);
});

const WORKER_SOURCE = `
import { AuthFailures } from ${JSON.stringify(new URL("./auth_failures.ts", import.meta.url).href)};
self.onmessage = (event) => {
  const { buffer, barrier, rounds, ip, now, workers } = event.data;
  const failures = new AuthFailures(buffer);
  const ready = new Int32Array(barrier);
  Atomics.add(ready, 0, 1);
  Atomics.notify(ready, 0);
  for (let waits = 0; waits < 30; waits++) {
    const count = Atomics.load(ready, 0);
    if (count >= workers) break;
    Atomics.wait(ready, 0, count, 1000);
  }
  for (let i = 0; i < rounds; i++) failures.record(ip, now);
  self.postMessage("done");
};
`;

Deno.test("two Workers recording at once lose no failure", async () => {
  const buffer = AuthFailures.createBuffer();
  const barrier = new SharedArrayBuffer(4);
  const rounds = 20000;
  const url = URL.createObjectURL(new Blob([WORKER_SOURCE], { type: "application/javascript" }));
  const ips = ["203.0.113.5", "::ffff:203.0.113.5"];
  const workers = ips.map(() => new Worker(url, { type: "module" }));
  try {
    await Promise.all(workers.map((worker, i) =>
      new Promise<void>((resolve, reject) => {
        worker.onmessage = () => resolve();
        worker.onerror = (event) => {
          event.preventDefault();
          reject(new Error(event.message));
        };
        worker.postMessage({ buffer, barrier, rounds, ip: ips[i], now: T0, workers: 2 });
      })
    ));
  } finally {
    for (const worker of workers) worker.terminate();
    URL.revokeObjectURL(url);
  }
  assertEquals(new AuthFailures(buffer).recent("203.0.113.5", T0), 2 * rounds);
});
