import { assertEquals } from "../../tests/assert.ts";
import { LineBuffer } from "./line_buffer.ts";

const text = (bytes: Uint8Array) => new TextDecoder().decode(bytes);

Deno.test("line buffer: splits pipelined lines and keeps the rest", () => {
  const buffer = new LineBuffer(100);
  buffer.push(new TextEncoder().encode("HELO a\r\nMAIL FROM:<x>\r\nRC"));
  const first = buffer.next();
  assertEquals(first?.kind === "line" && text(first.line), "HELO a\r");
  const second = buffer.next();
  assertEquals(second?.kind === "line" && text(second.line), "MAIL FROM:<x>\r");
  assertEquals(buffer.next(), undefined);
  assertEquals(text(buffer.take()), "RC");
});

Deno.test("line buffer: an over-long line is discarded with bounded memory, the next parses", () => {
  const buffer = new LineBuffer(16);
  for (let i = 0; i < 1000; i++) {
    buffer.push(new Uint8Array(1024).fill(0x41));
    assertEquals(buffer.next(), undefined);
    assertEquals(buffer.pending <= 1024 + 16, true);
  }
  buffer.push(new TextEncoder().encode("AAAA\r\nNOOP\r\n"));
  assertEquals(buffer.next(), { kind: "too-long" });
  const next = buffer.next();
  assertEquals(next?.kind === "line" && text(next.line), "NOOP\r");
});
