import {
  assert,
  assertEquals,
  assertRejects,
  assertStringIncludes,
} from "../../../tests/assert.ts";
import { bytesToString, stringToBytes } from "../../bytes.ts";
import { openQueueMessage, QueueError } from "../../queue/qmail_queue.ts";
import type { QueueLayout } from "../../queue/layout.ts";
import { LOCAL_CRASHED, PREPARED_PASSES } from "./delivery_passes.ts";
import { SendStartError } from "./start_error.ts";
import { pathExists } from "../../queue/test_queue.ts";
import { BIRTH, channelFilesOpen, withSend } from "./test_send_engine.ts";

const b = (text: string) => stringToBytes(text);
const read = (path: string) => bytesToString(Deno.readFileSync(path));

/** Ids of the messages whose mess file exists, other than `known`. */
function newMessages(layout: QueueLayout, known: bigint[]): bigint[] {
  return layout.listIds("mess").filter((id) => !known.includes(id));
}
Deno.test("todo is preprocessed and local recipients become deliver jobs", () =>
  withSend(async ({ layout, engine, jobs, logs, queue }) => {
    const id = await queue("joe@a.org", [
      "bob@mx.example.com",
      "far@remote.org",
      "info@nowhere.mil",
    ]);
    await engine.start();
    await engine.settle();
    assertEquals(read(layout.info(id)), "Fjoe@a.org\0");
    assertEquals(read(layout.local(id)), "Tbob@mx.example.com\0Tjoe-foo-info@nowhere.mil\0");
    assertEquals(read(layout.remote(id)), "Tfar@remote.org\0");
    assertEquals(pathExists(layout.todo(id)), false);
    const mess = `${id % 23n}/${id}`;
    assertEquals(jobs, [
      {
        channel: "local",
        job: {
          delivery: 0,
          id: String(id),
          mess,
          sender: "joe@a.org",
          recipient: "bob@mx.example.com",
        },
      },
      {
        channel: "local",
        job: {
          delivery: 1,
          id: String(id),
          mess,
          sender: "joe@a.org",
          recipient: "joe-foo-info@nowhere.mil",
        },
      },
    ]);
    const size = Deno.statSync(layout.mess(id)).size;
    assertEquals(logs, [
      "status: local 0/10 remote 0/20",
      `new msg ${id}`,
      `info msg ${id}: bytes ${size} from <joe@a.org> qp 4242 uid ${Deno.uid()}`,
      `starting delivery 1: msg ${id} to local bob@mx.example.com`,
      "status: local 1/10 remote 0/20",
      `starting delivery 2: msg ${id} to local joe-foo-info@nowhere.mil`,
      "status: local 2/10 remote 0/20",
    ]);
    // The remote recipient stays queued: this engine has remoteDelivery off.
    assertEquals(engine.queued("remote"), [{ id, due: BIRTH }]);
  }));

Deno.test("a trigger that names todo directories lists only those; a plain one lists all", () =>
  withSend(async ({ layout, engine, jobs, queue }) => {
    await engine.start();
    await engine.settle();
    const todo = layout.directory("todo");
    const first = await queue("joe@a.org", ["bob@mx.example.com"]);
    const bucket = Number(first % BigInt(layout.split));
    // Another directory named: the entry is not seen (until a full scan).
    engine.trigger([`${todo}/${(bucket + 1) % layout.split}`]);
    await engine.settle();
    assertEquals(pathExists(layout.todo(first)), true);
    assertEquals(jobs.length, 0);
    // Its own directory named: preprocessed and handed on.
    engine.trigger([`${todo}/${bucket}`]);
    await engine.settle();
    assertEquals(pathExists(layout.todo(first)), false);
    assertEquals(jobs.map(({ job }) => job.id), [String(first)]);
    // A plain trigger (qmail-queue's NUL byte) lists all of todo/.
    const second = await queue("joe@a.org", ["bob@mx.example.com"]);
    engine.trigger();
    await engine.settle();
    assertEquals(pathExists(layout.todo(second)), false);
    assertEquals(jobs.map(({ job }) => job.id), [String(first), String(second)]);
  }));

Deno.test("K marks D, D appends the bounce paragraph; a finished message bounces and leaves", () =>
  withSend(async ({ layout, engine, jobs, logs, queue }) => {
    const id = await queue("joe@a.org", ["bob@mx.example.com", "info@nowhere.mil"]);
    await engine.start();
    await engine.settle();
    const original = read(layout.mess(id));
    engine.report({ delivery: 0, status: "K", text: "did 0+0+1/\n" });
    assertEquals(read(layout.local(id)), "Dbob@mx.example.com\0Tjoe-foo-info@nowhere.mil\0");
    logs.length = 0;
    engine.report({
      delivery: 1,
      status: "D",
      text: "Sorry, no mailbox here by that name. (#5.1.1)\n",
    });
    // The bounce paragraph names the address without its virtual-domain prefix.
    assertEquals(
      read(layout.bounce(id)),
      "<info@nowhere.mil>:\nSorry, no mailbox here by that name. (#5.1.1)\n\n",
    );
    await engine.settle();
    for (const path of [layout.info(id), layout.local(id), layout.mess(id), layout.bounce(id)]) {
      assertEquals(pathExists(path), false, path);
    }
    const [bounceId] = newMessages(layout, []);
    assert(bounceId !== undefined);
    const bounce = read(layout.mess(bounceId));
    const qp = /^Received: \(qmail (\d+) invoked for bounce\); /.exec(bounce)?.[1];
    assert(qp !== undefined, bounce);
    assertEquals(
      bounce,
      `Received: (qmail ${qp} invoked for bounce); 5 Mar 2024 07:08:09 -0000
Date: 5 Mar 2024 07:08:09 -0000
From: MAILER-DAEMON@mx.example.com
To: joe@a.org
Subject: failure notice

Hi. This is the qmail-send program at mx.example.com.
I'm afraid I wasn't able to deliver your message to the following addresses.
This is a permanent error; I've given up. Sorry it didn't work out.

<info@nowhere.mil>:
Sorry, no mailbox here by that name. (#5.1.1)

--- Below this line is a copy of the message.

Return-Path: <joe@a.org>
${original}`,
    );
    // The bounce itself was preprocessed: from <> to the original sender (remote).
    assertEquals(read(layout.info(bounceId)), "F\0");
    assertEquals(read(layout.remote(bounceId)), "Tjoe@a.org\0");
    assertEquals(logs.slice(0, 4), [
      "delivery 2: failure: Sorry,_no_mailbox_here_by_that_name._(#5.1.1)/",
      "status: local 0/10 remote 0/20",
      `bounce msg ${id} qp ${qp}`,
      `end msg ${id}`,
    ]);
    assertEquals(jobs.length, 2);
  }));

Deno.test("a failed bounce becomes a double bounce to doublebounceto@doublebouncehost", () =>
  withSend(async ({ layout, engine, jobs, queue }) => {
    const id = await queue("", ["nobody@mx.example.com"]);
    await engine.start();
    await engine.settle();
    engine.report({ delivery: 0, status: "D", text: "No mailbox.\n" });
    await engine.settle();
    assertEquals(pathExists(layout.mess(id)), false);
    const [bounceId] = newMessages(layout, []);
    assertEquals(read(layout.info(bounceId)), "F#@[]\0");
    assertEquals(read(layout.local(bounceId)), "Tpostmaster@mx.example.com\0");
    const text = read(layout.mess(bounceId));
    assert(
      text.includes(
        "To: postmaster@mx.example.com\nSubject: failure notice\n\n" +
          "Hi. This is the qmail-send program at mx.example.com.\n" +
          "I tried to deliver a bounce message to this address, but the bounce bounced!\n\n" +
          "<nobody@mx.example.com>:\nNo mailbox.\n\n" +
          "--- Below this line is the original bounce.\n\nReturn-Path: <>\n",
      ),
      text,
    );
    assertEquals(jobs.at(-1)?.job.sender, "#@[]");
    assertEquals(jobs.at(-1)?.job.recipient, "postmaster@mx.example.com");
  }, { controls: { doublebouncehost: "mx.example.com" } }));

Deno.test("a failed double bounce is discarded with a triple bounce line", () =>
  withSend(async ({ layout, engine, logs, queue }) => {
    const id = await queue("#@[]", ["postmaster@mx.example.com"]);
    await engine.start();
    await engine.settle();
    engine.report({ delivery: 0, status: "D", text: "Gone.\n" });
    await engine.settle();
    assertEquals(newMessages(layout, []), []);
    assertEquals(pathExists(layout.bounce(id)), false);
    assert(logs.includes(`triple bounce: discarding bounce/${id}`));
    assert(logs.includes(`end msg ${id}`));
  }));

Deno.test("a double bounce that cannot be queued permanently is dropped and logged", () =>
  withSend(async ({ layout, engine, logs, queue }) => {
    const id = await queue("", ["nobody@mx.example.com"]);
    await engine.start();
    await engine.settle();
    engine.report({ delivery: 0, status: "D", text: "No.\n" });
    await engine.settle();
    assertEquals(pathExists(layout.mess(id)), false);
    assertEquals(pathExists(layout.bounce(id)), false);
    assert(
      logs.some((line) =>
        line.startsWith(`warning: unable to inject double bounce for msg ${id}, discarding`)
      ),
    );
    assert(logs.includes(`end msg ${id}`));
  }, {
    engine: {
      open: () => Promise.reject(new QueueError(11, "Envelope address too long")),
    },
  }));

Deno.test("a temporary bounce injection failure is retried 123 s later", () =>
  withSend(async ({ layout, clock, logs, newEngine, queue }) => {
    let fail = true;
    const id = await queue("joe@a.org", ["nobody@mx.example.com"]);
    const engine = newEngine({
      open: (...args: Parameters<typeof openQueueMessage>) =>
        fail ? Promise.reject(new QueueError(53, "disk full")) : openQueueMessage(...args),
    });
    await engine.start();
    await engine.settle();
    engine.report({ delivery: 0, status: "D", text: "No.\n" });
    await engine.settle();
    assert(logs.includes("warning: trouble injecting bounce message, will try later"));
    assert(pathExists(layout.mess(id)) && pathExists(layout.bounce(id)));
    assertEquals(engine.status().done, 1);
    fail = false;
    clock.now += 122;
    await engine.settle();
    assert(pathExists(layout.bounce(id)));
    clock.now += 1;
    await engine.settle();
    assertEquals(pathExists(layout.mess(id)), false);
    assert(logs.includes(`end msg ${id}`));
  }));

Deno.test("Z defers to the retry schedule; flush makes it due now; dying turns Z into D", () =>
  withSend(async ({ layout, clock, engine, jobs, logs, queue }) => {
    const id = await queue("joe@a.org", ["bob@mx.example.com"]);
    await engine.start();
    await engine.settle();
    engine.report({ delivery: 0, status: "Z", text: "Mailbox busy.\n" });
    assert(logs.includes("delivery 1: deferral: Mailbox_busy./"));
    assertEquals(read(layout.local(id)), "Tbob@mx.example.com\0");
    assertEquals(engine.queued("local"), [{ id, due: BIRTH + 100 }]);
    clock.now = BIRTH + 99;
    await engine.settle();
    assertEquals(jobs.length, 1);
    clock.now = BIRTH + 100;
    await engine.settle();
    assertEquals(jobs.length, 2);
    // Second pass at 100 s: isqrt(100) + 10 = 20 -> due at 400 s.
    engine.report({ delivery: 0, status: "Z", text: "Mailbox busy.\n" });
    assertEquals(engine.queued("local"), [{ id, due: BIRTH + 400 }]);
    clock.now = BIRTH + 150;
    engine.flush();
    await engine.settle();
    assertEquals(jobs.length, 3);
    // A pass after the queue lifetime: the deferral becomes a failure.
    engine.report({ delivery: 0, status: "Z", text: "x\n" });
    clock.now = BIRTH + 604801;
    engine.flush();
    await engine.settle();
    assertEquals(jobs.length, 4);
    engine.report({ delivery: 0, status: "Z", text: "Mailbox busy.\n" });
    assert(
      logs.includes(
        "delivery 4: failure: Mailbox_busy./I'm_not_going_to_try_again;" +
          "_this_message_has_been_in_the_queue_too_long./",
      ),
    );
    assert(pathExists(layout.bounce(id)));
    assertEquals(
      read(layout.bounce(id)),
      "<bob@mx.example.com>:\nMailbox busy.\n" +
        "I'm not going to try again; this message has been in the queue too long.\n\n",
    );
    await engine.settle();
    assertEquals(pathExists(layout.mess(id)), false);
  }));

Deno.test("VERP senders are expanded per recipient and stripped for the bounce", () =>
  withSend(async ({ layout, engine, jobs, queue }) => {
    const id = await queue("list-@lists.org-@[]", ["bob@mx.example.com"]);
    await engine.start();
    await engine.settle();
    assertEquals(jobs[0].job.sender, "list-bob=mx.example.com@lists.org");
    engine.report({ delivery: 0, status: "D", text: "No.\n" });
    await engine.settle();
    const [bounceId] = newMessages(layout, [id]);
    assertEquals(read(layout.remote(bounceId)), "Tlist-@lists.org\0");
  }));

Deno.test("bouncemaxbytes limits the copy of the original message", () =>
  withSend(async ({ layout, engine, queue }) => {
    const id = await queue("joe@a.org", ["bob@mx.example.com"], "x".repeat(500));
    await engine.start();
    await engine.settle();
    const original = read(layout.mess(id));
    engine.report({ delivery: 0, status: "D", text: "No.\n" });
    await engine.settle();
    const [bounceId] = newMessages(layout, []);
    assert(
      read(layout.mess(bounceId)).endsWith(
        `Return-Path: <joe@a.org>\n${original.slice(0, 100)}\n\n--- End of message stripped.\n`,
      ),
    );
  }, { controls: { bouncemaxbytes: "100" } }));

Deno.test("a restarted local role turns outstanding deliveries into deferrals", () =>
  withSend(async ({ engine, logs, queue }) => {
    const id = await queue("joe@a.org", ["a@mx.example.com", "b@mx.example.com"]);
    await engine.start();
    await engine.settle();
    engine.peerRestarted("local");
    assertEquals(LOCAL_CRASHED, "qmail-local crashed.\n");
    assert(logs.includes("delivery 1: deferral: qmail-local_crashed./"));
    assert(logs.includes("delivery 2: deferral: qmail-local_crashed./"));
    assertEquals(engine.status().local.inUse, 0);
    assertEquals(engine.queued("local"), [{ id, due: BIRTH + 100 }]);
    // A late report for a lost delivery is ignored with a warning.
    engine.report({ delivery: 0, status: "K", text: "" });
    assert(logs.includes("warning: internal error: delivery report out of range"));
  }));

Deno.test("concurrencylocal limits deliveries in flight; reload re-reads it and locals", () =>
  withSend(async ({ home, engine, jobs, logs, queue }) => {
    await queue("joe@a.org", ["a@mx.example.com", "b@mx.example.com", "c@mx.example.com"]);
    await engine.start();
    await engine.settle();
    assertEquals(jobs.length, 1);
    Deno.writeTextFileSync(`${home}/control/concurrencylocal`, "5\n");
    Deno.writeTextFileSync(`${home}/control/locals`, "mx.example.com\nnew.example.com\n");
    engine.reload();
    await engine.settle();
    assertEquals(jobs.map(({ job }) => job.delivery), [0, 1, 2]);
    assert(logs.includes("status: local 3/5 remote 0/20"));
    const id = await queue("joe@a.org", ["x@new.example.com"]);
    engine.trigger();
    await engine.settle();
    assertEquals(jobs.at(-1)?.job.recipient, "x@new.example.com");
    assertEquals(jobs.at(-1)?.job.id, String(id));
  }, { controls: { concurrencylocal: "1" } }));

Deno.test("first passes start from what preprocessing wrote, as many as are kept; the rest read the files", () =>
  withSend(async ({ layout, engine, jobs, queue }) => {
    const count = PREPARED_PASSES + 12;
    const recipients = new Map<string, string>();
    for (let i = 0; i < count; i++) {
      const recipient = `r${i}@mx.example.com`;
      recipients.set(
        String(await queue(`s${i}@a.org`, [recipient, `q${i}@mx.example.com`])),
        recipient,
      );
    }
    await engine.start();
    await engine.settle();
    // One delivery in flight (concurrencylocal 1), its pass's file open; the waiting messages'
    // first passes are kept, each with its channel file open, up to the bound.
    assertEquals(jobs.length, 1);
    const local = layout.directory("local");
    assertEquals(channelFilesOpen(local), PREPARED_PASSES + 1);
    for (let done = 0; done < 2 * count; done++) {
      engine.report({ delivery: 0, status: "K", text: "did 0+0+1/\n" });
      await engine.settle();
    }
    // Every recipient once, with its own message's sender; every channel file closed and gone.
    assertEquals(jobs.length, 2 * count);
    const seen = new Set(jobs.map(({ job }) => `${job.id} ${job.sender} ${job.recipient}`));
    assertEquals(seen.size, 2 * count);
    for (const { job } of jobs) {
      const i = /^[rq](\d+)@/.exec(job.recipient)![1];
      assertEquals(job.sender, `s${i}@a.org`);
      if (job.recipient.startsWith("r")) assertEquals(recipients.get(job.id), job.recipient);
    }
    assertEquals(channelFilesOpen(local), 0);
    assertEquals(layout.listIds("local"), []);
  }, { controls: { concurrencylocal: "1" } }));

Deno.test("a crash leaves todo with stale info/local: start rebuilds them", () =>
  withSend(async ({ layout, engine, jobs, queue }) => {
    const id = await queue("joe@a.org", ["bob@mx.example.com"]);
    Deno.writeFileSync(layout.info(id), b("Fstale@x\0"));
    Deno.writeFileSync(layout.local(id), b("Dbob@mx.example.com\0Tstale@x\0"));
    Deno.writeFileSync(layout.remote(id), b("Tstale@x\0"));
    await engine.start();
    await engine.settle();
    assertEquals(read(layout.info(id)), "Fjoe@a.org\0");
    assertEquals(read(layout.local(id)), "Tbob@mx.example.com\0");
    assertEquals(pathExists(layout.remote(id)), false);
    assertEquals(jobs.map(({ job }) => job.recipient), ["bob@mx.example.com"]);
  }, { todoSplit: false }));

Deno.test("drain writes due times into mtimes; a restart schedules from them", () =>
  withSend(async ({ layout, clock, engine, jobs, logs, newEngine, queue }) => {
    const id = await queue("joe@a.org", ["bob@mx.example.com", "far@remote.org"]);
    await engine.start();
    await engine.settle();
    const drained = engine.drain();
    let done = false;
    drained.then(() => (done = true));
    await Promise.resolve();
    assertEquals(done, false, "drain waits for the delivery in flight");
    assert(logs.includes("status: local 1/10 remote 0/20 exitasap"));
    engine.report({ delivery: 0, status: "Z", text: "busy\n" });
    await drained;
    assertEquals(logs.at(-1), "status: exiting");
    const local = Deno.statSync(layout.local(id));
    assertEquals(local.mtime!.getTime(), (BIRTH + 100) * 1000);
    assertEquals(local.atime!.getTime(), (BIRTH + 100) * 1000);
    assertEquals(Deno.statSync(layout.remote(id)).mtime!.getTime(), BIRTH * 1000);

    clock.now = BIRTH + 50;
    const restarted = newEngine();
    await restarted.start();
    await restarted.settle();
    assertEquals(restarted.queued("local"), [{ id, due: BIRTH + 100 }]);
    assertEquals(restarted.queued("remote"), [{ id, due: BIRTH }]);
    assertEquals(jobs.length, 1);
    clock.now = BIRTH + 100;
    await restarted.settle();
    assertEquals(jobs.length, 2);
  }));

Deno.test("info without channel files is finished at start", () =>
  withSend(async ({ layout, engine, logs, newEngine, queue }) => {
    const id = await queue("joe@a.org", ["bob@mx.example.com"]);
    // A crash after the delivery's channel file was removed but before messdone.
    const first = newEngine();
    await first.start();
    await first.settle();
    first.close();
    Deno.removeSync(layout.local(id));
    await engine.start();
    await engine.settle();
    assertEquals(pathExists(layout.mess(id)), false);
    assertEquals(pathExists(layout.info(id)), false);
    assert(logs.includes(`end msg ${id}`));
  }));

Deno.test("a second engine on the same queue refuses to start", () =>
  withSend(async ({ engine, newEngine }) => {
    await engine.start();
    const error = await assertRejects(() => newEngine().start(), SendStartError);
    assertEquals(error.message, "cannot start: qmail-send is already running");
  }));

Deno.test("a bad control file stops the start naming the file", () =>
  withSend(async ({ home, engine }) => {
    const error = await assertRejects(() => engine.start(), SendStartError);
    assertStringIncludes(error.message, `${home}/control/queuelifetime line 1`);
  }, { controls: { queuelifetime: "soon" } }));

Deno.test("remote jobs are posted on the remote channel when remote delivery is on", () =>
  withSend(async ({ engine, jobs, queue }) => {
    await queue("joe@a.org", ["far@remote.org"]);
    await engine.start();
    await engine.settle();
    assertEquals(jobs.map(({ channel, job }) => [channel, job.recipient]), [
      ["remote", "far@remote.org"],
    ]);
    engine.report({ delivery: 0, status: "K", text: "ok\n" }, "remote");
    await engine.settle();
    assertEquals(engine.status().remote.inUse, 0);
  }, { engine: { remoteDelivery: true } }));

Deno.test("with remote delivery off, no remote channel file is kept open for a pass that never comes", () =>
  withSend(async ({ layout, engine, queue }) => {
    await queue("joe@a.org", ["far@remote.org", "bob@mx.example.com"]);
    await engine.start();
    await engine.settle();
    assertEquals(channelFilesOpen(layout.directory("remote")), 0);
    assertEquals(layout.listIds("remote").length, 1, "queued all the same");
  }));
