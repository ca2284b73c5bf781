import { assert, assertEquals, assertStringIncludes } from "../../tests/assert.ts";
import { bytesToString } from "../bytes.ts";
import { describeQueue } from "../queue/status.ts";
import { pathExists } from "../queue/test_queue.ts";
import { SendMutex } from "../send/engine/send_mutex.ts";
import { withSend } from "../send/engine/test_send_engine.ts";
import { controlQueue } from "./control.ts";
import type { QueueLayout } from "../queue/layout.ts";
import type { SendEngine } from "../send/engine/send_engine.ts";

const REFUSED = "Sorry, I wasn't able to establish an SMTP connection. (#4.4.1)\n";

/** A message deferred by a send engine that has then stopped (drained, sendmutex released). */
async function deferredAndStopped(
  engine: SendEngine,
  queue: (sender: string, recipients: string[]) => Promise<bigint>,
): Promise<bigint> {
  const id = await queue("joe@a.org", ["far@remote.org"]);
  await engine.start();
  await engine.settle();
  engine.report({ delivery: 0, status: "Z", text: REFUSED }, "remote");
  await engine.drain();
  return id;
}

function mtimeOf(path: string): number {
  return Math.floor(Deno.statSync(path).mtime!.getTime() / 1000);
}

function now(): number {
  return Math.floor(Date.now() / 1000);
}

async function reply(home: string, request: Parameters<typeof controlQueue>[1]) {
  const outcome = await controlQueue(home, request);
  if (!outcome.ok) throw new Error(outcome.reason);
  assertEquals(outcome.reply.by, "command");
  return outcome.reply;
}

const REMOTE = { engine: { remoteDelivery: true } };

Deno.test("with qmd stopped, list reads the saved schedule and the kept deferral", () =>
  withSend(async ({ home, layout, engine, queue }) => {
    const id = await deferredAndStopped(engine, queue);
    const { messages } = await reply(home, { action: "list" });
    assertEquals(messages?.length, 1);
    assertEquals(messages![0].nextRetry, { remote: mtimeOf(layout.remote(id)) });
    assertEquals(messages![0].recipients[0].lastDeferral?.text, REFUSED);
  }, REMOTE));

Deno.test("with qmd stopped, hold, release and retry change only the marker and the mtimes", () =>
  withSend(async ({ home, layout, engine, queue }) => {
    const id = await deferredAndStopped(engine, queue);
    const qread = describeQueue(layout).text;
    await reply(home, { action: "hold", ids: [String(id)] });
    assert(pathExists(layout.sidecar("hold", id)));
    assertEquals(describeQueue(layout).text, qread);
    Deno.utimeSync(layout.remote(id), 2_000_000_000, 2_000_000_000);
    const released = await reply(home, { action: "release", ids: [String(id)] });
    assertEquals(released.results?.[0].ok, true);
    assertEquals(pathExists(layout.sidecar("hold", id)), false);
    assert(mtimeOf(layout.remote(id)) <= now());
    Deno.utimeSync(layout.remote(id), 2_000_000_000, 2_000_000_000);
    await reply(home, { action: "retry", ids: [String(id)] });
    assert(mtimeOf(layout.remote(id)) <= now());
    assertEquals(describeQueue(layout).text, qread);
  }, REMOTE));

Deno.test("with qmd stopped, bounce finishes the message and queues the bounce for the next start", () =>
  withSend(async ({ home, layout, engine, queue }) => {
    const id = await deferredAndStopped(engine, queue);
    const result = await reply(home, { action: "bounce", ids: [String(id)], reason: "Bounced." });
    assertEquals(result.results?.[0].text, "bounced 1 recipient: far@remote.org");
    assertEquals(pathExists(layout.mess(id)), false);
    assertEquals(pathExists(layout.sidecar("deferral", id)), false);
    const bounce = layout.listIds("todo");
    assertEquals(bounce.length, 1);
    const text = bytesToString(Deno.readFileSync(layout.mess(bounce[0])));
    assertStringIncludes(text, "<far@remote.org>:\nBounced.\n");
  }, REMOTE));

Deno.test("with qmd stopped, remove and yank leave nothing of the message in the queue", () =>
  withSend(async ({ home, layout, engine, queue }) => {
    const id = await deferredAndStopped(engine, queue);
    const second = await queue("ann@a.org", ["x@remote.org"]);
    const yanked = `${layout.root}/yanked`;
    const yank = await reply(home, { action: "yank", ids: [String(id)], directory: yanked });
    assertEquals(yank.results?.[0].ok, true);
    assertEquals(
      [...Deno.readDirSync(yanked)].map((entry) => entry.name).sort(),
      [`${id}.deferral`, `${id}.info`, `${id}.mess`, `${id}.remote`],
    );
    await reply(home, { action: "remove", ids: [String(second)] });
    assertEquals(allFiles(layout), []);
  }, REMOTE));

Deno.test("with another qmail-send holding the sendmutex, changes are refused and reads allowed", () =>
  withSend(async ({ home, layout, engine, queue }) => {
    const id = await deferredAndStopped(engine, queue);
    const other = SendMutex.take(layout.sendmutex);
    try {
      const refused = await controlQueue(home, { action: "remove", ids: [String(id)] });
      assertEquals(refused.ok, false);
      assertStringIncludes(!refused.ok ? refused.reason : "", "lock/sendmutex is held");
      assert(pathExists(layout.mess(id)));
      assertEquals((await reply(home, { action: "list" })).messages?.length, 1);
    } finally {
      other.release();
    }
  }, REMOTE));

/** Every file under the queue's message directories (mess, info, todo, channels, sidecars). */
function allFiles(layout: QueueLayout): string[] {
  const names = ["mess", "info", "todo", "intd", "local", "remote", "bounce", "hold", "deferral"];
  const found: string[] = [];
  const walk = (dir: string) => {
    let entries: Deno.DirEntry[];
    try {
      entries = [...Deno.readDirSync(dir)];
    } catch {
      return;
    }
    for (const entry of entries) {
      if (entry.isDirectory) walk(`${dir}/${entry.name}`);
      else found.push(`${dir}/${entry.name}`);
    }
  };
  for (const name of names) walk(`${layout.root}/${name}`);
  return found;
}
