import { assert, assertEquals } from "../../tests/assert.ts";
import { type LogRecord, setLogSink } from "../log.ts";
import { buildRoutingTable } from "../send/routing.ts";
import { bounceAndFinish, type BounceAndFinishOptions } from "./bounce_and_finish.ts";
import { stringToBytes } from "../bytes.ts";
import { injectMessage } from "./qmail_queue.ts";
import type { QueueLayout } from "./layout.ts";
import { preprocessMessage } from "./preprocess.ts";
import { makeTestQueue, pathExists } from "./test_queue.ts";
import { appendBounce, removeChannelFile } from "./transitions.ts";

const b = (text: string) => stringToBytes(text);
const NOW = 1_709_622_489; // 5 Mar 2024 07:08:09 UTC

const table = buildRoutingTable({
  envnoathost: "mx.example.com",
  locals: ["mx.example.com"],
  percenthack: [],
  virtualdomains: [],
});

const options: BounceAndFinishOptions = {
  settings: {
    bounceFrom: "MAILER-DAEMON",
    bounceHost: "mx.example.com",
    doubleBounceRecipient: "postmaster@mx.example.com",
    maxBytes: 0,
  },
  date: new Date(NOW * 1000),
};

/** A queue holding one preprocessed message to bob@mx.example.com (S5, local channel). */
async function withMessage(
  sender: string,
  run: (layout: QueueLayout, id: bigint, logs: string[]) => Promise<void>,
): Promise<void> {
  const home = await Deno.makeTempDir({ prefix: "qmd-finish-" });
  const logs: string[] = [];
  setLogSink((record: LogRecord) => logs.push(record.text), "send");
  try {
    const layout = makeTestQueue(home);
    const { id } = await injectMessage(layout, b("Subject: t\n\nx\n"), b(sender), [
      b("bob@mx.example.com"),
    ], { pid: 4242, who: "by uid 1000", now: new Date(NOW * 1000) });
    assert(preprocessMessage(layout, id, table, NOW).ok);
    await run(layout, id, logs);
  } finally {
    setLogSink((record) => console.log(record.text), "main");
    await Deno.remove(home, { recursive: true });
  }
}

Deno.test("a message with a channel file left is not finished", () =>
  withMessage("joe@a.org", async (layout, id, logs) => {
    assertEquals(await bounceAndFinish(layout, id, options), { bounced: false, retry: false });
    assert(
      pathExists(layout.info(id)) && pathExists(layout.local(id)) && pathExists(layout.mess(id)),
    );
    assertEquals(logs, []);
  }));

Deno.test("a done message without bounce/ leaves the queue with end msg", () =>
  withMessage("joe@a.org", async (layout, id, logs) => {
    removeChannelFile(layout, "local", id);
    assertEquals(await bounceAndFinish(layout, id, options), { bounced: false, retry: false });
    assertEquals([pathExists(layout.info(id)), pathExists(layout.mess(id))], [false, false]);
    assertEquals(logs, [`end msg ${id}`]);
  }));

Deno.test("a done message with bounce/ is bounced, then leaves the queue", () =>
  withMessage("joe@a.org", async (layout, id, logs) => {
    appendBounce(layout, id, b("<bob@mx.example.com>:\nNo mailbox here by that name.\n\n"));
    removeChannelFile(layout, "local", id);
    assertEquals(await bounceAndFinish(layout, id, options), { bounced: true, retry: false });
    assertEquals([pathExists(layout.bounce(id)), pathExists(layout.info(id))], [false, false]);
    assertEquals(logs.length, 2);
    assert(logs[0].startsWith(`bounce msg ${id} qp `));
    assertEquals(logs[1], `end msg ${id}`);
  }));

Deno.test("a bounce to #@[] is discarded as a triple bounce", () =>
  withMessage("#@[]", async (layout, id, logs) => {
    appendBounce(layout, id, b("<bob@mx.example.com>:\nNo mailbox here by that name.\n\n"));
    removeChannelFile(layout, "local", id);
    assertEquals(await bounceAndFinish(layout, id, options), { bounced: false, retry: false });
    assertEquals(logs, [`triple bounce: discarding bounce/${id}`, `end msg ${id}`]);
  }));

Deno.test("a bounce that cannot be queued asks for a retry and keeps the message", () =>
  withMessage("joe@a.org", async (layout, id, logs) => {
    appendBounce(layout, id, b("<bob@mx.example.com>:\nNo mailbox here by that name.\n\n"));
    removeChannelFile(layout, "local", id);
    const failing: BounceAndFinishOptions["open"] = () => Promise.reject(new Error("disk full"));
    assertEquals(await bounceAndFinish(layout, id, { ...options, open: failing }), {
      bounced: false,
      retry: true,
    });
    assert(
      pathExists(layout.bounce(id)) && pathExists(layout.info(id)) && pathExists(layout.mess(id)),
    );
    assertEquals(logs.length, 1);
    assert(logs[0].startsWith("warning: trouble injecting bounce message, will try later"));
  }));
