import { assert, assertEquals } from "../../tests/assert.ts";
import { buildRoutingTable } from "../send/routing.ts";
import { bytesToString, stringToBytes } from "./envelope.ts";
import { injectMessage, QueueError } from "./inject.ts";
import type { QueueLayout } from "./layout.ts";
import { makeTestQueue } from "./test_queue.ts";
import {
  appendBounce,
  BounceError,
  type BounceSettings,
  checkMessageDone,
  finishMessage,
  injectBounce,
  markDone,
  preprocessMessage,
  readChannelFile,
  readMessageInfo,
  removeMessage,
  setChannelRetryTime,
} from "./transitions.ts";

const b = (text: string) => stringToBytes(text);
const read = (path: string) => bytesToString(Deno.readFileSync(path));
const NOW = 1_709_622_489; // 5 Mar 2024 07:08:09 UTC
const DATE = new Date(NOW * 1000);

const table = buildRoutingTable({
  envnoathost: "mx.example.com",
  locals: ["mx.example.com"],
  percenthack: [],
  virtualdomains: ["nowhere.mil:joe-foo"],
});

const settings: BounceSettings = {
  bounceFrom: "MAILER-DAEMON",
  bounceHost: "mx.example.com",
  doubleBounceRecipient: "postmaster@mx.example.com",
  maxBytes: 0,
};

async function withQueue(
  run: (layout: QueueLayout) => Promise<void> | void,
  options: { todoSplit?: boolean } = {},
): Promise<void> {
  const home = await Deno.makeTempDir({ prefix: "qmd-transitions-" });
  try {
    await run(makeTestQueue(home, options));
  } finally {
    await Deno.remove(home, { recursive: true });
  }
}

function queue(
  layout: QueueLayout,
  sender: string,
  recipients: string[],
  body = "Subject: t\n\nx\n",
) {
  return injectMessage(layout, b(body), b(sender), recipients.map(b), {
    pid: 4242,
    who: "by uid 1000",
    now: DATE,
  });
}

function exists(path: string): boolean {
  try {
    Deno.statSync(path);
    return true;
  } catch {
    return false;
  }
}

for (const todoSplit of [true, false]) {
  Deno.test(`preprocessMessage writes info, local and remote and removes todo (todoSplit ${todoSplit})`, () =>
    withQueue(async (layout) => {
      const { id } = await queue(layout, "joe@a.org", [
        "bob@MX.example.com",
        "far@remote.org",
        "info@nowhere.mil",
        "noat",
      ]);
      const result = preprocessMessage(layout, id, table, NOW);
      assert(result.ok);
      assertEquals([result.local, result.remote], [true, true]);
      assertEquals(result.bytes, Deno.statSync(layout.mess(id)).size);
      assertEquals(result.qp, "4242");
      assertEquals(bytesToString(result.sender!), "joe@a.org");
      assertEquals(read(layout.info(id)), "Fjoe@a.org\0");
      assertEquals(
        read(layout.local(id)),
        "Tbob@MX.example.com\0Tjoe-foo-info@nowhere.mil\0Tnoat@mx.example.com\0",
      );
      assertEquals(read(layout.remote(id)), "Tfar@remote.org\0");
      assertEquals(exists(layout.todo(id)), false);
      assertEquals(exists(layout.intd(id)), false);
      assert(exists(layout.mess(id)));
      for (const path of [layout.info(id), layout.local(id), layout.remote(id)]) {
        const stat = Deno.statSync(path);
        assertEquals(stat.mode! & 0o777, 0o600);
        assertEquals(stat.mtime!.getTime(), NOW * 1000);
      }
      assertEquals(readMessageInfo(layout, id), { sender: b("joe@a.org"), birth: NOW });
    }, { todoSplit }));
}

Deno.test("preprocessMessage is idempotent over stale info/local/remote after a crash", () =>
  withQueue(async (layout) => {
    const { id } = await queue(layout, "", ["bob@mx.example.com"]);
    Deno.writeFileSync(layout.info(id), b("Fstale\0"));
    Deno.writeFileSync(layout.local(id), b("Dold@mx.example.com\0Tpartial"));
    Deno.writeFileSync(layout.remote(id), b("Twrong@remote.org\0"));
    const result = preprocessMessage(layout, id, table, NOW);
    assert(result.ok);
    assertEquals([result.local, result.remote], [true, false]);
    assertEquals(read(layout.info(id)), "F\0");
    assertEquals(read(layout.local(id)), "Tbob@mx.example.com\0");
    assertEquals(exists(layout.remote(id)), false);
  }));

Deno.test("preprocessMessage with no recipients writes info only", () =>
  withQueue(async (layout) => {
    const { id } = await queue(layout, "a@b", []);
    const result = preprocessMessage(layout, id, table, NOW);
    assert(result.ok);
    assertEquals([result.local, result.remote], [false, false]);
    assertEquals(read(layout.info(id)), "Fa@b\0");
    assertEquals(checkMessageDone(layout, id), "done");
  }));

Deno.test("preprocessMessage leaves the todo file on an unknown record or a missing mess", () =>
  withQueue(async (layout) => {
    const { id } = await queue(layout, "a@b", ["x@mx.example.com"]);
    Deno.writeFileSync(layout.todo(id), b("u1\0p2\0Fa@b\0Xjunk\0"));
    const unknown = preprocessMessage(layout, id, table, NOW);
    assert(!unknown.ok);
    assertEquals(
      unknown.warning,
      `unknown record type in ${layout.todo(id).slice(layout.root.length + 1)}`,
    );
    assertEquals(unknown.infoCreated, true);
    assert(exists(layout.todo(id)));

    Deno.removeSync(layout.mess(id));
    const missing = preprocessMessage(layout, id, table, NOW);
    assert(!missing.ok);
    assertEquals(missing.warning, `unable to stat mess/${id % 23n}/${id}`);
    assert(exists(layout.todo(id)));
  }));

Deno.test("markDone writes one D at the record's offset", () =>
  withQueue(async (layout) => {
    const { id } = await queue(layout, "a@b", ["x@mx.example.com", "y@mx.example.com"]);
    preprocessMessage(layout, id, table, NOW);
    const pass = readChannelFile(layout, "local", id);
    assertEquals(pass.records.map((record) => record.offset), [0, 18]);
    assertEquals(pass.corrupt, false);
    assert(markDone(layout.local(id), pass.records[1].offset));
    assertEquals(read(layout.local(id)), "Tx@mx.example.com\0Dy@mx.example.com\0");
    assertEquals(markDone(`${layout.root}/local/0/999999`, 0), false);
  }));

Deno.test("readChannelFile tells a trailing fragment from an unknown record", () =>
  withQueue((layout) => {
    const id = 5n;
    Deno.writeFileSync(layout.local(id), b("Ta@b\0Tpart"));
    assertEquals(readChannelFile(layout, "local", id).corrupt, false);
    Deno.writeFileSync(layout.local(id), b("Ta@b\0Xbad\0Tc@d\0"));
    const corrupt = readChannelFile(layout, "local", id);
    assertEquals(corrupt.corrupt, true);
    assertEquals(corrupt.records.length, 1);
  }));

Deno.test("appendBounce appends paragraphs to a 0600 bounce file", () =>
  withQueue((layout) => {
    appendBounce(layout, 7n, b("<a@b>:\none\n\n"));
    appendBounce(layout, 7n, b("<c@d>:\ntwo\n\n"));
    assertEquals(read(layout.bounce(7n)), "<a@b>:\none\n\n<c@d>:\ntwo\n\n");
    assertEquals(Deno.statSync(layout.bounce(7n)).mode! & 0o777, 0o600);
  }));

Deno.test("setChannelRetryTime sets mtime and atime", () =>
  withQueue((layout) => {
    const path = layout.local(3n);
    Deno.writeFileSync(path, b("Ta@b\0"));
    assert(setChannelRetryTime(path, NOW + 400));
    const stat = Deno.statSync(path);
    assertEquals(stat.mtime!.getTime(), (NOW + 400) * 1000);
    assertEquals(stat.atime!.getTime(), (NOW + 400) * 1000);
    assertEquals(setChannelRetryTime(layout.local(4n), NOW), false);
  }));

Deno.test("finishMessage removes info, intd and mess; removeMessage is qmail-clean's foop", () =>
  withQueue(async (layout) => {
    const { id } = await queue(layout, "a@b", []);
    assertEquals(checkMessageDone(layout, id), "not-done");
    preprocessMessage(layout, id, table, NOW);
    finishMessage(layout, id);
    for (const path of [layout.info(id), layout.intd(id), layout.mess(id), layout.todo(id)]) {
      assertEquals(exists(path), false, path);
    }
    assertEquals(checkMessageDone(layout, id), "gone");
    const second = await queue(layout, "a@b", ["x@y"]);
    Deno.removeSync(layout.todo(second.id));
    removeMessage(layout, second.id);
    assertEquals(exists(layout.intd(second.id)), false);
    assertEquals(exists(layout.mess(second.id)), false);
  }));

Deno.test("injectBounce queues the QSBMF bounce and removes bounce/ID", () =>
  withQueue(async (layout) => {
    const { id } = await queue(layout, "list-@a.org-@[]", ["nobody@mx.example.com"]);
    preprocessMessage(layout, id, table, NOW);
    Deno.removeSync(layout.local(id));
    appendBounce(layout, id, b("<nobody@mx.example.com>:\nSorry.\n\n"));
    const original = read(layout.mess(id));
    const result = await injectBounce(layout, id, { settings, date: DATE });
    assert(result.kind === "injected");
    assertEquals(result.bounce, "single");
    assertEquals(exists(layout.bounce(id)), false);
    assertEquals(
      read(layout.mess(result.newId)),
      `Received: (qmail ${result.qp} invoked for bounce); 5 Mar 2024 07:08:09 -0000
Date: 5 Mar 2024 07:08:09 -0000
From: MAILER-DAEMON@mx.example.com
To: list-@a.org
Subject: failure notice

Hi. This is the qmail-send program at mx.example.com.
I'm afraid I wasn't able to deliver your message to the following addresses.
This is a permanent error; I've given up. Sorry it didn't work out.

<nobody@mx.example.com>:
Sorry.

--- Below this line is a copy of the message.

Return-Path: <list-@a.org>
${original}`,
    );
    assertEquals(
      read(layout.todo(result.newId)).replace(/^u\d+\0p\d+\0/, ""),
      "F\0Tlist-@a.org\0",
    );
  }));

Deno.test("injectBounce: no bounce file, triple bounce, bouncemaxbytes, failures", () =>
  withQueue(async (layout) => {
    const plain = await queue(layout, "a@b.org", ["x@mx.example.com"], "0123456789abcdef");
    preprocessMessage(layout, plain.id, table, NOW);
    assertEquals(await injectBounce(layout, plain.id, { settings, date: DATE }), { kind: "none" });

    appendBounce(layout, plain.id, b("<x@mx.example.com>:\nno\n\n"));
    const failing = () => Promise.reject(new QueueError(53, "disk full"));
    const error = await injectBounce(layout, plain.id, { settings, date: DATE, open: failing })
      .then(() => undefined, (error) => error);
    assert(error instanceof BounceError);
    assertEquals([error.temporary, error.bounce], [true, "single"]);
    assert(exists(layout.bounce(plain.id)), "bounce/ID stays for the next try");

    const cut = await injectBounce(layout, plain.id, {
      settings: { ...settings, maxBytes: 80 },
      date: DATE,
    });
    assert(cut.kind === "injected");
    const text = read(layout.mess(cut.newId));
    const original = read(layout.mess(plain.id));
    assert(
      text.endsWith(
        `Return-Path: <a@b.org>\n${original.slice(0, 80)}\n\n--- End of message stripped.\n`,
      ),
    );

    const triple = await queue(layout, "#@[]", ["x@mx.example.com"]);
    preprocessMessage(layout, triple.id, table, NOW);
    appendBounce(layout, triple.id, b("<x@mx.example.com>:\nno\n\n"));
    assertEquals(await injectBounce(layout, triple.id, { settings, date: DATE }), {
      kind: "triple",
    });
    assertEquals(exists(layout.bounce(triple.id)), false);

    const double = await queue(layout, "", ["x@mx.example.com"]);
    preprocessMessage(layout, double.id, table, NOW);
    appendBounce(layout, double.id, b("<x@mx.example.com>:\nno\n\n"));
    const permanent = () => Promise.reject(new QueueError(11, "address too long"));
    const doubleError = await injectBounce(layout, double.id, {
      settings,
      date: DATE,
      open: permanent,
    }).then(() => undefined, (error) => error);
    assert(doubleError instanceof BounceError);
    assertEquals([doubleError.temporary, doubleError.bounce], [false, "double"]);
  }));
