import { assert, assertEquals } from "../../tests/assert.ts";
import { stringToBytes } from "../bytes.ts";
import { injectMessage } from "./qmail_queue.ts";
import type { QueueLayout } from "./layout.ts";
import {
  countQueue,
  describeQueue,
  formatQreadMessage,
  formatQreadTrouble,
  formatQstat,
} from "./status.ts";
import { withTestQueue } from "./test_queue.ts";

const b = (text: string) => stringToBytes(text);

/** The names of a directory in the order readdir returns them. */
function readdirOrder(dir: string): string[] {
  return Array.from(Deno.readDirSync(dir), (entry) => entry.name);
}

/** Puts a preprocessed (S5) message in the queue by hand, as qmail-send leaves it. */
function writePreprocessed(
  layout: QueueLayout,
  id: bigint,
  files: { mess: string; info: string; birth: number; local?: string; remote?: string },
): void {
  Deno.writeFileSync(layout.mess(id), b(files.mess));
  Deno.writeFileSync(layout.info(id), b(files.info));
  Deno.utimeSync(layout.info(id), files.birth, files.birth);
  if (files.local !== undefined) Deno.writeFileSync(layout.local(id), b(files.local));
  if (files.remote !== undefined) Deno.writeFileSync(layout.remote(id), b(files.remote));
}

Deno.test("formatQstat is qmail-qstat's output", () => {
  assertEquals(
    formatQstat({ messages: 3, unprocessed: 1 }),
    "messages in queue: 3\nmessages in queue but not yet preprocessed: 1\n",
  );
});

for (const todoSplit of [true, false]) {
  Deno.test(`countQueue counts mess and todo files (todoSplit ${todoSplit})`, () =>
    withTestQueue(async (layout) => {
      assertEquals(countQueue(layout), { messages: 0, unprocessed: 0 });
      for (let i = 0; i < 3; i++) {
        await injectMessage(layout, b("x\n"), b(""), [b("r")], { who: "by uid 0" });
      }
      writePreprocessed(layout, 47n, { mess: "m", info: "F\0", birth: 0 });
      assertEquals(countQueue(layout), { messages: 4, unprocessed: 3 });
    }, { todoSplit }));
}

Deno.test("formatQreadMessage is qmail-qread's bytes", () => {
  const text = formatQreadMessage({
    id: 457n,
    birth: new Date(Date.UTC(2024, 2, 5, 7, 8, 9, 700)),
    size: 1234,
    sender: b("a@b.c"),
    bouncing: false,
    recipients: [
      { channel: "local", done: false, address: b("joe@here") },
      { channel: "remote", done: true, address: b("x\ny@\xffthere") },
    ],
  });
  assertEquals(
    text,
    "5 Mar 2024 07:08:09 GMT  #457  1234  <a@b.c> \n" +
      "\tlocal\tjoe@here\n" +
      "  done\tremote\tx_y@_there\n",
  );
  assertEquals(
    formatQreadMessage({
      id: 1n,
      birth: new Date(0),
      size: 0,
      sender: b(""),
      bouncing: true,
      recipients: [],
    }),
    "1 Jan 1970 00:00:00 GMT  #1  0  <>  bouncing\n",
  );
  // Departure: well-formed UTF-8 (SMTPUTF8) prints as its text, control characters still as "_".
  assertEquals(
    formatQreadMessage({
      id: 2n,
      birth: new Date(0),
      size: 0,
      sender: new TextEncoder().encode("zoë@例子.测试"),
      bouncing: false,
      recipients: [{
        channel: "remote",
        done: false,
        address: new TextEncoder().encode("a\u009bü"),
      }],
    }),
    "1 Jan 1970 00:00:00 GMT  #2  0  <zoë@例子.测试> \n\tremote\ta_ü\n",
  );
});

Deno.test("describeQueue lists info/ messages bucket by bucket", () =>
  withTestQueue(async (layout) => {
    // 47 % 23 = 1, 24 % 23 = 1, 46 % 23 = 0, 70 % 23 = 1
    writePreprocessed(layout, 47n, {
      mess: "Received: x\n\nbody\n",
      info: "Fsender@example.com\0",
      birth: Date.UTC(2023, 11, 31, 23, 59, 58) / 1000,
      local: "Tlocal@here\0Dold@here\0",
      remote: "Dr1@there\0Xjunk\0\0Tr2@there\0Tpartial",
    });
    writePreprocessed(layout, 24n, {
      mess: "",
      info: "F#@[]\0",
      birth: 86400 * 3 + 5,
      remote: "Tpostmaster@x\0",
    });
    Deno.writeFileSync(layout.bounce(24n), b("<a@b>:\nfailed\n\n"));
    writePreprocessed(layout, 46n, {
      mess: "12345",
      info: "F\0",
      birth: 1700000000,
      local: "",
    });
    Deno.writeFileSync(layout.info(70n), b("Fno@mess\0"));
    Deno.writeFileSync(`${layout.root}/info/1/not-a-number`, b(""));
    // todo-only messages are not listed: qmail-qread walks info/ only.
    await injectMessage(layout, b("x"), b("s"), [b("r")], { who: "by uid 0" });

    const result = describeQueue(layout);
    assertEquals(result.exitCode, 0);
    const bucket1: Record<string, string> = {
      24: "4 Jan 1970 00:00:05 GMT  #24  0  <#@[]>  bouncing\n" +
        "\tremote\tpostmaster@x\n",
      47: "31 Dec 2023 23:59:58 GMT  #47  18  <sender@example.com> \n" +
        "\tlocal\tlocal@here\n" +
        "  done\tlocal\told@here\n" +
        "  done\tremote\tr1@there\n" +
        "\tremote\tr2@there\n",
      70: formatQreadTrouble(70n, new Deno.errors.NotFound("x")),
    };
    assertEquals(
      result.text,
      "14 Nov 2023 22:13:20 GMT  #46  5  <> \n" +
        readdirOrder(`${layout.root}/info/1`).map((name) => bucket1[name] ?? "").join(""),
    );
    assertEquals(
      formatQreadTrouble(70n, { code: "ENOENT" }),
      "warning: trouble with #70: file does not exist\n",
    );
  }));

Deno.test("describeQueue lists a subdirectory in readdir order, unsorted, as qmail-qread", () =>
  withTestQueue((layout) => {
    // Twelve numbers in bucket 5: readdir (hash order on ext4, creation order
    // elsewhere) is not ascending order for all of them.
    const ids = [5n, 97n, 212n, 28n, 143n, 74n, 189n, 51n, 235n, 120n, 166n, 258n];
    for (const id of ids) {
      writePreprocessed(layout, id, { mess: "", info: `F${id}@a\0`, birth: 0 });
    }
    const order = readdirOrder(`${layout.root}/info/5`);
    const sorted = [...order].sort((a, b) => Number(a) - Number(b));
    assert(order.join() !== sorted.join(), `readdir gave ascending order: ${order.join()}`);
    assertEquals(
      describeQueue(layout).text,
      order.map((id) => `1 Jan 1970 00:00:00 GMT  #${id}  0  <${id}@a> \n`).join(""),
    );
  }));

Deno.test("describeQueue stops with 111 when an info subdirectory is missing", () =>
  withTestQueue((layout) => {
    writePreprocessed(layout, 46n, { mess: "", info: "Fa\0", birth: 0 });
    Deno.removeSync(`${layout.root}/info/1`);
    assertEquals(describeQueue(layout), {
      text: "1 Jan 1970 00:00:00 GMT  #46  0  <a> \n" +
        "fatal: unable to opendir info/1: file does not exist\n",
      exitCode: 111,
    });
    Deno.removeSync(layout.root, { recursive: true });
    assertEquals(describeQueue(layout), {
      text: "fatal: unable to chdir: file does not exist\n",
      exitCode: 111,
    });
  }));
