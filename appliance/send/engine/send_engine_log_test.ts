/**
 * The send engine's delivery events: qmail-send's text lines, unchanged, and
 * JSON fields that name the message, the channel and the recipient on every
 * one of them (starting, success, deferral, failure, mangled).
 */
import { assertEquals } from "../../../tests/assert.ts";
import type { DeliveryJob } from "../../ipc.ts";
import { type LogRecord, setLogSink } from "../../log.ts";
import { stringToBytes } from "../../bytes.ts";
import { injectMessage } from "../../queue/qmail_queue.ts";
import { SendEngine } from "./send_engine.ts";
import { makeTestQueue } from "../../queue/test_queue.ts";

const NOW = 1_709_622_489;

Deno.test("every delivery event carries msg, channel and recipient; the text is qmail-send's", async () => {
  const home = await Deno.makeTempDir({ prefix: "qmd-send-log-" });
  const records: LogRecord[] = [];
  const jobs: DeliveryJob[] = [];
  const engine = new SendEngine({
    home,
    layout: undefined,
    now: () => NOW,
    deliver: (job) => jobs.push(job),
    timers: false,
    watchTrigger: false,
  });
  try {
    Deno.mkdirSync(`${home}/control`);
    Deno.writeTextFileSync(`${home}/control/me`, "mx.example.com\n");
    const layout = makeTestQueue(home);
    const recipients = ["ok", "busy", "gone", "odd"].map((name) => `${name}@mx.example.com`);
    const { id } = await injectMessage(
      layout,
      stringToBytes("Subject: t\n\nbody\n"),
      stringToBytes("joe@a.org"),
      recipients.map(stringToBytes),
      { who: "by uid 0", now: new Date(NOW * 1000) },
    );
    setLogSink((record) => records.push(record), "send");
    await engine.start();
    await engine.settle();
    const slot = (recipient: string) => jobs.find((job) => job.recipient === recipient)!.delivery;
    engine.report({ delivery: slot(recipients[0]), status: "K", text: "did 1+0+0\n" });
    engine.report({ delivery: slot(recipients[1]), status: "Z", text: "busy\n" });
    engine.report({ delivery: slot(recipients[2]), status: "D", text: "gone\n" });
    // A status letter outside K/Z/D, as a broken spawner might send it.
    const mangled = "?" as "K";
    engine.report({ delivery: slot(recipients[3]), status: mangled, text: "what\n" });

    const delivery = records.filter((record) =>
      record.event === "starting_delivery" || record.event.startsWith("delivery_")
    );
    assertEquals(delivery.length, 8);
    const delid = (recipient: string) =>
      delivery.find((record) =>
        record.event === "starting_delivery" && record.fields.recipient === recipient
      )!
        .fields.delivery;
    for (const record of delivery) {
      assertEquals(record.fields.msg, Number(id), record.text);
      assertEquals(record.fields.channel, "local", record.text);
      assertEquals(typeof record.fields.recipient, "string", record.text);
      assertEquals(record.fields.delivery, delid(record.fields.recipient as string), record.text);
    }
    const results = delivery.filter((record) => record.event !== "starting_delivery")
      .map((record) => [record.event, record.fields.recipient, record.text]);
    assertEquals(results, [
      ["delivery_success", recipients[0], `delivery ${delid(recipients[0])}: success: did_1+0+0/`],
      ["delivery_deferral", recipients[1], `delivery ${delid(recipients[1])}: deferral: busy/`],
      ["delivery_failure", recipients[2], `delivery ${delid(recipients[2])}: failure: gone/`],
      [
        "delivery_mangled",
        recipients[3],
        `delivery ${delid(recipients[3])}: report mangled, will defer`,
      ],
    ]);
  } finally {
    engine.close();
    setLogSink((record) => console.log(record.text), "main");
    await Deno.remove(home, { recursive: true });
  }
});
