import { assertEquals } from "../../tests/assert.ts";
import { CHANSKIP, integerSqrt, isDying, nextRetry } from "./retry.ts";

Deno.test("integerSqrt is the floor square root", () => {
  for (const [x, y] of [[0, 0], [1, 1], [3, 1], [4, 2], [99, 9], [100, 10], [101, 10]]) {
    assertEquals(integerSqrt(x), y);
  }
  for (let y = 1; y < 3000; y += 7) {
    assertEquals(integerSqrt(y * y), y);
    assertEquals(integerSqrt(y * y - 1), y - 1);
  }
  assertEquals(integerSqrt(-5), 0);
  assertEquals(integerSqrt(2 ** 40), 65535);
});

Deno.test("passes on time follow birth + (chanskip k)^2 (§4.7 table)", () => {
  const birth = 1_700_000_000;
  for (const [channel, last] of [["remote", 38], ["local", 77]] as const) {
    const skip = CHANSKIP[channel];
    let now = birth;
    for (let k = 0; k <= last; k++) {
      assertEquals(now - birth, (skip * k) ** 2, `${channel} attempt ${k}`);
      now = nextRetry(birth, now, skip);
    }
    // The next one (remote k = 39, local k = 78) falls at 608400 s, past the default
    // lifetime: the message is dying.
    assertEquals(now - birth, 608400);
    assertEquals(isDying(birth, now, 604800), true);
    assertEquals(isDying(birth, birth + 577600, 604800), false);
  }
});

Deno.test("table rows of §4.7", () => {
  const birth = 1000;
  const rows: [number, number, number][] = [
    [1, 100, 400],
    [2, 400, 1600],
    [3, 900, 3600],
    [4, 1600, 6400],
    [5, 2500, 10000],
    [10, 10000, 40000],
    [20, 40000, 160000],
    [38, 144400, 577600],
  ];
  for (const [k, local, remote] of rows) {
    assertEquals(nextRetry(birth, birth + (10 * (k - 1)) ** 2, 10) - birth, local);
    assertEquals(nextRetry(birth, birth + (20 * (k - 1)) ** 2, 20) - birth, remote);
  }
});

Deno.test("late passes and future births", () => {
  // A pass 150 s after birth: isqrt(150) = 12, +10 = 22 -> 484.
  assertEquals(nextRetry(0, 150, 10), 484);
  // A birth in the future (clock moved back): n = 0 + chanskip.
  assertEquals(nextRetry(5000, 1000, 20), 5400);
  assertEquals(isDying(0, 604800, 604800), false);
  assertEquals(isDying(0, 604801, 604800), true);
});
