import { assert, assertEquals, assertStringIncludes } from "../../../tests/assert.ts";
import { bytesToString } from "../../bytes.ts";
import { describeQueue } from "../../queue/status.ts";
import { pathExists } from "../../queue/test_queue.ts";
import type { QueuedMessage } from "../../queue/control_request.ts";
import { BIRTH, channelFilesOpen, withSend } from "./test_send_engine.ts";
import { markHeld } from "../../queue/held.ts";

const REMOTE = { engine: { remoteDelivery: true } };
const REFUSED = "Sorry, I wasn't able to establish an SMTP connection. (#4.4.1)\n";

function only(messages: QueuedMessage[] | undefined): QueuedMessage {
  assertEquals(messages?.length, 1);
  return messages![0];
}

Deno.test("a deferral is kept per recipient and listed with the next retry", () =>
  withSend(async ({ layout, engine, jobs, queue }) => {
    const id = await queue("joe@a.org", ["far@remote.org", "near@remote.org"]);
    await engine.start();
    await engine.settle();
    assertEquals(jobs.map((each) => each.job.recipient), ["far@remote.org", "near@remote.org"]);
    engine.report({ delivery: 0, status: "Z", text: REFUSED }, "remote");
    engine.report({ delivery: 1, status: "K", text: "ok\n" }, "remote");
    const reply = await engine.control({ action: "list" });
    assertEquals(reply.by, "send role");
    const message = only(reply.messages);
    assertEquals(message.id, String(id));
    assertEquals(message.state, "queued");
    assertEquals(message.held, false);
    assertEquals(message.sender, "joe@a.org");
    // qmail's retry schedule: birth + (isqrt(0) + 20)^2 for the remote channel (§4.7).
    assertEquals(message.nextRetry, { remote: BIRTH + 400 });
    assertEquals(message.recipients, [
      {
        channel: "remote",
        address: "far@remote.org",
        done: false,
        lastDeferral: { at: BIRTH, text: REFUSED },
      },
      { channel: "remote", address: "near@remote.org", done: true },
    ]);
    // The sidecar is JSON beside qmail's layout; qread's bytes do not change.
    assert(pathExists(layout.sidecar("deferral", id)));
    assertStringIncludes(describeQueue(layout).text, "\tremote\tfar@remote.org\n");
    const show = await engine.control({ action: "show", id: String(id) });
    assertStringIncludes(show.message!.headers, "Subject: t\n");
    assertEquals(show.message!.headers.endsWith("\n\n"), false);
  }, REMOTE));

Deno.test("a held message gets no delivery until released, and qread reads it as before", () =>
  withSend(async ({ layout, engine, jobs, clock, queue }) => {
    const id = await queue("joe@a.org", ["far@remote.org"]);
    await engine.start();
    await engine.settle();
    engine.report({ delivery: 0, status: "Z", text: REFUSED }, "remote");
    const before = describeQueue(layout).text;
    const held = await engine.control({ action: "hold", ids: [String(id)] });
    assertEquals(held.results?.map((result) => result.ok), [true]);
    assert(pathExists(layout.sidecar("hold", id)));
    assertEquals(describeQueue(layout).text, before);
    clock.now += 100_000;
    engine.flush();
    await engine.settle();
    assertEquals(jobs.length, 1, "no delivery while held");
    const retry = await engine.control({ action: "retry", ids: [String(id)] });
    assertEquals(retry.results?.[0].ok, false);
    assertEquals(only((await engine.control({ action: "list" })).messages).held, true);
    const released = await engine.control({ action: "release", ids: [String(id)] });
    assertEquals(released.results?.[0].text, "released: due now");
    assertEquals(pathExists(layout.sidecar("hold", id)), false);
    await engine.settle();
    assertEquals(jobs.length, 2, "delivered at once after the release");
  }, REMOTE));

Deno.test("a hold survives a restart: parked jobs are saved and parked again", () =>
  withSend(async ({ layout, engine, jobs, clock, queue, newEngine }) => {
    const id = await queue("joe@a.org", ["far@remote.org"]);
    await engine.start();
    await engine.settle();
    engine.report({ delivery: 0, status: "Z", text: REFUSED }, "remote");
    await engine.control({ action: "hold", ids: [String(id)] });
    clock.now += 1000;
    await engine.settle();
    await engine.drain();
    const mtime = Deno.statSync(layout.remote(id)).mtime!.getTime() / 1000;
    assertEquals(mtime, clock.now);
    const next = newEngine();
    await next.start();
    await next.settle();
    assertEquals(jobs.length, 1);
    await next.control({ action: "release", ids: [String(id)] });
    await next.settle();
    assertEquals(jobs.length, 2);
  }, REMOTE));

Deno.test("retry makes a deferred message due now", () =>
  withSend(async ({ engine, jobs, queue }) => {
    const id = await queue("joe@a.org", ["far@remote.org"]);
    await engine.start();
    await engine.settle();
    engine.report({ delivery: 0, status: "Z", text: REFUSED }, "remote");
    await engine.settle();
    assertEquals(jobs.length, 1);
    const reply = await engine.control({ action: "retry", ids: [String(id), "99999"] });
    assertEquals(reply.results, [
      { id: String(id), ok: true, text: "due now" },
      { id: "99999", ok: false, text: "not in the queue" },
    ]);
    await engine.settle();
    assertEquals(jobs.length, 2);
  }, REMOTE));

Deno.test("bounce sends the sender a qmail bounce with the reason; refused while delivering", () =>
  withSend(async ({ layout, engine, queue }) => {
    const id = await queue("joe@a.org", ["far@remote.org", "bob@mx.example.com"]);
    await engine.start();
    await engine.settle();
    const busy = await engine.control({ action: "bounce", ids: [String(id)], reason: "No." });
    assertStringIncludes(busy.results![0].text, "in progress");
    assert(pathExists(layout.mess(id)));
    engine.report({ delivery: 0, status: "K", text: "did 0+0+1/\n" }, "local");
    engine.report({ delivery: 0, status: "Z", text: REFUSED }, "remote");
    const reply = await engine.control({
      action: "bounce",
      ids: [String(id)],
      reason: "The postmaster bounced it.",
    });
    assertEquals(reply.results![0], {
      id: String(id),
      ok: true,
      text: "bounced 1 recipient: far@remote.org",
    });
    await engine.settle();
    for (const path of [layout.mess(id), layout.info(id), layout.sidecar("deferral", id)]) {
      assertEquals(pathExists(path), false, path);
    }
    const bounce = layout.listIds("mess").filter((other) => other !== id);
    assertEquals(bounce.length, 1);
    const text = bytesToString(Deno.readFileSync(layout.mess(bounce[0])));
    assertStringIncludes(text, "<far@remote.org>:\nThe postmaster bounced it.\n");
    assertStringIncludes(text, "To: joe@a.org\n");
    assertEquals(bytesToString(Deno.readFileSync(layout.info(bounce[0]))), "F\0");
  }, REMOTE));

Deno.test("remove takes every file of the message and its schedule", () =>
  withSend(async ({ layout, engine, jobs, clock, queue }) => {
    const id = await queue("joe@a.org", ["far@remote.org"]);
    await engine.start();
    await engine.settle();
    engine.report({ delivery: 0, status: "Z", text: REFUSED }, "remote");
    await engine.control({ action: "hold", ids: [String(id)] });
    const reply = await engine.control({ action: "remove", ids: [String(id)] });
    const bucket = id % 23n;
    assertEquals(reply.results![0].files, [
      `remote/${bucket}/${id}`,
      `info/${bucket}/${id}`,
      `mess/${bucket}/${id}`,
      `hold/${id}`,
      `deferral/${id}`,
    ]);
    assertEquals(describeQueue(layout).text, "");
    clock.now += 100_000;
    engine.flush();
    await engine.settle();
    assertEquals(jobs.length, 1);
    assertEquals(engine.queued("remote"), []);
  }, REMOTE));

Deno.test("a hold whose marker is gone no longer parks the number (it may be a new message)", () =>
  withSend(async ({ layout, engine, jobs, clock, queue }) => {
    const id = await queue("joe@a.org", ["far@remote.org"]);
    await engine.start();
    await engine.settle();
    engine.report({ delivery: 0, status: "Z", text: REFUSED }, "remote");
    await engine.control({ action: "hold", ids: [String(id)] });
    Deno.removeSync(layout.sidecar("hold", id));
    clock.now += 100_000;
    engine.flush();
    await engine.settle();
    assertEquals(jobs.length, 2);
  }, REMOTE));

Deno.test("held past queuelifetime: no bounce while held; after the release one try, then the bounce", () =>
  withSend(async ({ layout, engine, jobs, clock, queue }) => {
    const id = await queue("joe@a.org", ["far@remote.org"]);
    await engine.start();
    await engine.settle();
    engine.report({ delivery: 0, status: "Z", text: REFUSED }, "remote");
    await engine.control({ action: "hold", ids: [String(id)] });
    clock.now += 5000;
    engine.flush();
    await engine.settle();
    assertEquals([jobs.length, pathExists(layout.bounce(id))], [1, false]);
    await engine.control({ action: "release", ids: [String(id)] });
    await engine.settle();
    assertEquals(jobs.length, 2);
    engine.report({ delivery: 0, status: "Z", text: REFUSED }, "remote");
    await engine.settle();
    assertEquals(pathExists(layout.mess(id)), false);
    const bounce = layout.listIds("mess");
    assertEquals(bounce.length, 1);
    assertStringIncludes(
      bytesToString(Deno.readFileSync(layout.mess(bounce[0]))),
      "this message has been in the queue too long.",
    );
  }, { ...REMOTE, controls: { queuelifetime: "1000" } }));

Deno.test("a message held before its first pass keeps no file open; released, it is delivered", () =>
  withSend(async ({ layout, engine, jobs, queue }) => {
    const id = await queue("joe@a.org", ["bob@mx.example.com"]);
    markHeld(layout, id);
    await engine.start();
    await engine.settle();
    assertEquals(jobs.length, 0, "no delivery while held");
    assert(pathExists(layout.local(id)), "preprocessed");
    assertEquals(channelFilesOpen(layout.directory("local")), 0);
    const released = await engine.control({ action: "release", ids: [String(id)] });
    assertEquals(released.results?.[0].ok, true);
    await engine.settle();
    assertEquals(jobs.map(({ job }) => [job.id, job.sender, job.recipient]), [
      [String(id), "joe@a.org", "bob@mx.example.com"],
    ]);
    assertEquals(channelFilesOpen(layout.directory("local")), 1, "the pass's own handle");
  }));
