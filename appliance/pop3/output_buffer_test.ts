import { assert, assertEquals, assertRejects, assertThrows } from "../../tests/assert.ts";
import { OutputBuffer } from "./output_buffer.ts";

const decoder = new TextDecoder();

/** A writer whose writes finish when the test says; what it was handed, as text at the time. */
function controlledWriter() {
  const writes: string[] = [];
  const handed: Uint8Array[] = [];
  const pending: Array<{ resolve: () => void; reject: (error: Error) => void }> = [];
  const write = (bytes: Uint8Array) => {
    writes.push(decoder.decode(bytes));
    handed.push(bytes);
    const { promise, resolve, reject } = Promise.withResolvers<void>();
    pending.push({ resolve, reject });
    return promise;
  };
  const finish = async () => {
    pending.shift()!.resolve();
    for (let i = 0; i < 5; i++) await Promise.resolve();
  };
  return { writes, handed, pending, write, finish };
}

Deno.test("output buffer: one write under way; what is asked for meanwhile goes out together after it", async () => {
  const writer = controlledWriter();
  const output = new OutputBuffer(writer.write, { flushBytes: 1024 });
  output.text("+OK 1\r\n");
  output.send();
  assertEquals(writer.writes, ["+OK 1\r\n"]);
  output.text("+OK 2\r\n");
  output.send();
  output.text("+OK 3\r\n");
  output.send();
  output.text("not asked for yet");
  assertEquals(writer.writes.length, 1, "the second waits for the first");
  await writer.finish();
  assertEquals(writer.writes, ["+OK 1\r\n", "+OK 2\r\n+OK 3\r\n"]);
  // The bytes handed out stay as they were while appending goes on.
  output.text("x".repeat(5000));
  assertEquals(decoder.decode(writer.handed[1]), "+OK 2\r\n+OK 3\r\n");
  await writer.finish();
  assertEquals(writer.writes.length, 2, "nothing more was asked for");
  const flushed = output.flush();
  await writer.finish();
  await flushed;
  assertEquals(writer.writes[2], "not asked for yet" + "x".repeat(5000));
  assertEquals(output.sent, output.position);
});

Deno.test("output buffer: a reply not handed out yet can be taken back, one handed out cannot", async () => {
  const writer = controlledWriter();
  const output = new OutputBuffer(writer.write, { flushBytes: 1024 });
  output.text("+OK first\r\n");
  output.send();
  const okAt = output.position;
  output.text("+OK 20 octets\r\n");
  output.truncate(okAt);
  output.text("-ERR no such message\r\n");
  output.send();
  await writer.finish();
  await writer.finish();
  assertEquals(writer.writes, ["+OK first\r\n", "-ERR no such message\r\n"]);
  assertThrows(() => output.truncate(okAt), RangeError);
});

Deno.test("output buffer: wait() holds while a write is under way and too much waits; a failed write is thrown", async () => {
  const writer = controlledWriter();
  const output = new OutputBuffer(writer.write, { flushBytes: 8 });
  output.text("0123456789");
  await output.wait(8);
  output.text("abcdefghij");
  let waited = false;
  const held = output.wait(8).then(() => (waited = true));
  await Promise.resolve();
  assert(!waited, "held while the first write is under way");
  await writer.finish();
  await held;
  assertEquals(writer.writes, ["0123456789", "abcdefghij"]);
  writer.pending.shift()!.reject(new Error("client gone"));
  assertEquals((await assertRejects(() => output.failed)).message, "client gone");
  output.text("more");
  assertEquals(assertThrows(() => output.send()).message, "client gone");
  assertEquals((await assertRejects(() => output.flush())).message, "client gone");
});
