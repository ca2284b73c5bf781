import { assert, assertEquals, assertStringIncludes } from "../../tests/assert.ts";
import { makeTestConsole, type TestConsole } from "./test_console.ts";
import { controlQueue } from "../queue_control/control.ts";
import { queueLayoutFor } from "../queue/layout.ts";
import { injectMessage } from "../queue/qmail_queue.ts";
import { countQueue, describeQueue, formatQstat } from "../queue/status.ts";
import { stringToBytes } from "../bytes.ts";
import { SendEngine } from "../send/engine/send_engine.ts";
import type { DeliveryJob } from "../ipc.ts";
import type { QueueCarrier } from "./admin_writes.ts";
import { isHeld } from "../queue/held.ts";

const REFUSED = "Sorry, I wasn't able to establish an SMTP connection. (#4.4.1)\n";

/** What the supervisor's send role does with a queue request; here `qmd queue` with qmd stopped. */
const carryQueue = (home: string): QueueCarrier => async (request) => {
  const outcome = await controlQueue(home, request);
  return outcome.ok
    ? outcome.reply
    : { now: Math.floor(Date.now() / 1000), by: "command", error: outcome.reason };
};

/**
 * Queues one message a sender for each of `senders` to a remote recipient,
 * preprocessed and deferred by a send engine that then stops (as a qmd
 * stopped after a failed try leaves them).
 */
async function deferredMessages(home: string, senders: string[]): Promise<string[]> {
  const layout = queueLayoutFor(home);
  const ids: string[] = [];
  for (const [index, sender] of senders.entries()) {
    const { id } = await injectMessage(
      layout,
      stringToBytes(`Subject: test ${index}\n\nbody\n`),
      stringToBytes(sender),
      [stringToBytes(`far${index}@remote.example`)],
      { pid: 4242, who: "by uid 1000", now: new Date() },
    );
    ids.push(String(id));
  }
  const jobs: DeliveryJob[] = [];
  const engine = new SendEngine({
    home,
    layout,
    deliver: (job) => jobs.push(job),
    timers: false,
    watchTrigger: false,
    remoteDelivery: true,
  });
  try {
    await engine.start();
    await engine.settle();
    for (const job of jobs) {
      engine.report({ delivery: job.delivery, status: "Z", text: REFUSED }, "remote");
    }
    await engine.drain();
  } finally {
    engine.close();
  }
  return ids;
}

async function withQueueConsole(
  senders: string[],
  run: (console: TestConsole, ids: string[], session: { cookie: string; csrf: string }) => Promise<
    void
  >,
): Promise<void> {
  const console = await makeTestConsole({ carryQueue });
  try {
    const ids = await deferredMessages(console.home, senders);
    await run(console, ids, await console.login());
  } finally {
    await console.close();
  }
}

function postJson(
  console: TestConsole,
  session: { cookie: string; csrf: string },
  path: string,
  body: unknown,
): Promise<Response> {
  return console.request(path, {
    method: "POST",
    cookie: session.cookie,
    headers: { "content-type": "application/json", "x-csrf-token": session.csrf },
    body: JSON.stringify(body),
  });
}

const qread = (console: TestConsole) => describeQueue(queueLayoutFor(console.home)).text;
const qstat = (console: TestConsole) => formatQstat(countQueue(queueLayoutFor(console.home)));

Deno.test("queue routes: no session, no queue; a change without the CSRF token is refused", async () => {
  await withQueueConsole(["joe@example.test"], async (console, [id], session) => {
    const before = qread(console);
    for (const path of ["/api/queue", `/api/queue/messages/${id}`, "/api/queue/jobs/x"]) {
      assertEquals((await console.request(path)).status, 401, path);
    }
    assertEquals((await console.request("/queue")).status, 303);
    const anonymous = await console.request("/api/queue/hold", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ ids: [id] }),
    });
    assertEquals(anonymous.status, 401);
    for (const path of ["/api/queue/hold", "/api/queue/jobs"]) {
      const forged = await console.request(path, {
        method: "POST",
        cookie: session.cookie,
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ action: "hold", ids: [id] }),
      });
      assertEquals(forged.status, 403, path);
    }
    const form = await console.request("/queue/action", {
      method: "POST",
      cookie: session.cookie,
      body: new URLSearchParams({ action: "remove", id }),
    });
    assertEquals(form.status, 403);
    assertEquals(qread(console), before);
    assert(!isHeld(queueLayoutFor(console.home), BigInt(id)));
  });
});

Deno.test("queue routes: search by sender, recipient and state; a message's envelope and header", async () => {
  await withQueueConsole(
    ["joe@example.test", "ann@example.test"],
    async (console, ids, session) => {
      const api = async (query: string) =>
        (await (await console.request(`/api/queue${query}`, { cookie: session.cookie })).json())
          .messages.map((message: { id: string }) => message.id);
      assertEquals((await api("")).sort(), [...ids].sort());
      assertEquals(await api("?q=ANN@"), [ids[1]]);
      assertEquals(await api("?q=far0@remote"), [ids[0]]);
      assertEquals(await api("?state=held"), []);
      assertEquals((await api("?state=queued")).length, 2);
      const page = await (await console.request("/queue?q=joe", { cookie: session.cookie })).text();
      assertStringIncludes(page, `href="/queue/message/${ids[0]}"`);
      assert(!page.includes(`href="/queue/message/${ids[1]}"`));

      const shown = await (await console.request(`/api/queue/messages/${ids[0]}`, {
        cookie: session.cookie,
      })).json();
      assertEquals(shown.sender, "joe@example.test");
      assertStringIncludes(shown.headers, "Subject: test 0");
      assertEquals(shown.recipients[0].lastDeferral.text, REFUSED);
      const detail = await (await console.request(`/queue/message/${ids[0]}`, {
        cookie: session.cookie,
      })).text();
      assertStringIncludes(detail, "Subject: test 0");
      assertStringIncludes(detail, "far0@remote.example");
      assertEquals(
        (await console.request("/api/queue/messages/999999", { cookie: session.cookie })).status,
        404,
      );
    },
  );
});

Deno.test("queue routes: hold, release, retry, bounce and remove change the queue as qread and qstat show", async () => {
  await withQueueConsole(
    ["joe@example.test", "ann@example.test", "bob@example.test"],
    async (console, [first, second, third], session) => {
      const layout = queueLayoutFor(console.home);
      const before = qread(console);
      const hold = await postJson(console, session, "/api/queue/hold", { ids: [first] });
      assertEquals(hold.status, 200);
      assertEquals((await hold.json()).results[0].ok, true);
      assert(isHeld(layout, BigInt(first)));
      // A hold is a marker beside the queue: qmail's tools see the same queue.
      assertEquals(qread(console), before);
      const heldPage = await (await console.request("/api/queue?state=held", {
        cookie: session.cookie,
      })).json();
      assertEquals(heldPage.messages.map((m: { id: string }) => m.id), [first]);
      const retried = await (await postJson(console, session, "/api/queue/retry", {
        ids: [first],
      })).json();
      assertEquals(retried.results[0], {
        id: first,
        ok: false,
        text: "is held; release it to retry it",
      });

      // The page's form: release, back to the message's page.
      const release = await console.request("/queue/action", {
        method: "POST",
        cookie: session.cookie,
        body: new URLSearchParams({ _csrf: session.csrf, action: "release", id: first }),
      });
      assertEquals(release.status, 303);
      assertStringIncludes(release.headers.get("location")!, `/queue/message/${first}?ok=`);
      assert(!isHeld(layout, BigInt(first)));
      assertEquals(qread(console), before);

      const qstatBefore = qstat(console);
      const removed = await postJson(console, session, "/api/queue/remove", { ids: [second] });
      assertEquals((await removed.json()).results[0].ok, true);
      assert(!qread(console).includes(`#${second}`));
      assert(qstat(console) !== qstatBefore);

      const bounced = await (await postJson(console, session, "/api/queue/bounce", {
        ids: [third],
        reason: "Not wanted here.",
      })).json();
      assertEquals(bounced.results[0].text, "bounced 1 recipient: far2@remote.example");
      assert(!qread(console).includes(`#${third} `));
      // The bounce waits in todo/ for qmd's next start, as qmail-qstat counts it.
      assertStringIncludes(qstat(console), "messages in queue but not yet preprocessed: 1");

      const unknown = await postJson(console, session, "/api/queue/explode", { ids: [first] });
      assertEquals(unknown.status, 400);
    },
  );
});

Deno.test("queue routes: a bulk job holds the selected messages one at a time and shows its progress", async () => {
  await withQueueConsole(
    ["joe@example.test", "ann@example.test", "bob@example.test"],
    async (console, ids, session) => {
      const layout = queueLayoutFor(console.home);
      const form = new URLSearchParams({ _csrf: session.csrf, action: "hold" });
      for (const id of ids.slice(0, 2)) form.append("id", id);
      const started = await console.request("/queue/bulk", {
        method: "POST",
        cookie: session.cookie,
        body: form,
      });
      assertEquals(started.status, 303);
      const location = started.headers.get("location")!;
      assertStringIncludes(location, "/queue/jobs/");
      const jobId = location.split("/").pop()!;
      let job = { finished: false, done: 0, total: 0, results: [] as { ok: boolean }[] };
      for (let polls = 0; polls < 100 && !job.finished; polls++) {
        await new Promise((resolve) => setTimeout(resolve, 20));
        job = await (await console.request(`/api/queue/jobs/${jobId}`, {
          cookie: session.cookie,
        })).json();
      }
      assertEquals([job.finished, job.done, job.total], [true, 2, 2]);
      assert(job.results.every((result) => result.ok));
      assertEquals(ids.map((id) => isHeld(layout, BigInt(id))), [true, true, false]);
      const page = await (await console.request(location, { cookie: session.cookie })).text();
      assertStringIncludes(page, "2 of 2 done");
      assertStringIncludes(page, `max="2"`);
      assert(!page.includes("<script>"), "no inline script");

      // The API: a job released over JSON.
      const api = await postJson(console, session, "/api/queue/jobs", {
        action: "release",
        ids: ids.slice(0, 2),
      });
      assertEquals(api.status, 202);
      const { id } = await api.json();
      job = { finished: false, done: 0, total: 0, results: [] };
      for (let polls = 0; polls < 100 && !job.finished; polls++) {
        await new Promise((resolve) => setTimeout(resolve, 20));
        job = await (await console.request(`/api/queue/jobs/${id}`, {
          cookie: session.cookie,
        })).json();
      }
      assertEquals(job.done, 2);
      assertEquals(ids.map((each) => isHeld(layout, BigInt(each))), [false, false, false]);
      const empty = await postJson(console, session, "/api/queue/jobs", {
        action: "hold",
        ids: [],
      });
      assertEquals(empty.status, 400);
    },
  );
});
