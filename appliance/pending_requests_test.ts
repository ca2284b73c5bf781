import { assertEquals } from "../tests/assert.ts";
import { PendingRequests } from "./pending_requests.ts";

Deno.test("PendingRequests: an answer by number, or the late answer after the timeout", async () => {
  const pending = new PendingRequests<string>(50);
  const posted: number[] = [];
  const first = pending.ask((number) => posted.push(number), () => "late");
  const second = pending.ask((number) => posted.push(number), () => "late");
  assertEquals(posted, [1, 2]);
  pending.answer(2, "two");
  assertEquals(await second, "two");
  assertEquals(await first, "late");
  pending.answer(1, "too late");
  pending.answer(7, "never asked");
});
