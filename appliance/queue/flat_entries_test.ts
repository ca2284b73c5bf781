/**
 * Flat todo/ID and intd/ID, as a vanilla qmail-queue writes them, in a queue
 * whose todo/ and intd/ are split (as `qmd init` makes them), and both forms
 * side by side: every reader and every cleanup must treat them alike.
 */
import { assert, assertEquals } from "../../tests/assert.ts";
import type { DeliveryJob } from "../ipc.ts";
import { type LogRecord, setLogSink } from "../log.ts";
import { bounceAndFinish } from "./bounce_and_finish.ts";
import { recoverQueue } from "./cleanup.ts";
import { bytesToString, stringToBytes } from "../bytes.ts";
import { injectMessage } from "./qmail_queue.ts";
import { OSSIFIED_SECONDS, QueueLayout } from "./layout.ts";
import { SendEngine } from "../send/engine/send_engine.ts";
import { countQueue } from "./status.ts";
import { makeTestQueue, pathExists, writeVanillaMessage } from "./test_queue.ts";

const NOW = 1_709_622_489; // 5 Mar 2024 07:08:09 UTC
const RECEIVED = "Received: (qmail 4711 invoked by uid 1000); 5 Mar 2024 07:08:09 -0000\n";
const read = (path: string) => bytesToString(Deno.readFileSync(path));

async function withHome(run: (home: string) => Promise<void>): Promise<void> {
  const home = await Deno.makeTempDir({ prefix: "qmd-flat-" });
  try {
    Deno.mkdirSync(`${home}/control`);
    Deno.writeTextFileSync(`${home}/control/me`, "mx.example.com\n");
    Deno.writeTextFileSync(`${home}/control/locals`, "mx.example.com\n");
    await run(home);
  } finally {
    setLogSink((record) => console.log(record.text), "main");
    await Deno.remove(home, { recursive: true });
  }
}

function vanilla(layout: QueueLayout, recipients: string[]): bigint {
  return writeVanillaMessage(layout, {
    received: RECEIVED,
    body: "Subject: flat\n\nbody\n",
    uid: 1000,
    pid: 4711,
    sender: "joe@a.org",
    recipients,
  });
}

Deno.test("the vanilla writer's files are qmail-queue's, byte for byte and mode for mode", () =>
  withHome((home) => {
    const layout = makeTestQueue(home, { todoSplit: true });
    const id = vanilla(layout, ["bob@mx.example.com", "far@remote.org"]);
    const root = layout.root;
    assertEquals(
      read(`${root}/mess/${id % 23n}/${id}`),
      `${RECEIVED}Subject: flat\n\nbody\n`,
    );
    assertEquals(
      read(`${root}/todo/${id}`),
      "u1000\0p4711\0Fjoe@a.org\0Tbob@mx.example.com\0Tfar@remote.org\0",
    );
    for (const path of [`mess/${id % 23n}/${id}`, `intd/${id}`, `todo/${id}`]) {
      assertEquals(Deno.statSync(`${root}/${path}`).mode! & 0o777, 0o644, path);
    }
    assertEquals(Deno.statSync(`${root}/todo/${id}`).nlink, 2, "todo/ID is intd/ID's hard link");
    assertEquals([...Deno.readDirSync(`${root}/pid`)], []);
    return Promise.resolve();
  }));

Deno.test("a split queue delivers flat todo entries like split ones and removes both forms", () =>
  withHome(async (home) => {
    const layout = makeTestQueue(home, { todoSplit: true });
    const flat = vanilla(layout, ["bob@mx.example.com", "far@remote.org"]);
    const { id: split } = await injectMessage(
      layout,
      stringToBytes("Subject: split\n\nbody\n"),
      stringToBytes("ann@a.org"),
      [stringToBytes("bob@mx.example.com")],
      { pid: 4242, who: "by uid 1000", now: new Date(NOW * 1000) },
    );
    assert(pathExists(`${layout.root}/todo/${split % 23n}/${split}`), "qmd writes the split form");
    const logs: string[] = [];
    setLogSink((record: LogRecord) => logs.push(record.text), "send");
    const jobs: DeliveryJob[] = [];
    const engine = new SendEngine({
      home,
      layout,
      now: () => NOW,
      deliver: (job) => jobs.push(job),
      timers: false,
      watchTrigger: false,
    });
    try {
      await engine.start();
      await engine.settle();
    } finally {
      engine.close();
    }
    assertEquals(read(layout.info(flat)), "Fjoe@a.org\0");
    assertEquals(read(layout.local(flat)), "Tbob@mx.example.com\0");
    assertEquals(read(layout.remote(flat)), "Tfar@remote.org\0");
    for (const id of [flat, split]) {
      for (const path of [...layout.todoForms(id), ...layout.intdForms(id)]) {
        assertEquals(pathExists(path), false, path);
      }
    }
    const size = Deno.statSync(layout.mess(flat)).size;
    assert(logs.includes(`new msg ${flat}`), logs.join("\n"));
    assert(
      logs.includes(`info msg ${flat}: bytes ${size} from <joe@a.org> qp 4711 uid 1000`),
      logs.join("\n"),
    );
    assertEquals(
      jobs.map((job) => [job.id, job.mess, job.sender, job.recipient]).sort(),
      [
        [String(flat), `${flat % 23n}/${flat}`, "joe@a.org", "bob@mx.example.com"],
        [String(split), `${split % 23n}/${split}`, "ann@a.org", "bob@mx.example.com"],
      ].sort(),
    );
  }));

Deno.test("start-up leaves info with a flat todo to the todo scan (§4.9)", () =>
  withHome(async (home) => {
    const layout = makeTestQueue(home, { todoSplit: true });
    const id = vanilla(layout, ["bob@mx.example.com"]);
    // A crash during preprocessing: info and a stale channel file, todo still there.
    Deno.writeFileSync(layout.info(id), stringToBytes("Fstale@a.org\0"));
    Deno.writeFileSync(layout.remote(id), stringToBytes("Tstale@remote.org\0"));
    const jobs: DeliveryJob[] = [];
    setLogSink(() => {}, "send");
    const engine = new SendEngine({
      home,
      layout,
      now: () => NOW,
      deliver: (job) => jobs.push(job),
      timers: false,
      watchTrigger: false,
      remoteDelivery: true,
    });
    try {
      await engine.start();
      await engine.settle();
    } finally {
      engine.close();
    }
    assertEquals(read(layout.info(id)), "Fjoe@a.org\0");
    assertEquals(pathExists(layout.remote(id)), false);
    assertEquals(jobs.map((job) => job.recipient), ["bob@mx.example.com"]);
  }));

Deno.test("a message with a flat todo entry is not finished, nor its body removed", () =>
  withHome(async (home) => {
    const layout = makeTestQueue(home, { todoSplit: true });
    const id = vanilla(layout, ["bob@mx.example.com"]);
    Deno.writeFileSync(layout.info(id), stringToBytes("Fjoe@a.org\0"));
    setLogSink(() => {}, "send");
    const outcome = await bounceAndFinish(layout, id, {
      settings: {
        bounceFrom: "MAILER-DAEMON",
        bounceHost: "mx.example.com",
        doubleBounceRecipient: "postmaster@mx.example.com",
        maxBytes: 0,
      },
      date: new Date(NOW * 1000),
    });
    assertEquals(outcome, { bounced: false, retry: false });
    for (const path of [layout.info(id), layout.mess(id), `${layout.root}/todo/${id}`]) {
      assert(pathExists(path), path);
    }
  }));

Deno.test("the 36-hour cleanup keeps every body that a todo, info, local or remote entry names", () =>
  withHome(async (home) => {
    const layout = makeTestQueue(home, { todoSplit: true });
    const old = NOW - OSSIFIED_SECONDS - 1;
    const age = (id: bigint) => Deno.utimeSync(layout.mess(id), old, old);
    setLogSink(() => {}, "send");
    // A flat todo in a split queue: queued, never preprocessed.
    const queued = vanilla(layout, ["bob@mx.example.com"]);
    age(queued);
    // Only a channel file left (info lost): still refers to the body.
    const channelOnly = vanilla(layout, ["bob@mx.example.com"]);
    Deno.removeSync(`${layout.root}/todo/${channelOnly}`);
    Deno.removeSync(`${layout.root}/intd/${channelOnly}`);
    Deno.writeFileSync(layout.local(channelOnly), stringToBytes("Tbob@mx.example.com\0"));
    age(channelOnly);
    // S3 of a dead vanilla qmail-queue: flat intd, no todo. Removed, intd first.
    const dead = vanilla(layout, ["bob@mx.example.com"]);
    Deno.removeSync(`${layout.root}/todo/${dead}`);
    age(dead);

    const report = await recoverQueue(layout, new Date(NOW * 1000));
    assertEquals(report.messages, [dead]);
    assertEquals(pathExists(layout.mess(dead)), false);
    assertEquals(pathExists(`${layout.root}/intd/${dead}`), false);
    for (const id of [queued, channelOnly]) assert(pathExists(layout.mess(id)), `mess ${id} kept`);
    assert(pathExists(`${layout.root}/todo/${queued}`));
    // The split subdirectories are never taken for entries, nor removed.
    for (let bucket = 0; bucket < 23; bucket++) {
      assert(Deno.statSync(`${layout.root}/todo/${bucket}`).isDirectory);
      assert(Deno.statSync(`${layout.root}/intd/${bucket}`).isDirectory);
    }
  }));

Deno.test("qstat counts flat and split todo entries in one queue", () =>
  withHome(async (home) => {
    const layout = makeTestQueue(home, { todoSplit: true });
    vanilla(layout, ["bob@mx.example.com"]);
    vanilla(layout, ["bob@mx.example.com"]);
    await injectMessage(layout, stringToBytes("x\n"), stringToBytes(""), [stringToBytes("r")], {
      who: "by uid 0",
    });
    assertEquals(countQueue(layout), { messages: 3, unprocessed: 3 });
  }));

Deno.test("todo/ and intd/ layouts are detected apart; the writer uses each one's own form", () =>
  withHome(async (home) => {
    makeTestQueue(home, { todoSplit: true });
    // An intd/ left flat beside a split todo/.
    Deno.removeSync(`${home}/queue/intd`, { recursive: true });
    Deno.mkdirSync(`${home}/queue/intd`, { mode: 0o700 });
    const layout = new QueueLayout(`${home}/queue`);
    assertEquals([layout.todoSplit, layout.intdSplit], [true, false]);
    const { id } = await injectMessage(
      layout,
      stringToBytes("x\n"),
      stringToBytes("a@b"),
      [stringToBytes("bob@mx.example.com")],
      { who: "by uid 0" },
    );
    assert(Deno.statSync(`${home}/queue/intd/${id}`).isFile);
    assert(Deno.statSync(`${home}/queue/todo/${id % 23n}/${id}`).isFile);
    assertEquals(layout.listIds("todo"), [id]);
    assertEquals(layout.listIds("intd"), [id]);
  }));
