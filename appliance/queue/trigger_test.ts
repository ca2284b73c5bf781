import { assert, assertEquals, assertThrows } from "../../tests/assert.ts";
import { QueueLayout } from "./layout.ts";
import { makeTestQueue } from "./test_queue.ts";
import { makeFifo, pullTrigger, watchTrigger } from "./trigger.ts";

async function withQueue(run: (layout: QueueLayout) => void | Promise<void>): Promise<void> {
  const home = await Deno.makeTempDir({ prefix: "qmd-trigger-" });
  try {
    await run(makeTestQueue(home));
  } finally {
    await Deno.remove(home, { recursive: true });
  }
}

Deno.test("makeFifo makes a named pipe with the exact mode", async () => {
  const dir = await Deno.makeTempDir({ prefix: "qmd-fifo-" });
  try {
    makeFifo(`${dir}/trigger`, 0o622);
    const stat = Deno.lstatSync(`${dir}/trigger`);
    assert(stat.isFifo, "a FIFO");
    assertEquals(stat.mode! & 0o777, 0o622);
    assertThrows(() => makeFifo(`${dir}/trigger`, 0o622));
    assertThrows(() => makeFifo(`${dir}/missing/trigger`, 0o622));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("pullTrigger ignores a FIFO nobody reads and a missing FIFO", () =>
  withQueue((layout) => {
    pullTrigger(layout);
    pullTrigger(new QueueLayout(`${layout.root}/nowhere`, { todoSplit: false }));
  }));

Deno.test("watchTrigger wakes once per pull and stops on close", () =>
  withQueue(async (layout) => {
    let wakes = 0;
    let wake!: () => void;
    let woken = new Promise<void>((resolve) => (wake = resolve));
    const watch = watchTrigger(layout, () => {
      wakes++;
      wake();
    });
    try {
      for (let round = 1; round <= 3; round++) {
        pullTrigger(layout);
        await woken;
        woken = new Promise<void>((resolve) => (wake = resolve));
        assertEquals(wakes, round);
      }
    } finally {
      watch.close();
      watch.close();
      await watch.closed;
    }
    pullTrigger(layout);
    assertEquals(wakes, 3);
  }));

Deno.test("a wake callback that throws is reported and the watch goes on", () =>
  withQueue(async (layout) => {
    const errors: unknown[] = [];
    let wake!: () => void;
    let woken = new Promise<void>((resolve) => (wake = resolve));
    let calls = 0;
    const watch = watchTrigger(
      layout,
      () => {
        calls++;
        wake();
        if (calls === 1) throw new Error("boom");
      },
      (error) => errors.push(error),
    );
    try {
      pullTrigger(layout);
      await woken;
      woken = new Promise<void>((resolve) => (wake = resolve));
      pullTrigger(layout);
      await woken;
    } finally {
      watch.close();
      await watch.closed;
    }
    assertEquals(calls, 2);
    assertEquals(errors.length, 1);
  }));
