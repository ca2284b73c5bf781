import { assert, assertEquals, assertThrows } from "../../tests/assert.ts";
import {
  ConnectionLimits,
  createLimitsBuffer,
  IP_BUCKETS,
  ipBucket,
  normalizeIp,
  STRESS_LOG_INTERVAL,
  stressBegins,
  type StressChange,
  stressEnds,
} from "./connection_limits.ts";

const UNLIMITED = { maxTotal: 0, maxPerIp: 0 };

Deno.test("tryAcquire counts sessions up to the total limit and release frees a slot", () => {
  const limits = new ConnectionLimits(createLimitsBuffer());
  const settings = { maxTotal: 3, maxPerIp: 0 };
  assertEquals(limits.tryAcquire("10.0.0.1", settings), "ok");
  assertEquals(limits.tryAcquire("10.0.0.2", settings), "ok");
  assertEquals(limits.tryAcquire("10.0.0.3", settings), "ok");
  assertEquals(limits.tryAcquire("10.0.0.4", settings), "total");
  assertEquals(limits.total(), 3);
  assertEquals(limits.perIp("10.0.0.4"), 0);
  limits.release("10.0.0.2");
  assertEquals(limits.total(), 2);
  assertEquals(limits.tryAcquire("10.0.0.4", settings), "ok");
  assertEquals(limits.total(), 3);
});

Deno.test("tryAcquire refuses a fourth session from one IP and rolls the total back", () => {
  const limits = new ConnectionLimits(createLimitsBuffer());
  const settings = { maxTotal: 100, maxPerIp: 3 };
  for (let i = 0; i < 3; i++) assertEquals(limits.tryAcquire("192.0.2.7", settings), "ok");
  assertEquals(limits.tryAcquire("192.0.2.7", settings), "per-ip");
  assertEquals(limits.perIp("192.0.2.7"), 3);
  assertEquals(limits.total(), 3);
  assertEquals(limits.tryAcquire("192.0.2.8", settings), "ok");
  limits.release("192.0.2.7");
  assertEquals(limits.tryAcquire("192.0.2.7", settings), "ok");
  assertEquals(limits.total(), 4);
});

Deno.test("an IPv4-mapped IPv6 address counts as the IPv4 address", () => {
  const limits = new ConnectionLimits(createLimitsBuffer());
  const settings = { maxTotal: 0, maxPerIp: 1 };
  assertEquals(limits.tryAcquire("::ffff:127.0.0.1", settings), "ok");
  assertEquals(limits.tryAcquire("127.0.0.1", settings), "per-ip");
  assertEquals(limits.tryAcquire("::FFFF:127.0.0.1", settings), "per-ip");
  limits.release("127.0.0.1");
  assertEquals(limits.total(), 0);
  assertEquals(limits.perIp("::ffff:127.0.0.1"), 0);
  assertEquals(normalizeIp("::ffff:1.2.3.4"), "1.2.3.4");
  assertEquals(normalizeIp("2001:DB8::1"), "2001:db8::1");
  assertEquals(normalizeIp("::ffff:1.2.3"), "::ffff:1.2.3");
});

Deno.test("0 means unlimited for both limits", () => {
  const limits = new ConnectionLimits(createLimitsBuffer());
  for (let i = 0; i < 1000; i++) assertEquals(limits.tryAcquire("10.1.1.1", UNLIMITED), "ok");
  assertEquals(limits.total(), 1000);
  assertEquals(limits.perIp("10.1.1.1"), 1000);
});

Deno.test("ipBucket stays within the table and spreads neighbouring addresses", () => {
  const buckets = new Set<number>();
  for (let i = 0; i < 256; i++) {
    const bucket = ipBucket(`10.0.0.${i}`);
    assert(bucket >= 0 && bucket < IP_BUCKETS && Number.isInteger(bucket));
    buckets.add(bucket);
  }
  assert(buckets.size > 250, `only ${buckets.size} buckets for 256 addresses`);
});

Deno.test("two ConnectionLimits over one buffer see the same counters", () => {
  const buffer = createLimitsBuffer();
  const first = new ConnectionLimits(buffer);
  const second = new ConnectionLimits(buffer);
  assertEquals(first.tryAcquire("10.0.0.1", { maxTotal: 1, maxPerIp: 0 }), "ok");
  assertEquals(second.tryAcquire("10.0.0.2", { maxTotal: 1, maxPerIp: 0 }), "total");
  second.release("10.0.0.1");
  assertEquals(first.total(), 0);
});

Deno.test("a buffer of the wrong size is refused", () => {
  assertThrows(() => new ConnectionLimits(new SharedArrayBuffer(16)), RangeError);
});

/**
 * A worker that waits for the others, then acquires and releases `rounds`
 * times. `holders` (a second shared buffer) counts who holds a slot right
 * now: with a limit of 1 a holder must always be alone (`maxHolders` 1),
 * which only an atomic check-and-increment guarantees.
 */
const WORKER_SOURCE = `
import { ConnectionLimits } from ${
  JSON.stringify(new URL("./connection_limits.ts", import.meta.url).href)
};
self.onmessage = (event) => {
  const { buffer, holders, rounds, ip, settings, maxHolders, workers } = event.data;
  const limits = new ConnectionLimits(buffer);
  const held = new Int32Array(holders);
  // Start together: slot 1 counts the workers that are ready.
  Atomics.add(held, 1, 1);
  Atomics.notify(held, 1);
  for (let waits = 0; waits < 30; waits++) {
    const ready = Atomics.load(held, 1);
    if (ready >= workers) break;
    Atomics.wait(held, 1, ready, 1000);
  }
  let ok = 0, refused = 0, overlaps = 0;
  for (let i = 0; i < rounds; i++) {
    if (limits.tryAcquire(ip, settings) !== "ok") { refused++; continue; }
    ok++;
    if (Atomics.add(held, 0, 1) + 1 > maxHolders && maxHolders > 0) overlaps++;
    Atomics.sub(held, 0, 1);
    limits.release(ip);
  }
  self.postMessage({ ok, refused, overlaps });
};
`;

interface WorkerResult {
  ok: number;
  refused: number;
  overlaps: number;
}

async function hammer(
  buffer: SharedArrayBuffer,
  settings: { maxTotal: number; maxPerIp: number },
  ips: string[],
  rounds: number,
  maxHolders = 0,
): Promise<WorkerResult[]> {
  const url = URL.createObjectURL(new Blob([WORKER_SOURCE], { type: "application/javascript" }));
  const holders = new SharedArrayBuffer(8);
  const workers = ips.map(() => new Worker(url, { type: "module" }));
  try {
    return await Promise.all(
      workers.map((worker, i) =>
        new Promise<WorkerResult>((resolve, reject) => {
          worker.onmessage = (event) => resolve(event.data);
          worker.onerror = (event) => {
            event.preventDefault();
            reject(new Error(event.message));
          };
          worker.postMessage({
            buffer,
            holders,
            rounds,
            ip: ips[i],
            settings,
            maxHolders,
            workers: workers.length,
          });
        })
      ),
    );
  } finally {
    for (const worker of workers) worker.terminate();
    URL.revokeObjectURL(url);
  }
}

Deno.test("two Workers acquiring and releasing leave every counter at 0", async () => {
  const buffer = createLimitsBuffer();
  const rounds = 20000;
  const results = await hammer(buffer, UNLIMITED, ["10.0.0.1", "::ffff:10.0.0.1"], rounds);
  for (const result of results) assertEquals(result, { ok: rounds, refused: 0, overlaps: 0 });
  const limits = new ConnectionLimits(buffer);
  assertEquals(limits.total(), 0);
  assertEquals(limits.perIp("10.0.0.1"), 0);
});

// Which worker wins how often is the scheduler's business; exclusion and final counts are fixed.
Deno.test("two Workers racing for a single slot never hold it together", async () => {
  const buffer = createLimitsBuffer();
  const rounds = 20000;
  const results = await hammer(
    buffer,
    { maxTotal: 1, maxPerIp: 0 },
    ["10.0.0.1", "10.0.0.2"],
    rounds,
    1,
  );
  for (const result of results) {
    assertEquals(result.overlaps, 0);
    assertEquals(result.ok + result.refused, rounds);
  }
  const limits = new ConnectionLimits(buffer);
  assertEquals(limits.total(), 0);
  assertEquals(limits.perIp("10.0.0.1"), 0);
  assertEquals(limits.perIp("10.0.0.2"), 0);
});

Deno.test("two Workers from one IP respect the per-IP limit", async () => {
  const buffer = createLimitsBuffer();
  const rounds = 20000;
  const results = await hammer(
    buffer,
    { maxTotal: 0, maxPerIp: 1 },
    ["192.0.2.1", "::ffff:192.0.2.1"],
    rounds,
    1,
  );
  for (const result of results) {
    assertEquals(result.overlaps, 0);
    assertEquals(result.ok + result.refused, rounds);
  }
  const limits = new ConnectionLimits(buffer);
  assertEquals(limits.total(), 0);
  assertEquals(limits.perIp("192.0.2.1"), 0);
});

/** A ConnectionLimits that records the stress changes it reports. */
function watched(buffer: SharedArrayBuffer, now: () => number = () => 1_700_000_000_000) {
  const changes: StressChange[] = [];
  const limits = new ConnectionLimits(buffer, {
    onStressChange: (change) => changes.push(change),
    now,
  });
  return { limits, changes };
}

Deno.test("stress begins when 80 % of maxTotal is in use and ends below 60 %", () => {
  const { limits, changes } = watched(createLimitsBuffer());
  const settings = { maxTotal: 10, maxPerIp: 0 };
  for (let i = 1; i <= 7; i++) assertEquals(limits.tryAcquire(`10.0.0.${i}`, settings), "ok");
  assertEquals(limits.stressed(), false);
  assertEquals(limits.tryAcquire("10.0.0.8", settings), "ok");
  assertEquals(limits.stressed(), true);
  assertEquals(changes, [{ stressed: true, inUse: 8, maxTotal: 10 }]);
  // 7 and 6 in use (70 %, 60 %): still under stress.
  limits.release("10.0.0.8", 10);
  limits.release("10.0.0.7", 10);
  assertEquals(limits.stressed(), true);
  limits.release("10.0.0.6", 10);
  assertEquals(limits.stressed(), false);
  assertEquals(changes[1], { stressed: false, inUse: 5, maxTotal: 10 });
  assertEquals(stressBegins(160, 200), true);
  assertEquals(stressBegins(159, 200), false);
  assertEquals(stressEnds(120, 200), false);
  assertEquals(stressEnds(119, 200), true);
});

Deno.test("under stress an IP holding maxPerIpStress sessions is refused; 0 keeps the usual limit", () => {
  const limits = new ConnectionLimits(createLimitsBuffer());
  const settings = { maxTotal: 10, maxPerIp: 4, maxPerIpStress: 2 };
  // Before the stress: the usual per-IP limit.
  for (let i = 0; i < 4; i++) assertEquals(limits.tryAcquire("192.0.2.1", settings), "ok");
  assertEquals(limits.tryAcquire("192.0.2.1", settings), "per-ip");
  for (let i = 0; i < 3; i++) assertEquals(limits.tryAcquire("192.0.2.2", settings), "ok");
  // The 8th session (80 %) would begin the stress, and its IP already holds 3.
  assertEquals(limits.tryAcquire("192.0.2.2", settings), "per-ip-stress");
  assertEquals(limits.stressed(), false);
  assertEquals(limits.total(), 7);
  assertEquals(limits.tryAcquire("192.0.2.3", settings), "ok");
  assertEquals(limits.stressed(), true);
  assertEquals(limits.tryAcquire("192.0.2.3", settings), "ok");
  assertEquals(limits.tryAcquire("192.0.2.3", settings), "per-ip-stress");
  assertEquals(limits.perIp("192.0.2.3"), 2);
  assertEquals(limits.total(), 9);
  // RELAYCLIENT clients get maxPerIpStress 0: their usual limit holds.
  assertEquals(limits.tryAcquire("192.0.2.3", { ...settings, maxPerIpStress: 0 }), "ok");
  assertEquals(limits.tryAcquire("192.0.2.4", settings), "total");
});

Deno.test("each stress change is reported once, by the isolate whose session made it", () => {
  const buffer = createLimitsBuffer();
  const first = watched(buffer);
  const second = watched(buffer);
  const settings = { maxTotal: 5, maxPerIp: 0 };
  for (let i = 1; i <= 3; i++) assertEquals(first.limits.tryAcquire(`10.0.1.${i}`, settings), "ok");
  assertEquals(second.limits.tryAcquire("10.0.1.4", settings), "ok");
  assertEquals(first.changes, []);
  assertEquals(second.changes, [{ stressed: true, inUse: 4, maxTotal: 5 }]);
  assertEquals(first.limits.stressed(), true);
  first.limits.release("10.0.1.1", 5);
  assertEquals(second.limits.stressed(), true);
  second.limits.release("10.0.1.2", 5);
  assertEquals(first.limits.stressed(), false);
  assertEquals(first.changes, []);
  assertEquals(second.changes[1], { stressed: false, inUse: 2, maxTotal: 5 });
});

Deno.test("a stress start within a minute of the last logged one is not logged, nor its end", () => {
  let now = 1_700_000_000_000;
  const { limits, changes } = watched(createLimitsBuffer(), () => now);
  const settings = { maxTotal: 5, maxPerIp: 0 };
  const episode = () => {
    for (let i = 1; i <= 4; i++) limits.tryAcquire(`10.0.2.${i}`, settings);
    assertEquals(limits.stressed(), true);
    for (let i = 1; i <= 4; i++) limits.release(`10.0.2.${i}`, 5);
    assertEquals(limits.stressed(), false);
  };
  episode();
  assertEquals(changes.length, 2);
  now += (STRESS_LOG_INTERVAL - 1) * 1000;
  episode();
  assertEquals(changes.length, 2);
  now += 1000;
  episode();
  assertEquals(changes.map((change) => change.stressed), [true, false, true, false]);
});

Deno.test("without maxTotal release leaves the stress as it is; maxTotal 0 is never stressed", () => {
  const limits = new ConnectionLimits(createLimitsBuffer());
  for (let i = 1; i <= 4; i++) limits.tryAcquire(`10.0.3.${i}`, { maxTotal: 4, maxPerIp: 0 });
  assertEquals(limits.stressed(), true);
  for (let i = 1; i <= 4; i++) limits.release(`10.0.3.${i}`);
  assertEquals(limits.stressed(), true);
  assertEquals(limits.tryAcquire("10.0.3.1", UNLIMITED), "ok");
  assertEquals(limits.stressed(), false);
  for (let i = 0; i < 100; i++) limits.tryAcquire("10.0.3.2", { ...UNLIMITED, maxPerIpStress: 1 });
  assertEquals(limits.stressed(), false);
  assertEquals(limits.perIp("10.0.3.2"), 100);
});
