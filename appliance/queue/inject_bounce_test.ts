import { assert, assertEquals } from "../../tests/assert.ts";
import { bytesToString, stringToBytes } from "../bytes.ts";
import { QueueError } from "./qmail_queue.ts";
import { BounceError, type BounceSettings, injectBounce } from "./inject_bounce.ts";
import { preprocessMessage } from "./preprocess.ts";
import {
  injectTestMessage,
  pathExists,
  TEST_DATE,
  TEST_NOW,
  testRoutingTable,
  withTestQueue,
} from "./test_queue.ts";
import { appendBounce } from "./transitions.ts";

const b = (text: string) => stringToBytes(text);
const read = (path: string) => bytesToString(Deno.readFileSync(path));

const settings: BounceSettings = {
  bounceFrom: "MAILER-DAEMON",
  bounceHost: "mx.example.com",
  doubleBounceRecipient: "postmaster@mx.example.com",
  maxBytes: 0,
};

Deno.test("injectBounce queues the QSBMF bounce and removes bounce/ID", () =>
  withTestQueue(async (layout) => {
    const { id } = await injectTestMessage(layout, "list-@a.org-@[]", ["nobody@mx.example.com"]);
    preprocessMessage(layout, id, testRoutingTable, TEST_NOW);
    Deno.removeSync(layout.local(id));
    appendBounce(layout, id, b("<nobody@mx.example.com>:\nSorry.\n\n"));
    const original = read(layout.mess(id));
    const result = await injectBounce(layout, id, { settings, date: TEST_DATE });
    assert(result.kind === "injected");
    assertEquals(result.bounce, "single");
    assertEquals(pathExists(layout.bounce(id)), false);
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
  withTestQueue(async (layout) => {
    const plain = await injectTestMessage(
      layout,
      "a@b.org",
      ["x@mx.example.com"],
      "0123456789abcdef",
    );
    preprocessMessage(layout, plain.id, testRoutingTable, TEST_NOW);
    assertEquals(await injectBounce(layout, plain.id, { settings, date: TEST_DATE }), {
      kind: "none",
    });

    appendBounce(layout, plain.id, b("<x@mx.example.com>:\nno\n\n"));
    const failing = () => Promise.reject(new QueueError(53, "disk full"));
    const error = await injectBounce(layout, plain.id, { settings, date: TEST_DATE, open: failing })
      .then(() => undefined, (error) => error);
    assert(error instanceof BounceError);
    assertEquals([error.temporary, error.bounce], [true, "single"]);
    assert(pathExists(layout.bounce(plain.id)), "bounce/ID stays for the next try");

    const cut = await injectBounce(layout, plain.id, {
      settings: { ...settings, maxBytes: 80 },
      date: TEST_DATE,
    });
    assert(cut.kind === "injected");
    const text = read(layout.mess(cut.newId));
    const original = read(layout.mess(plain.id));
    assert(
      text.endsWith(
        `Return-Path: <a@b.org>\n${original.slice(0, 80)}\n\n--- End of message stripped.\n`,
      ),
    );

    const triple = await injectTestMessage(layout, "#@[]", ["x@mx.example.com"]);
    preprocessMessage(layout, triple.id, testRoutingTable, TEST_NOW);
    appendBounce(layout, triple.id, b("<x@mx.example.com>:\nno\n\n"));
    assertEquals(await injectBounce(layout, triple.id, { settings, date: TEST_DATE }), {
      kind: "triple",
    });
    assertEquals(pathExists(layout.bounce(triple.id)), false);

    const double = await injectTestMessage(layout, "", ["x@mx.example.com"]);
    preprocessMessage(layout, double.id, testRoutingTable, TEST_NOW);
    appendBounce(layout, double.id, b("<x@mx.example.com>:\nno\n\n"));
    const permanent = () => Promise.reject(new QueueError(11, "address too long"));
    const doubleError = await injectBounce(layout, double.id, {
      settings,
      date: TEST_DATE,
      open: permanent,
    }).then(() => undefined, (error) => error);
    assert(doubleError instanceof BounceError);
    assertEquals([doubleError.temporary, doubleError.bounce], [false, "double"]);
  }));
