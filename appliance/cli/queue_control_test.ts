import { assert, assertEquals, assertStringIncludes } from "../../tests/assert.ts";
import { injectTestMessage, makeTestQueue, pathExists } from "../queue/test_queue.ts";
import type { QueueLayout } from "../queue/layout.ts";
import { captureConsole } from "./test_io.ts";
import { main } from "./queue.ts";
import { formatQueueList, formatSpan } from "../queue/queue_listing.ts";

async function withQueued(run: (home: string, layout: QueueLayout, id: bigint) => Promise<void>) {
  const home = await Deno.makeTempDir({ prefix: "qmd-queue-control-" });
  try {
    const layout = makeTestQueue(home);
    const { id } = await injectTestMessage(layout, "s@a.org", ["r@b.org"]);
    await run(home, layout, id);
  } finally {
    await Deno.remove(home, { recursive: true });
  }
}

function queue(home: string, ...args: string[]) {
  return captureConsole(() => main([...args, "--home", home]));
}

Deno.test("qmd queue refuses bad arguments with one line and exit 64", () =>
  withQueued(async (home, layout, id) => {
    const cases: [string[], string][] = [
      [["frob"], 'unknown subcommand "frob"'],
      [["show"], "give one message number"],
      [["show", "1", "2"], "give one message number"],
      [["hold"], "give one or more message numbers"],
      [["remove", "12x"], '"12x" is not a message number'],
      [["remove", "0"], '"0" is not a message number'],
      [["list", "5"], "list takes no message number"],
      [["hold", String(id), "--reason", "x"], "--reason is for bounce"],
      [["bounce", String(id), "--reason", " "], "--reason is empty"],
      [["retry", String(id), "--json"], "--json is for list and show"],
      [["list", "--bogus"], "unknown option --bogus"],
      [["--json", "list"], "put the subcommand first: qmd queue list"],
    ];
    for (const [args, message] of cases) {
      const { result, err } = await queue(home, ...args);
      assertEquals(result, 64, args.join(" "));
      assertEquals(err.length, 1);
      assertStringIncludes(err[0], message);
    }
    assert(pathExists(layout.mess(id)));
    assertEquals(pathExists(layout.sidecar("hold", id)), false);
  }));

Deno.test("qmd queue: a message not in the queue is exit 100, and the others are still done", () =>
  withQueued(async (home, layout, id) => {
    const shown = await queue(home, "show", "12345");
    assertEquals(shown.result, 100);
    assertStringIncludes(shown.err[0], "message 12345 is not in the queue");
    const held = await queue(home, "hold", "12345", String(id));
    assertEquals(held.result, 100);
    assertEquals(held.err, ["qmd queue hold: #12345: not in the queue"]);
    assertEquals(held.out, [
      `qmd queue hold: #${id}: held: no delivery is started until it is released`,
    ]);
    assert(pathExists(layout.sidecar("hold", id)));
  }));

Deno.test("qmd queue list --json and show --json give the engine's plain data", () =>
  withQueued(async (home, _layout, id) => {
    const list = await queue(home, "list", "--json");
    assertEquals(list.result, 0);
    const parsed = JSON.parse(list.out.join("\n"));
    assertEquals(parsed.messages.length, 1);
    assertEquals(parsed.messages[0].id, String(id));
    assertEquals(parsed.messages[0].state, "unprocessed");
    assertEquals(parsed.messages[0].recipients, [{ address: "r@b.org", done: false }]);
    const show = await queue(home, "show", String(id), "--json");
    assertStringIncludes(JSON.parse(show.out.join("\n")).headers, "Subject: t\n");
  }));

Deno.test("the list text: age, state, next retry and the last deferral on one line", () => {
  const text = formatQueueList([{
    id: "42",
    state: "queued",
    held: false,
    birth: 1000,
    size: 300,
    sender: "s@a.org",
    nextRetry: { remote: 1000 + 7400 + 65 },
    delivering: false,
    recipients: [
      {
        channel: "remote",
        address: "far@b.org",
        done: false,
        lastDeferral: { at: 8000, text: "Connected to 192.0.2.1 but greeting failed.\nSorry.\n" },
      },
      { channel: "local", address: "me@a.org", done: true },
    ],
  }], 1000 + 7400);
  assertEquals(
    text,
    "#42  <s@a.org>  300 bytes  age 2h 3m  queued\n" +
      "  remote  far@b.org  next retry in 1m 5s (1970-01-01T02:21:05Z)\n" +
      "          last deferral 1970-01-01T02:13:20Z: Connected to 192.0.2.1 but greeting failed. / Sorry.\n" +
      "  local   me@a.org  done\n" +
      "1 message",
  );
  assertEquals(formatQueueList([], 0), "the queue is empty");
  assertEquals([formatSpan(59), formatSpan(90000)], ["59s", "1d 1h"]);
});
