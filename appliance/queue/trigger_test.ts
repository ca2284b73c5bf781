import { closeSync, constants, openSync, readSync } from "node:fs";
import { assert, assertEquals, assertThrows } from "../../tests/assert.ts";
import { QueueLayout } from "./layout.ts";
import { withTestQueue } from "./test_queue.ts";
import { makeFifo, pullTrigger, triggeredDirectories, watchTrigger } from "./trigger.ts";

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

/** The errno code `fn` throws with. */
function errorCode(fn: () => unknown): string | undefined {
  return (assertThrows(fn) as Error & { code?: string }).code;
}

/** Opens lock/trigger as a queue writer does; throws ENXIO when nobody holds it for reading. */
function openAsWriter(layout: QueueLayout): number {
  return openSync(layout.trigger, constants.O_WRONLY | constants.O_NONBLOCK);
}

Deno.test("pullTrigger: one NUL to a reader; a FIFO nobody reads and a missing FIFO are ignored", () =>
  withTestQueue((layout) => {
    const buffer = new Uint8Array(8);
    const reader = openSync(layout.trigger, constants.O_RDONLY | constants.O_NONBLOCK);
    try {
      pullTrigger(layout);
      assertEquals(readSync(reader, buffer), 1);
      assertEquals(buffer[0], 0);
    } finally {
      closeSync(reader);
    }

    // Nobody reads: the open fails with ENXIO, which pullTrigger swallows and does not wait out.
    assertEquals(errorCode(() => openAsWriter(layout)), "ENXIO");
    pullTrigger(layout);
    assert(Deno.lstatSync(layout.trigger).isFifo, "the FIFO stays a FIFO");

    // No FIFO: nothing is created in its place (no O_CREAT), in a queue or outside one.
    Deno.removeSync(layout.trigger);
    pullTrigger(layout);
    assertThrows(() => Deno.lstatSync(layout.trigger), Deno.errors.NotFound);
    const nowhere = new QueueLayout(`${layout.root}/nowhere`, { todoSplit: false });
    pullTrigger(nowhere);
    assertThrows(() => Deno.lstatSync(nowhere.root), Deno.errors.NotFound);
  }));

Deno.test("pullTrigger keeps its write end between pulls and reopens it after the reader went away", () =>
  withTestQueue((layout) => {
    const buffer = new Uint8Array(8);
    const first = openSync(layout.trigger, constants.O_RDONLY | constants.O_NONBLOCK);
    pullTrigger(layout);
    pullTrigger(layout);
    assertEquals(readSync(first, buffer), 2, "both pulls arrive");
    // Held open for writing: the reader sees no end of file between pulls.
    assertEquals(errorCode(() => readSync(first, buffer)), "EAGAIN");
    closeSync(first);

    pullTrigger(layout); // nobody reads: EPIPE on the held end, then ENXIO; both ignored
    const second = openSync(layout.trigger, constants.O_RDONLY | constants.O_NONBLOCK);
    try {
      pullTrigger(layout);
      assertEquals(readSync(second, buffer), 1, "the new reader is woken");
    } finally {
      closeSync(second);
    }
  }));

Deno.test("watchTrigger wakes once per pull and stops on close", () =>
  withTestQueue(async (layout) => {
    let wakes = 0;
    let wake!: () => void;
    let woken = new Promise<void>((resolve) => (wake = resolve));
    const watch = watchTrigger(layout, () => {
      wakes++;
      wake();
    });
    try {
      // While it watches, the FIFO has a reader: a writer's open succeeds.
      closeSync(openAsWriter(layout));
      for (let round = 1; round <= 3; round++) {
        pullTrigger(layout);
        await woken;
        woken = new Promise<void>((resolve) => (wake = resolve));
        assertEquals(wakes, round);
      }
      watch.close();
      watch.close();
      // A pull after close wakes nobody: the loop ends (closed settles) and onWake is not
      // called; a watch still running would call it (woken settles) and never end.
      pullTrigger(layout);
      const first = await Promise.race([
        watch.closed.then(() => "closed"),
        woken.then(() => "woken"),
      ]);
      assertEquals(first, "closed");
    } finally {
      watch.close();
    }
    assertEquals(wakes, 3);
  }));

Deno.test("a wake callback that throws is reported and the watch goes on", () =>
  withTestQueue(async (layout) => {
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

Deno.test("a pull names the todo directory of its message; the reader decodes it", () =>
  withTestQueue((layout) => {
    const reader = openSync(layout.trigger, constants.O_RDONLY | constants.O_NONBLOCK);
    try {
      const buffer = new Uint8Array(8);
      pullTrigger(layout, 47n);
      pullTrigger(layout);
      assertEquals(readSync(reader, buffer), 2);
      const todo = layout.directory("todo");
      const split = layout.split;
      assertEquals([...buffer.subarray(0, 2)], [Number(47n % BigInt(split)) + 1, 0]);
      assertEquals(triggeredDirectories(layout, Uint8Array.of(3, 3, 5)), [
        `${todo}/2`,
        `${todo}/4`,
      ]);
      // qmail-queue's NUL, a byte past the splits, or a full read: all of todo/.
      assertEquals(triggeredDirectories(layout, Uint8Array.of(3, 0)), undefined);
      assertEquals(triggeredDirectories(layout, Uint8Array.of(split + 1)), undefined);
      assertEquals(triggeredDirectories(layout, new Uint8Array(512).fill(1)), undefined);
      // A flat todo/ (no split): the writer says so with 255.
      const flat = new QueueLayout(layout.root, { todoSplit: false });
      pullTrigger(flat, 47n);
      assertEquals(readSync(reader, buffer), 1);
      assertEquals(buffer[0], 255);
      assertEquals(triggeredDirectories(flat, Uint8Array.of(255)), [todo]);
      assertEquals(triggeredDirectories(flat, Uint8Array.of(3)), undefined);
    } finally {
      closeSync(reader);
    }
    return Promise.resolve();
  }));
