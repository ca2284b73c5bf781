import { assert, assertEquals } from "../../tests/assert.ts";
import { injectTestMessage, makeTestQueue, pathExists } from "../queue/test_queue.ts";
import { countQueue } from "../queue/status.ts";
import { captureConsole } from "./test_io.ts";
import { runCli } from "../../main.ts";
import type { QueueLayout } from "../queue/layout.ts";

/** A queue with three messages; the needle is in #1's body, and at byte 200+ of #2's. */
async function withMessages(
  run: (home: string, layout: QueueLayout, ids: bigint[]) => Promise<void>,
): Promise<void> {
  const home = await Deno.makeTempDir({ prefix: "qmd-remove-" });
  try {
    const layout = makeTestQueue(home);
    const ids: bigint[] = [];
    for (
      const body of [
        "Subject: a\n\nthe needle is here\n",
        `Subject: b\n\n${"x".repeat(200)} needle late\n`,
        "Subject: c\n\nnothing\n",
      ]
    ) {
      ids.push((await injectTestMessage(layout, "s@a.org", ["r@b.org"], body)).id);
    }
    await run(home, layout, ids);
  } finally {
    await Deno.remove(home, { recursive: true });
  }
}

function remove(home: string, ...args: string[]) {
  return captureConsole(() => runCli([...args, "--home", home], "qmail-remove"));
}

Deno.test("qmail-remove -p prints the matches and takes nothing", () =>
  withMessages(async (home, layout, ids) => {
    const { result, out } = await remove(home, "-p", "needle");
    assertEquals(result, 0);
    // Ascending message numbers (inode numbers: not the order they were queued in).
    assertEquals(out, [ids[0], ids[1]].sort((a, b) => (a < b ? -1 : 1)).map((id) => `${id}: yes`));
    assertEquals(countQueue(layout).messages, 3);
    const limited = await remove(home, "-p", "needle", "-n", "120");
    assertEquals(limited.out, [`${ids[0]}: yes`]);
    const none = await remove(home, "-p", "haystack");
    assertEquals([none.result, none.out], [0, []]);
  }));

Deno.test("qmail-remove -r yanks the matches into yanked/, -y elsewhere", () =>
  withMessages(async (home, layout, ids) => {
    const { result, out } = await remove(home, "-p", "needle", "-n", "120", "-r");
    assertEquals(result, 0);
    const id = ids[0];
    const bucket = id % 23n;
    assertEquals(out, [
      `${id}: yes`,
      `remove todo/${bucket}/${id}`,
      `remove intd/${bucket}/${id}`,
      `remove mess/${bucket}/${id}`,
    ]);
    assertEquals(
      [...Deno.readDirSync(`${layout.root}/yanked`)].map((entry) => entry.name).sort(),
      [`${id}.intd`, `${id}.mess`, `${id}.todo`],
    );
    assertEquals(countQueue(layout), { messages: 2, unprocessed: 2 });
    const elsewhere = `${home}/kept`;
    assertEquals((await remove(home, "-p", "late", "-r", "-y", elsewhere)).result, 0);
    assert(pathExists(`${elsewhere}/${ids[1]}.mess`));
    assertEquals(countQueue(layout), { messages: 1, unprocessed: 1 });
  }));

Deno.test("qmail-remove -d deletes; without -p every message", () =>
  withMessages(async (home, layout, ids) => {
    const one = await remove(home, "-d", "-p", "nothing");
    assertEquals(one.out[0], `${ids[2]}: yes`);
    assertEquals(pathExists(`${layout.root}/yanked`), false);
    assertEquals(countQueue(layout).messages, 2);
    assertEquals((await remove(home, "-d")).result, 0);
    assertEquals(countQueue(layout), { messages: 0, unprocessed: 0 });
  }));

Deno.test("qmail-remove refuses bad arguments with exit 64", () =>
  withMessages(async (home, layout) => {
    for (
      const args of [["-n", "abc"], ["-n", "0"], ["-p", ""], ["-x"], ["-y", ""], ["extra"]]
    ) {
      const { result, err } = await remove(home, ...args);
      assertEquals(result, 64, args.join(" "));
      assert(err[0].startsWith("qmail-remove: "), err[0]);
    }
    assertEquals(countQueue(layout).messages, 3);
    const help = await captureConsole(() => runCli(["remove", "--help"], "qmd"));
    assertEquals(help.result, 0);
  }));
