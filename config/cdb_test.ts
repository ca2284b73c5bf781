import { assert, assertEquals } from "../tests/assert.ts";
import { buildCdb, cdbHash, CdbReader, readCdbFile } from "./cdb.ts";

const bytes = (text: string) => new TextEncoder().encode(text);
const text = (data: Uint8Array | undefined) =>
  data === undefined ? undefined : new TextDecoder().decode(data);

Deno.test("cdbHash: djb's hash, 5381 then (h*33) xor c", () => {
  assertEquals(cdbHash(new Uint8Array(0)), 5381);
  // 5381 * 33 = 177573 = 0x2b5a5; 0x2b5a5 ^ 0x61 = 0x2b5c4.
  assertEquals(cdbHash(bytes("a")), 0x2b5c4);
  // Wraps modulo 2^32 without going negative.
  const long = cdbHash(bytes("x".repeat(100)));
  assert(long >= 0 && long <= 0xffffffff);
});

Deno.test("buildCdb: one record laid out by hand (§10.3)", () => {
  const file = buildCdb([{ key: bytes("a"), data: bytes("b") }]);
  const view = new DataView(file.buffer);
  // header 2048 + record (8 + 1 + 1) + one table of 2 slots (16)
  assertEquals(file.length, 2074);
  // hash 0x2b5c4 → bucket 0xc4 = 196, 2 slots, start slot (0x2b5 % 2) = 1.
  for (let i = 0; i < 256; i++) {
    const position = view.getUint32(i * 8, true);
    const slots = view.getUint32(i * 8 + 4, true);
    assertEquals(slots, i === 196 ? 2 : 0, `slots of table ${i}`);
    assertEquals(position, i <= 196 ? 2058 : 2074, `position of table ${i}`);
  }
  assertEquals(view.getUint32(2048, true), 1);
  assertEquals(view.getUint32(2052, true), 1);
  assertEquals(file[2056], 0x61);
  assertEquals(file[2057], 0x62);
  // slot 0 empty, slot 1 = (hash, 2048)
  assertEquals(view.getUint32(2058, true), 0);
  assertEquals(view.getUint32(2062, true), 0);
  assertEquals(view.getUint32(2066, true), 0x2b5c4);
  assertEquals(view.getUint32(2070, true), 2048);
  assertEquals(text(new CdbReader(file).get("a")), "b");
});

Deno.test("buildCdb: an empty database has 256 empty tables", () => {
  const file = buildCdb([]);
  assertEquals(file.length, 2048);
  const reader = new CdbReader(file);
  assertEquals(reader.get(""), undefined);
  assertEquals(reader.getAll("x"), []);
});

Deno.test("CdbReader: many keys, empty key, binary keys and missing keys", () => {
  const records = [];
  for (let i = 0; i < 1000; i++) records.push({ key: bytes(`key${i}`), data: bytes(`value${i}`) });
  records.push({ key: new Uint8Array(0), data: bytes("empty") });
  records.push({ key: new Uint8Array([0, 255, 10]), data: new Uint8Array([1, 2, 3]) });
  const reader = new CdbReader(buildCdb(records));
  for (let i = 0; i < 1000; i++) assertEquals(text(reader.get(`key${i}`)), `value${i}`);
  assertEquals(text(reader.get("")), "empty");
  assertEquals(reader.get(new Uint8Array([0, 255, 10])), new Uint8Array([1, 2, 3]));
  assertEquals(reader.get("key1000"), undefined);
  assertEquals(reader.get("key"), undefined);
});

Deno.test("CdbReader: duplicate keys come back in insertion order, first wins", () => {
  const reader = new CdbReader(buildCdb([
    { key: bytes("dup"), data: bytes("first") },
    { key: bytes("other"), data: bytes("x") },
    { key: bytes("dup"), data: bytes("second") },
    { key: bytes("dup"), data: bytes("third") },
  ]));
  assertEquals(text(reader.get("dup")), "first");
  assertEquals(reader.getAll("dup").map(text), ["first", "second", "third"]);
});

Deno.test("CdbReader: colliding hashes in one bucket probe past each other", () => {
  // Keys differing only in ways that share the low byte of the hash land in one table.
  const keys: string[] = [];
  const target = cdbHash(bytes("k0")) & 255;
  for (let i = 0; keys.length < 20 && i < 100000; i++) {
    if ((cdbHash(bytes(`k${i}`)) & 255) === target) keys.push(`k${i}`);
  }
  assertEquals(keys.length, 20);
  const reader = new CdbReader(
    buildCdb(keys.map((key) => ({ key: bytes(key), data: bytes(key) }))),
  );
  for (const key of keys) assertEquals(text(reader.get(key)), key);
});

Deno.test("readCdbFile: a missing file is undefined; a file reads back its records", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = `${dir}/test.cdb`;
    assertEquals(await readCdbFile(path), undefined);
    await Deno.writeFile(path, buildCdb([{ key: bytes("one"), data: bytes("1") }]));
    const reader = await readCdbFile(path);
    assertEquals(text(reader?.get("one")), "1");
    assertEquals(reader?.get("two"), undefined);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
