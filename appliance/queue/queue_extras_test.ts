import { assertEquals } from "../../tests/assert.ts";
import { bytesToString, stringToBytes } from "../bytes.ts";
import type { QueueExtras } from "../../config/queue_extras.ts";
import { parseTodo } from "./envelope.ts";
import { injectMessage } from "./qmail_queue.ts";
import { originHeader, withExtraRecipients } from "./queue_extras.ts";
import { withTestQueue } from "./test_queue.ts";

const b = (text: string) => stringToBytes(text);
const text = (list: Uint8Array[]) => list.map(bytesToString);

const EXTRAS: QueueExtras = {
  bigBrother: [
    { watched: "badguy@example.net", copy: "bigbrother@example.net", line: 1 },
    { watched: "other@example.net", copy: "second@example.net", line: 2 },
  ],
  extraQueue: ["archive@example.org"],
};

Deno.test("queue extras: bigbrother copies mail from or to the watched address, any case", () => {
  assertEquals(
    text(withExtraRecipients({ ...EXTRAS, extraQueue: [] }, b("BadGuy@Example.NET"), [b("u@x")])),
    ["u@x", "bigbrother@example.net"],
  );
  assertEquals(
    text(withExtraRecipients({ ...EXTRAS, extraQueue: [] }, b("a@x"), [b("badguy@example.net")])),
    ["badguy@example.net", "bigbrother@example.net"],
  );
  assertEquals(
    text(withExtraRecipients({ ...EXTRAS, extraQueue: [] }, b("a@x"), [b("u@x")])),
    ["u@x"],
  );
  // A UTF-8 address (bytes in the envelope, text in the control file), in any case.
  const utf8 = new TextEncoder();
  const watched = {
    bigBrother: [{ watched: "jörg@example.net", copy: "bb@example.net", line: 1 }],
  };
  assertEquals(
    text(withExtraRecipients({ ...watched, extraQueue: [] }, utf8.encode("JÖRG@example.net"), [])),
    ["bb@example.net"],
  );
});

Deno.test("queue extras: extraqueue goes on every message, after bigbrother; no address twice", () => {
  assertEquals(
    text(withExtraRecipients(EXTRAS, b(""), [b("u@x"), b("other@example.net")])),
    ["u@x", "other@example.net", "second@example.net", "archive@example.org"],
  );
  assertEquals(
    text(withExtraRecipients(EXTRAS, b("a@x"), [b("archive@example.org")])),
    ["archive@example.org"],
  );
  assertEquals(text(withExtraRecipients(undefined, b("a@x"), [b("u@x")])), ["u@x"]);
});

Deno.test("queue extras: the X-Originating-IP header only when an address was picked", () => {
  assertEquals(originHeader(EXTRAS), undefined);
  assertEquals(
    bytesToString(originHeader({ ...EXTRAS, originatingIp: "192.0.2.9" })!),
    "X-Originating-IP: 192.0.2.9\n",
  );
});

Deno.test("queue extras: the queue writer puts the header after its Received line and the recipients in the todo file", () =>
  withTestQueue(async (layout) => {
    const { id } = await injectMessage(
      layout,
      b("Received: from client\nSubject: hi\n\nbody\n"),
      b("badguy@example.net"),
      [b("u@example.test")],
      {
        pid: 4711,
        who: "from network",
        now: new Date(Date.UTC(2024, 2, 5, 7, 8, 9)),
        extras: { ...EXTRAS, originatingIp: "192.0.2.9" },
      },
    );
    assertEquals(
      bytesToString(Deno.readFileSync(layout.mess(id))),
      "Received: (qmail 4711 invoked from network); 5 Mar 2024 07:08:09 -0000\n" +
        "X-Originating-IP: 192.0.2.9\n" +
        "Received: from client\nSubject: hi\n\nbody\n",
    );
    const todo = parseTodo(Deno.readFileSync(layout.todo(id)));
    assertEquals(bytesToString(todo.sender!), "badguy@example.net");
    assertEquals(text(todo.recipients), [
      "u@example.test",
      "bigbrother@example.net",
      "archive@example.org",
    ]);
  }));
