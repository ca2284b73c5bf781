import { assert, assertEquals, assertStringIncludes } from "../../tests/assert.ts";
import type { FromRole, ToRole } from "../ipc.ts";
import { stringToBytes } from "../bytes.ts";
import { injectMessage } from "../queue/qmail_queue.ts";
import { makeTestQueue, pathExists } from "../queue/test_queue.ts";

const b = (text: string) => stringToBytes(text);

Deno.test("the Worker speaks the role protocol: start, deliver, report, drain", async () => {
  const home = await Deno.makeTempDir({ prefix: "qmd-send-worker-" });
  try {
    Deno.mkdirSync(`${home}/control`);
    Deno.writeTextFileSync(`${home}/control/me`, "mx.example.com\n");
    const layout = makeTestQueue(home);
    const worker = new Worker(new URL("./send.ts", import.meta.url).href, { type: "module" });
    const inbox: FromRole[] = [];
    /** Every message as it came: a log record's text, else the message type. */
    const arrivals: string[] = [];
    let wake: (() => void) | undefined;
    const receive = (message: FromRole) => {
      inbox.push(message);
      if (message.type === "logs") {
        arrivals.push(...message.records.map((r) => r.text));
        // The message posted after the records rides with them: it comes next.
        if (message.then !== undefined) receive(message.then);
      } else arrivals.push(message.type);
    };
    worker.onmessage = (event: MessageEvent<FromRole>) => {
      receive(event.data);
      wake?.();
    };
    const next = async (type: FromRole["type"]): Promise<FromRole> => {
      for (;;) {
        const index = inbox.findIndex((message) => message.type === type);
        if (index >= 0) return inbox.splice(index, 1)[0];
        await new Promise<void>((resolve) => (wake = resolve));
      }
    };
    const post = (message: ToRole) => worker.postMessage(message);
    try {
      post({
        type: "start",
        settings: { home, env: {}, options: { role: "send", remoteDelivery: false } },
      });
      await next("ready");
      const { id } = await injectMessage(layout, b("x\n"), b("a@b.org"), [
        b("joe@mx.example.com"),
      ], { who: "by uid 1000" });
      // The commit pulled lock/trigger, which the engine watches: no message wakes it.
      const deliver = await next("deliver");
      assert(deliver.type === "deliver");
      assertEquals(deliver.job.recipient, "joe@mx.example.com");
      assertEquals(deliver.job.id, String(id));
      post({
        type: "report",
        report: { delivery: deliver.job.delivery, status: "K", text: "ok\n" },
      });
      // Log records come in batches, each before any other message the role posts.
      for (;;) {
        const logs = await next("logs");
        if (logs.type === "logs" && logs.records.some((r) => r.text === `end msg ${id}`)) break;
      }
      post({ type: "drain" });
      await next("drained");
      assert(inbox.every((message) => message.type === "logs"));
      // Batched records keep their place among the other messages: each batch goes first.
      const at = (start: string) => arrivals.findIndex((text) => text.startsWith(start));
      assert(at("new msg") < at("deliver") && at("deliver") < at("starting delivery 1:"));
      assert(at("end msg") < at("status: exiting") && at("status: exiting") < at("drained"));
      assertEquals(pathExists(layout.mess(id)), false);
    } finally {
      worker.terminate();
    }
  } finally {
    await Deno.remove(home, { recursive: true });
  }
});

Deno.test("the Worker reports a fatal start", async () => {
  const home = await Deno.makeTempDir({ prefix: "qmd-send-worker-" });
  try {
    makeTestQueue(home);
    const worker = new Worker(new URL("./send.ts", import.meta.url).href, { type: "module" });
    try {
      const message = await new Promise<FromRole>((resolve) => {
        worker.onmessage = (event: MessageEvent<FromRole>) => {
          const message = event.data;
          if (message.type !== "logs") resolve(message);
          else if (message.then !== undefined) resolve(message.then);
        };
        worker.postMessage(
          {
            type: "start",
            settings: { home, env: {}, options: { role: "send", remoteDelivery: false } },
          } satisfies ToRole,
        );
      });
      assert(message.type === "fatal");
      assertStringIncludes(message.message, "send: unable to read controls:");
      assertStringIncludes(message.message, "control/locals");
    } finally {
      worker.terminate();
    }
  } finally {
    await Deno.remove(home, { recursive: true });
  }
});
