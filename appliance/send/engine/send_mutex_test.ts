import { assertEquals, assertThrows } from "../../../tests/assert.ts";
import { SendMutex } from "./send_mutex.ts";
import { SendStartError } from "./start_error.ts";

Deno.test("lock/sendmutex admits one holder at a time and is free again after release", async () => {
  const dir = await Deno.makeTempDir({ prefix: "qmd-sendmutex-" });
  try {
    const path = `${dir}/sendmutex`;
    const first = SendMutex.take(path);
    const error = assertThrows(() => SendMutex.take(path), SendStartError);
    assertEquals(error.message, "cannot start: qmail-send is already running");
    first.release();
    first.release();
    SendMutex.take(path).release();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a sendmutex that cannot be opened is a start error naming the mutex", () => {
  const error = assertThrows(
    () => SendMutex.take("/nonexistent-qmd-dir/lock/sendmutex"),
    SendStartError,
  );
  assertEquals(error.message.startsWith("cannot start: unable to open mutex: "), true);
});
