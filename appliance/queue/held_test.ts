import { assertEquals } from "../../tests/assert.ts";
import { clearHeld, isHeld, listHeld, markHeld } from "./held.ts";
import { withTestQueue } from "./test_queue.ts";

Deno.test("hold markers: made, listed and cleared; hold/ appears on first use", () =>
  withTestQueue((layout) => {
    assertEquals(listHeld(layout), []);
    markHeld(layout, 25n);
    markHeld(layout, 7n);
    assertEquals([isHeld(layout, 25n), isHeld(layout, 8n)], [true, false]);
    assertEquals(listHeld(layout).sort((a, b) => (a < b ? -1 : 1)), [7n, 25n]);
    assertEquals(Deno.statSync(layout.sidecar("hold", 25n)).size, 0);
    clearHeld(layout, 25n);
    clearHeld(layout, 25n);
    assertEquals(listHeld(layout), [7n]);
  }));

Deno.test({
  name: "hold/ made by root on a queue another user owns belongs to that user",
  ignore: Deno.uid() !== 0,
  fn: () =>
    withTestQueue((layout) => {
      Deno.chownSync(layout.root, 65534, 65534);
      markHeld(layout, 25n);
      const made = Deno.statSync(layout.sidecarDirectory("hold"));
      assertEquals([made.uid, made.gid, made.mode! & 0o777], [65534, 65534, 0o700]);
    }),
});
