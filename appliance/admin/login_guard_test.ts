import { assertEquals } from "../../tests/assert.ts";
import { LoginGuard } from "./login_guard.ts";

Deno.test("login guard: the fifth failure in the window locks the IP for the lock time; others are free", () => {
  const guard = new LoginGuard({ failures: 5, windowMs: 1000, lockMs: 5000 });
  for (let i = 0; i < 4; i++) assertEquals(guard.failed("192.0.2.1", 100 + i), false);
  assertEquals(guard.lockedUntil("192.0.2.1", 104), undefined);
  assertEquals(guard.failed("192.0.2.1", 104), true);
  assertEquals(guard.lockedUntil("192.0.2.1", 105), 5104);
  assertEquals(guard.lockedUntil("192.0.2.2", 105), undefined);
  assertEquals(guard.lockedUntil("192.0.2.1", 5104), undefined);
});

Deno.test("login guard: failures older than the window do not count; a success clears the count", () => {
  const guard = new LoginGuard({ failures: 3, windowMs: 1000, lockMs: 5000 });
  guard.failed("192.0.2.1", 0);
  guard.failed("192.0.2.1", 10);
  assertEquals(guard.failed("192.0.2.1", 2000), false);
  guard.failed("192.0.2.1", 2001);
  guard.succeeded("192.0.2.1");
  assertEquals(guard.failed("192.0.2.1", 2002), false);
});
