import { assert, assertEquals } from "../../tests/assert.ts";
import {
  clearTcpto,
  formatTcptoRecord,
  isDead,
  parseTcpto,
  readTcpto,
  recordAttempt,
  TCPTO_SIZE,
} from "./tcpto.ts";

async function withTable(body: (path: string) => Promise<void>) {
  const dir = await Deno.makeTempDir({ prefix: "qmd-tcpto-" });
  try {
    await body(`${dir}/tcpto`);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

const NOW = 1_700_000_000;

Deno.test("tcpto: record layout is qmail's (§5.9)", () => {
  const record = formatTcptoRecord("192.0.2.7", 3, 0x01020304);
  assertEquals(Array.from(record), [192, 0, 2, 7, 3, 0, 0, 0, 4, 3, 2, 1, 0, 0, 0, 0]);
  assertEquals(parseTcpto(record), [{ slot: 0, ip: "192.0.2.7", count: 3, when: 0x01020304 }]);
});

Deno.test("tcpto: missing file is harmless; clearTcpto writes 1024 NULs", async () => {
  await withTable(async (path) => {
    assertEquals(await isDead(path, "192.0.2.7", NOW, 1), false);
    await recordAttempt(path, "192.0.2.7", "timeout", NOW);
    assertEquals(await readTcpto(path), []);
    await clearTcpto(path);
    const bytes = await Deno.readFile(path);
    assertEquals(bytes.length, TCPTO_SIZE);
    assert(bytes.every((byte) => byte === 0));
  });
});

Deno.test("tcpto: two timeouts make an address dead for (60 + pid % 32) × 64 s", async () => {
  await withTable(async (path) => {
    await clearTcpto(path);
    await recordAttempt(path, "192.0.2.7", "timeout", NOW);
    assertEquals(await isDead(path, "192.0.2.7", NOW + 1, 0), false);
    // A second timeout within 120 s is not counted.
    await recordAttempt(path, "192.0.2.7", "timeout", NOW + 60);
    assertEquals((await readTcpto(path))[0], { slot: 0, ip: "192.0.2.7", count: 1, when: NOW });
    await recordAttempt(path, "192.0.2.7", "timeout", NOW + 200);
    assertEquals((await readTcpto(path))[0], {
      slot: 0,
      ip: "192.0.2.7",
      count: 2,
      when: NOW + 200,
    });
    // pid 0: 3840 s; pid 31: 5824 s.
    assertEquals(await isDead(path, "192.0.2.7", NOW + 200 + 3839, 0), true);
    assertEquals(await isDead(path, "192.0.2.7", NOW + 200 + 3840, 0), false);
    assertEquals(await isDead(path, "192.0.2.7", NOW + 200 + 5823, 31), true);
    assertEquals(await isDead(path, "192.0.2.8", NOW + 201, 0), false);
    // Success clears the count.
    await recordAttempt(path, "192.0.2.7", "ok", NOW + 300);
    assertEquals((await readTcpto(path))[0].count, 0);
    assertEquals(await isDead(path, "192.0.2.7", NOW + 301, 0), false);
    // IPv6 is not recorded.
    await recordAttempt(path, "2001:db8::1", "timeout", NOW);
    assertEquals(await isDead(path, "2001:db8::1", NOW, 0), false);
  });
});

Deno.test("tcpto: count caps at 10; refused resets; a full table evicts the oldest", async () => {
  await withTable(async (path) => {
    await clearTcpto(path);
    for (let i = 0; i < 12; i++) await recordAttempt(path, "10.0.0.1", "timeout", NOW + i * 200);
    assertEquals((await readTcpto(path))[0].count, 10);
    await recordAttempt(path, "10.0.0.1", "refused", NOW + 5000);
    assertEquals((await readTcpto(path))[0].count, 0);
    // Fill all 64 slots; slot 0 is free again and is reused first.
    for (let i = 0; i < 64; i++) await recordAttempt(path, `10.1.0.${i}`, "timeout", NOW + i);
    let table = await readTcpto(path);
    assertEquals(table[0].ip, "10.1.0.0");
    assertEquals(table[63].ip, "10.1.0.63");
    // Full: the record with the smallest when + count × 1024 (10.1.0.0) is overwritten.
    await recordAttempt(path, "10.2.0.1", "timeout", NOW + 1000);
    table = await readTcpto(path);
    assertEquals(table[0], { slot: 0, ip: "10.2.0.1", count: 1, when: NOW + 1000 });
    assertEquals((await Deno.readFile(path)).length, TCPTO_SIZE);
  });
});
