import { assertEquals } from "../../tests/assert.ts";
import { recoverQueue } from "./cleanup.ts";
import { OSSIFIED_SECONDS } from "./layout.ts";
import { pathExists, withTestQueue } from "./test_queue.ts";
import { type LogRecord, setLogSink } from "../log.ts";

const NOW = 1_800_000_000; // seconds
const OLD = NOW - OSSIFIED_SECONDS - 1;
const RECENT = NOW - 3600;

function put(path: string, atime: number, text = "x"): void {
  Deno.writeFileSync(path, new TextEncoder().encode(text));
  Deno.utimeSync(path, atime, atime);
}

Deno.test("recoverQueue removes pid files whose atime is at least 36 hours old", () =>
  withTestQueue(async (layout) => {
    put(layout.pid("1.100.1"), OLD);
    put(layout.pid("2.100.1"), NOW - OSSIFIED_SECONDS); // exactly 36 h: qmail-clean removes it
    put(layout.pid("3.100.1"), RECENT);
    const report = await recoverQueue(layout, new Date(NOW * 1000));
    assertEquals(report.pidFiles.sort(), ["1.100.1", "2.100.1"]);
    assertEquals(Array.from(Deno.readDirSync(layout.pidDir), (entry) => entry.name), [
      "3.100.1",
    ]);
  }));

for (const todoSplit of [true, false]) {
  Deno.test(`recoverQueue removes only old S2/S3 messages (todoSplit ${todoSplit})`, () =>
    withTestQueue(async (layout) => {
      // S2, old: removed.
      put(layout.mess(100n), OLD);
      // S3, old: intd then mess removed.
      put(layout.mess(101n), OLD);
      put(layout.intd(101n), OLD);
      // S2, recent: kept.
      put(layout.mess(102n), RECENT);
      // S2, exactly 36 h: qmail-send wants strictly more.
      put(layout.mess(103n), NOW - OSSIFIED_SECONDS);
      // S4, old: kept.
      put(layout.mess(104n), OLD);
      put(layout.intd(104n), OLD);
      Deno.linkSync(layout.intd(104n), layout.todo(104n));
      // S5, old: kept.
      put(layout.mess(105n), OLD);
      put(layout.info(105n), OLD, "F\0");
      put(layout.remote(105n), OLD, "Ta@b\0");
      // S4 after preprocessing began (todo and info both): kept.
      put(layout.mess(106n), OLD);
      put(layout.todo(106n), OLD);
      put(layout.info(106n), OLD, "F\0");

      const report = await recoverQueue(layout, new Date(NOW * 1000));
      assertEquals(report.messages, [100n, 101n]);
      assertEquals(pathExists(layout.mess(100n)), false);
      assertEquals(pathExists(layout.mess(101n)), false);
      assertEquals(pathExists(layout.intd(101n)), false);
      for (const id of [102n, 103n, 104n, 105n, 106n]) {
        assertEquals(pathExists(layout.mess(id)), true, `mess ${id} kept`);
      }
      assertEquals(pathExists(layout.todo(104n)), true);
      assertEquals(pathExists(layout.intd(104n)), true);
      assertEquals(pathExists(layout.remote(105n)), true);
      assertEquals((await recoverQueue(layout, new Date(NOW * 1000))).messages, []);
    }, { todoSplit }));
}

Deno.test("recoverQueue logs each removal with the message id as a number, as the send log does", () =>
  withTestQueue(async (layout) => {
    put(layout.mess(100n), OLD);
    const records: LogRecord[] = [];
    setLogSink((record) => records.push(record), "test");
    try {
      await recoverQueue(layout, new Date(NOW * 1000));
    } finally {
      setLogSink(() => {}, "test");
    }
    assertEquals(records.map((record) => record.fields.msg), [100]);
  }));

Deno.test("recoverQueue removes hold/ID and deferral/ID of messages that are gone, and only those", () =>
  withTestQueue(async (layout) => {
    put(layout.mess(25n), RECENT);
    put(layout.info(25n), RECENT);
    Deno.mkdirSync(layout.sidecarDirectory("hold"));
    Deno.mkdirSync(layout.sidecarDirectory("deferral"));
    for (const id of [25n, 26n]) {
      put(layout.sidecar("hold", id), RECENT, "");
      put(layout.sidecar("deferral", id), RECENT, "{}");
    }
    const report = await recoverQueue(layout, new Date(NOW * 1000));
    assertEquals(report.sidecars.sort(), ["deferral/26", "hold/26"]);
    assertEquals(pathExists(layout.sidecar("hold", 25n)), true);
    assertEquals(pathExists(layout.sidecar("deferral", 25n)), true);
  }));
