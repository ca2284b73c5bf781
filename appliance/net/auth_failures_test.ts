import { assert, assertEquals, assertThrows } from "../../tests/assert.ts";
import {
  AUTH_FAILURE_MAX_DELAY_SECONDS,
  authFailureDelaySeconds,
  type AuthFailureLimits,
  AuthFailures,
  describeFailureEntry,
  type LoginAttempt,
} from "./auth_failures.ts";

const T0 = 1_700_000_000;
const LIMITS: AuthFailureLimits = { ipLimit: 10, accountLimit: 5, lockSeconds: 3600 };

/** One wrong login: reserve, then settle as failed; returns what reserve said. */
function fail(table: AuthFailures, attempt: LoginAttempt, now: number, limits = LIMITS) {
  const reservation = table.reserve(attempt, now, limits);
  if (reservation.kind === "reserved") table.settle(attempt, true, now, limits);
  return reservation.kind;
}

Deno.test("an IP is blocked after authfaillimit failures, whatever the names", () => {
  const table = new AuthFailures(AuthFailures.createBuffer());
  for (let i = 0; i < 10; i++) {
    assertEquals(
      fail(table, { ip: "192.0.2.1", account: `user${i}@example.test` }, T0 + i),
      "reserved",
    );
  }
  const refused = table.reserve({ ip: "192.0.2.1", account: "new@example.test" }, T0 + 20, LIMITS);
  assertEquals(refused.kind, "blocked");
  if (refused.kind === "blocked") {
    assertEquals(refused.entry.kind, "ip");
    assertEquals(refused.entry.failures, 10);
    assertEquals(refused.entry.blockedUntil, T0 + 9 + 3600);
  }
  // Another IP is not touched; an IPv4-mapped form is the same IP.
  assertEquals(table.reserve({ ip: "192.0.2.2", account: "a" }, T0 + 20, LIMITS).kind, "reserved");
  assertEquals(
    table.reserve({ ip: "::ffff:192.0.2.1", account: "a" }, T0 + 20, LIMITS).kind,
    "blocked",
  );
  // The block ends authfaillock seconds after the failure that set it.
  assertEquals(
    table.reserve({ ip: "192.0.2.1", account: "a" }, T0 + 9 + 3599, LIMITS).kind,
    "blocked",
  );
  assertEquals(
    table.reserve({ ip: "192.0.2.1", account: "a" }, T0 + 9 + 3600, LIMITS).kind,
    "reserved",
  );
});

Deno.test("a name blocked at one IP leaves that IP's other names and the name's other IPs alone", () => {
  const table = new AuthFailures(AuthFailures.createBuffer());
  const phone = { ip: "198.51.100.7", account: "Joe@Example.TEST" };
  for (let i = 0; i < 5; i++) assertEquals(fail(table, phone, T0), "reserved");
  const refused = table.reserve({ ...phone, account: "joe@example.test" }, T0, LIMITS);
  assertEquals(refused.kind, "blocked");
  if (refused.kind === "blocked") {
    assertEquals(describeFailureEntry(refused.entry), '"joe@example.test" from 198.51.100.7');
  }
  // A neighbour behind the same NAT, and the owner's laptop elsewhere, still log in.
  assertEquals(
    table.reserve({ ip: "198.51.100.7", account: "ann@example.test" }, T0, LIMITS).kind,
    "reserved",
  );
  assertEquals(
    table.reserve({ ip: "203.0.113.9", account: "joe@example.test" }, T0, LIMITS).kind,
    "reserved",
  );
  // Names without '@' (checkpassword users) keep their case.
  for (let i = 0; i < 5; i++) fail(table, { ip: "203.0.113.1", account: "Root" }, T0);
  assertEquals(table.reserve({ ip: "203.0.113.1", account: "root" }, T0, LIMITS).kind, "reserved");
});

Deno.test("a success clears the name's failures at that IP but not the IP's", () => {
  const table = new AuthFailures(AuthFailures.createBuffer());
  const joe = { ip: "192.0.2.5", account: "joe@example.test" };
  for (let i = 0; i < 4; i++) fail(table, joe, T0);
  assertEquals(table.reserve(joe, T0, LIMITS).kind, "reserved");
  assertEquals(table.settle(joe, false, T0, LIMITS), { failures: 0, blocked: [] });
  const entries = table.entries();
  assertEquals(entries.map((entry) => [entry.kind, entry.failures]), [["ip", 4]]);
  // Four more wrong ones for joe do not block him: his count started again.
  for (let i = 0; i < 4; i++) assertEquals(fail(table, joe, T0), "reserved");
  assertEquals(table.reserve(joe, T0, LIMITS).kind, "reserved");
});

Deno.test("settle reports the larger count and the blocks it started", () => {
  const table = new AuthFailures(AuthFailures.createBuffer());
  const joe = { ip: "192.0.2.9", account: "joe@example.test" };
  for (let i = 1; i <= 4; i++) {
    table.reserve(joe, T0, LIMITS);
    assertEquals(table.settle(joe, true, T0, LIMITS), { failures: i, blocked: [] });
  }
  table.reserve(joe, T0, LIMITS);
  const settled = table.settle(joe, true, T0, LIMITS);
  assertEquals(settled.failures, 5);
  assertEquals(settled.blocked, [{
    kind: "account",
    ip: "192.0.2.9",
    account: "joe@example.test",
    failures: 5,
    lastFailure: T0,
    blockedUntil: T0 + 3600,
  }]);
});

Deno.test("reservations count before verification: 40 at once against a limit of 10", () => {
  const table = new AuthFailures(AuthFailures.createBuffer());
  const limits = { ...LIMITS, accountLimit: 0 };
  const attempts = Array.from({ length: 40 }, (_, i) => ({ ip: "192.0.2.77", account: `u${i}` }));
  const kinds = attempts.map((attempt) => table.reserve(attempt, T0, limits).kind);
  assertEquals(kinds.filter((kind) => kind === "reserved").length, 10);
  assertEquals(kinds.filter((kind) => kind === "busy").length, 30);
  // The ten fail: from now on the IP is blocked, not busy.
  for (let i = 0; i < 40; i++) {
    if (kinds[i] === "reserved") table.settle(attempts[i], true, T0, limits);
  }
  assertEquals(table.reserve(attempts[0], T0, limits).kind, "blocked");
});

Deno.test("reservations that succeed make room for the ones waiting", () => {
  const table = new AuthFailures(AuthFailures.createBuffer());
  const attempt = { ip: "192.0.2.78", account: "" };
  for (let i = 0; i < 10; i++) assertEquals(table.reserve(attempt, T0, LIMITS).kind, "reserved");
  assertEquals(table.reserve(attempt, T0, LIMITS).kind, "busy");
  table.settle(attempt, false, T0, LIMITS);
  assertEquals(table.reserve(attempt, T0, LIMITS).kind, "reserved");
});

Deno.test("a reservation whose isolate died is forgotten after five minutes", () => {
  const table = new AuthFailures(AuthFailures.createBuffer());
  const attempt = { ip: "192.0.2.79", account: "" };
  for (let i = 0; i < 10; i++) table.reserve(attempt, T0, LIMITS);
  assertEquals(table.reserve(attempt, T0 + 300, LIMITS).kind, "busy");
  assertEquals(table.reserve(attempt, T0 + 301, LIMITS).kind, "reserved");
});

Deno.test("limits of 0 are off; a lowered limit blocks at once", () => {
  const table = new AuthFailures(AuthFailures.createBuffer());
  const off = { ipLimit: 0, accountLimit: 0, lockSeconds: 3600 };
  const attempt = { ip: "192.0.2.80", account: "joe" };
  for (let i = 0; i < 100; i++) assertEquals(fail(table, attempt, T0, off), "reserved");
  assertEquals(table.entries(), []);
  for (let i = 0; i < 4; i++) fail(table, attempt, T0);
  assertEquals(table.reserve(attempt, T0, { ...LIMITS, accountLimit: 3 }).kind, "blocked");
});

Deno.test("failures older than the lock time are forgotten", () => {
  const table = new AuthFailures(AuthFailures.createBuffer());
  const attempt = { ip: "192.0.2.81", account: "joe" };
  for (let i = 0; i < 4; i++) fail(table, attempt, T0);
  fail(table, attempt, T0 + 3600);
  // The fifth came after the first four had expired: a count of 1, no block.
  assertEquals(table.reserve(attempt, T0 + 3600, LIMITS).kind, "reserved");
  assertEquals(table.entries().map((entry) => entry.failures), [1, 1]);
});

Deno.test("unblock by IP clears the IP and the names at it; by name, that name everywhere", () => {
  const table = new AuthFailures(AuthFailures.createBuffer());
  for (let i = 0; i < 10; i++) fail(table, { ip: "192.0.2.90", account: `u${i % 2}@x.test` }, T0);
  for (let i = 0; i < 5; i++) fail(table, { ip: "192.0.2.91", account: "u0@x.test" }, T0);
  assertEquals(table.entries().length, 5);
  const byName = table.unblock({ account: "U0@X.test" });
  assertEquals(byName.map(describeFailureEntry).sort(), [
    '"u0@x.test" from 192.0.2.90',
    '"u0@x.test" from 192.0.2.91',
  ]);
  assertEquals(
    table.reserve({ ip: "192.0.2.91", account: "u0@x.test" }, T0, LIMITS).kind,
    "reserved",
  );
  assertEquals(
    table.reserve({ ip: "192.0.2.90", account: "u0@x.test" }, T0, LIMITS).kind,
    "blocked",
  );
  const byIp = table.unblock({ ip: "::ffff:192.0.2.90" });
  assertEquals(byIp.map(describeFailureEntry).sort(), [
    '"u1@x.test" from 192.0.2.90',
    "192.0.2.90",
  ]);
  assertEquals(
    table.reserve({ ip: "192.0.2.90", account: "u1@x.test" }, T0, LIMITS).kind,
    "reserved",
  );
  assertEquals(table.unblock({ ip: "192.0.2.90" }).length, 0);
});

Deno.test("a spray of names fills no more than the table and keeps the blocks", () => {
  const table = new AuthFailures(AuthFailures.createBuffer());
  for (let i = 0; i < 10; i++) fail(table, { ip: "192.0.2.100", account: `root${i % 2}` }, T0);
  let now = T0 + 1;
  for (let i = 0; i < 30_000; i++) {
    const ip = `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`;
    fail(table, { ip, account: `guess${i}@example.test` }, now);
    if (i % 1000 === 0) now++;
  }
  const entries = table.entries();
  assert(entries.length <= 4096, `${entries.length} entries`);
  assertEquals(table.reserve({ ip: "192.0.2.100", account: "x" }, now, LIMITS).kind, "blocked");
  assertEquals(table.unblock({ ip: "192.0.2.100" }).length, 3);
});

Deno.test("a long name is kept in part and still told apart by its hash", () => {
  const table = new AuthFailures(AuthFailures.createBuffer());
  const long = "a".repeat(300);
  for (let i = 0; i < 5; i++) fail(table, { ip: "192.0.2.110", account: `${long}1` }, T0);
  assertEquals(
    table.reserve({ ip: "192.0.2.110", account: `${long}1` }, T0, LIMITS).kind,
    "blocked",
  );
  assertEquals(
    table.reserve({ ip: "192.0.2.110", account: `${long}2` }, T0, LIMITS).kind,
    "reserved",
  );
});

Deno.test("a lock left by a dead isolate is taken over", () => {
  const buffer = AuthFailures.createBuffer();
  Atomics.store(new Int32Array(buffer, 0, 1), 0, 12345);
  const table = new AuthFailures(buffer);
  assertEquals(table.reserve({ ip: "192.0.2.120", account: "" }, T0, LIMITS).kind, "reserved");
  assertEquals(Atomics.load(new Int32Array(buffer, 0, 1), 0), 0);
});

Deno.test("a buffer of the wrong size is refused", () => {
  assertThrows(() => new AuthFailures(new SharedArrayBuffer(64)), RangeError);
});

Deno.test("authFailureDelaySeconds: the configured pause, else 1 s per failure up to 5 s", () => {
  assertEquals(authFailureDelaySeconds(0, 2), 0);
  assertEquals(authFailureDelaySeconds(1, 2), 2);
  assertEquals(authFailureDelaySeconds(9, 2), 2);
  assertEquals(authFailureDelaySeconds(1, 0), 1);
  assertEquals(authFailureDelaySeconds(3, 0), 3);
  // Attempts 6 to 10 no longer stall 30 s and more.
  for (let failures = 6; failures <= 10; failures++) {
    assertEquals(authFailureDelaySeconds(failures, 0), AUTH_FAILURE_MAX_DELAY_SECONDS);
  }
  assertEquals(AUTH_FAILURE_MAX_DELAY_SECONDS, 5);
});

const WORKER_SOURCE = `
import { AuthFailures } from ${JSON.stringify(new URL("./auth_failures.ts", import.meta.url).href)};
self.onmessage = async (event) => {
  const { buffer, counters, attempts, now, workers, limits } = event.data;
  const table = new AuthFailures(buffer);
  const shared = new Int32Array(counters);
  // Start together: wait until every worker is here.
  Atomics.add(shared, 0, 1);
  Atomics.notify(shared, 0);
  for (let waits = 0; waits < 300; waits++) {
    const count = Atomics.load(shared, 0);
    if (count >= workers) break;
    Atomics.wait(shared, 0, count, 100);
  }
  await Promise.all(attempts.map(async (attempt) => {
    for (let polls = 0; polls < 400; polls++) {
      const reservation = table.reserve(attempt, now, limits);
      if (reservation.kind === "blocked") return Atomics.add(shared, 2, 1);
      if (reservation.kind === "reserved") {
        // The "verification": counted, then a little while before the answer.
        Atomics.add(shared, 1, 1);
        await new Promise((resolve) => setTimeout(resolve, 5 + Math.random() * 20));
        table.settle(attempt, true, now, limits);
        return;
      }
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    Atomics.add(shared, 3, 1);
  }));
  self.postMessage("done");
};
`;

Deno.test("40 wrong answers from 4 Workers at once: exactly 10 are verified, 30 refused", async () => {
  const buffer = AuthFailures.createBuffer();
  // [ready, verified, refused, gave up]
  const counters = new SharedArrayBuffer(16);
  const url = URL.createObjectURL(new Blob([WORKER_SOURCE], { type: "application/javascript" }));
  const limits = { ipLimit: 10, accountLimit: 5, lockSeconds: 3600 };
  const workers = Array.from({ length: 4 }, () => new Worker(url, { type: "module" }));
  try {
    await Promise.all(workers.map((worker, w) =>
      new Promise<void>((resolve, reject) => {
        worker.onmessage = () => resolve();
        worker.onerror = (event) => {
          event.preventDefault();
          reject(new Error(event.message));
        };
        const attempts = Array.from({ length: 10 }, (_, i) => ({
          // One attacker IP; the IPv4-mapped form from half the workers is the same IP.
          ip: w % 2 === 0 ? "203.0.113.5" : "::ffff:203.0.113.5",
          account: `user${w * 10 + i}@example.test`,
        }));
        worker.postMessage({ buffer, counters, attempts, now: T0, workers: 4, limits });
      })
    ));
  } finally {
    for (const worker of workers) worker.terminate();
    URL.revokeObjectURL(url);
  }
  const [, verified, refused, gaveUp] = new Int32Array(counters);
  assertEquals({ verified, refused, gaveUp }, { verified: 10, refused: 30, gaveUp: 0 });
  const [entry] = new AuthFailures(buffer).entries();
  assertEquals([entry.ip, entry.failures, entry.blockedUntil], ["203.0.113.5", 10, T0 + 3600]);
});
