import { assertEquals } from "../tests/assert.ts";
import { isLoopback } from "./loopback.ts";

Deno.test("isLoopback: 127/8, ::1 and mapped loopback only", () => {
  assertEquals(
    ["127.0.0.1", "127.9.8.7", "::1", "::ffff:127.0.0.1", "10.0.0.1", "::2", "1.127.0.0"]
      .map(isLoopback),
    [true, true, true, true, false, false, false],
  );
});
