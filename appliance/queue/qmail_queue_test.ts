import { closeSync, constants, openSync, readSync } from "node:fs";
import { assert, assertEquals, assertRejects } from "../../tests/assert.ts";
import { bytesToString, stringToBytes } from "../bytes.ts";
import { formatIntd } from "./envelope.ts";
import { injectMessage, openQueueMessage, qmailCloseText, QueueError } from "./qmail_queue.ts";
import { detectSplit, type QueueLayout, queueLayoutFor } from "./layout.ts";
import { makeTestQueue, withTestQueue } from "./test_queue.ts";

const b = (text: string) => stringToBytes(text);
const NOW = new Date(Date.UTC(2024, 2, 5, 7, 8, 9));

/** Every regular file under the queue except lock/, relative to the queue root. */
function queueFiles(layout: QueueLayout): string[] {
  const found: string[] = [];
  const walk = (dir: string, prefix: string) => {
    for (const entry of Deno.readDirSync(dir)) {
      if (prefix === "" && entry.name === "lock") continue;
      const path = `${prefix}${entry.name}`;
      if (entry.isDirectory) walk(`${dir}/${entry.name}`, `${path}/`);
      else found.push(path);
    }
  };
  walk(layout.root, "");
  return found.sort();
}

for (const todoSplit of [true, false]) {
  Deno.test(`injectMessage writes mess, intd and todo byte for byte (todoSplit ${todoSplit})`, () =>
    withTestQueue(async (layout) => {
      const body = b("Subject: hi\n\nbody\n");
      const { id, qp } = await injectMessage(layout, body, b("a@b.c"), [b("x@y"), b("z@w")], {
        pid: 4711,
        who: "from network",
        now: NOW,
      });
      assertEquals(qp, "4711");
      const bucket = id % 23n;
      assertEquals(
        bytesToString(Deno.readFileSync(`${layout.root}/mess/${bucket}/${id}`)),
        "Received: (qmail 4711 invoked from network); 5 Mar 2024 07:08:09 -0000\n" +
          "Subject: hi\n\nbody\n",
      );
      const intdPath = todoSplit ? `intd/${bucket}/${id}` : `intd/${id}`;
      const todoPath = todoSplit ? `todo/${bucket}/${id}` : `todo/${id}`;
      const uid = String(Deno.uid());
      assertEquals(
        bytesToString(Deno.readFileSync(`${layout.root}/${intdPath}`)),
        `u${uid}\0p4711\0Fa@b.c\0Tx@y\0Tz@w\0`,
      );
      const mess = Deno.statSync(layout.mess(id));
      const intd = Deno.statSync(layout.intd(id));
      const todo = Deno.statSync(layout.todo(id));
      assertEquals(BigInt(mess.ino!), id, "the id is the inode of the mess file");
      assertEquals(todo.ino, intd.ino, "todo is a hard link of intd");
      assertEquals(intd.nlink, 2);
      assertEquals(mess.nlink, 1);
      for (const stat of [mess, intd]) assertEquals(stat.mode! & 0o777, 0o644);
      assertEquals(queueFiles(layout), [`mess/${bucket}/${id}`, intdPath, todoPath].sort());
    }, { todoSplit }));
}

Deno.test("the envelope keeps NUL-free bytes verbatim, LF and high bytes included", () =>
  withTestQueue(async (layout) => {
    const sender = new Uint8Array([0x0a, 0x80, 0xff, 0x25]);
    const recipient = b("a\nb\r@\x01\xfe");
    const message = await openQueueMessage(layout, { pid: 1, who: "by uid 5", now: NOW });
    await message.commit(sender, [recipient], "5");
    assertEquals(
      Deno.readFileSync(layout.todo(message.id)),
      formatIntd("5", "1", sender, [recipient]),
    );
    assertEquals(
      bytesToString(Deno.readFileSync(layout.mess(message.id))),
      "Received: (qmail 1 invoked by uid 5); 5 Mar 2024 07:08:09 -0000\n",
    );
    assertEquals(message.bytesWritten, 0);
  }));

Deno.test("abort leaves nothing behind, before and after writing", () =>
  withTestQueue(async (layout) => {
    const first = await openQueueMessage(layout, { who: "by uid 0" });
    assertEquals(queueFiles(layout), [`mess/${first.id % 23n}/${first.id}`]);
    await first.abort();
    await first.abort();
    const second = await openQueueMessage(layout, { who: "by uid 0" });
    await second.write(new Uint8Array(200_000).fill(0x41));
    assertEquals(second.bytesWritten, 200_000);
    await second.abort();
    assertEquals(queueFiles(layout), []);
    await assertRejects(() => second.write(b("x")), QueueError);
    await assertRejects(() => second.commit(b(""), []), QueueError);
  }));

Deno.test("abort after commit does nothing", () =>
  withTestQueue(async (layout) => {
    const message = await openQueueMessage(layout, { who: "by uid 0" });
    await message.write(b("x\n"));
    await message.commit(b("s"), [b("r")]);
    await message.abort();
    assertEquals(queueFiles(layout).length, 3);
  }));

Deno.test("a 1003-byte address gives exit 11 and leaves nothing; 1002 bytes queue", () =>
  withTestQueue(async (layout) => {
    const message = await openQueueMessage(layout, { who: "by uid 0" });
    const error = await assertRejects(
      () => message.commit(b(""), [b("a".repeat(1003))]),
      QueueError,
    );
    assertEquals(error.exitCode, 11);
    assertEquals(error.temporary, false);
    assertEquals(queueFiles(layout), []);
    const nul = await openQueueMessage(layout, { who: "by uid 0" });
    assertEquals((await assertRejects(() => nul.commit(b("a\0b"), []), QueueError)).exitCode, 91);
    await injectMessage(layout, b(""), b("a".repeat(1002)), [b("b".repeat(1002))], {
      who: "by uid 0",
    });
    assertEquals(queueFiles(layout).length, 3);
  }));

Deno.test("a missing intd or todo directory gives 65 or 66 and cleans up", () =>
  withTestQueue(async (layout) => {
    Deno.removeSync(`${layout.root}/todo`, { recursive: true });
    const todo = await assertRejects(
      () => injectMessage(layout, b("x"), b(""), [b("r")], { who: "by uid 0" }),
      QueueError,
    );
    assertEquals(todo.exitCode, 66);
    assertEquals(todo.temporary, true);
    assertEquals(queueFiles(layout), []);
    Deno.removeSync(`${layout.root}/intd`, { recursive: true });
    const intd = await assertRejects(
      () => injectMessage(layout, b("x"), b(""), [b("r")], { who: "by uid 0" }),
      QueueError,
    );
    assertEquals(intd.exitCode, 65);
    assertEquals(queueFiles(layout), []);
  }, { todoSplit: false }));

Deno.test("a missing mess, pid or queue directory gives 64, 63 or 62", () =>
  withTestQueue(async (layout) => {
    for (let i = 0; i < 23; i++) Deno.removeSync(`${layout.root}/mess/${i}`);
    const mess = await assertRejects(() => openQueueMessage(layout, { who: "x" }), QueueError);
    assertEquals(mess.exitCode, 64);
    assertEquals(queueFiles(layout), [], "the pid file is removed");
    Deno.removeSync(`${layout.root}/pid`);
    const pid = await assertRejects(() => openQueueMessage(layout, { who: "x" }), QueueError);
    assertEquals(pid.exitCode, 63);
    Deno.removeSync(layout.root, { recursive: true });
    const queue = await assertRejects(() => openQueueMessage(layout, { who: "x" }), QueueError);
    assertEquals(queue.exitCode, 62);
  }));

/** A stream of `count` chunks of 64 KiB; chunk i is filled with byte i mod 251. */
function patternStream(count: number): ReadableStream<Uint8Array> {
  let sent = 0;
  return new ReadableStream({
    pull(controller) {
      if (sent === count) return controller.close();
      controller.enqueue(new Uint8Array(65536).fill(sent++ % 251));
    },
  });
}

Deno.test("a 20 MB body streams through in chunks", () =>
  withTestQueue(async (layout) => {
    const chunks = 320; // 320 × 64 KiB = 20 MiB
    const { id } = await injectMessage(layout, patternStream(chunks), b("s"), [b("r")], {
      pid: 9,
      who: "by uid 0",
      now: NOW,
    });
    const header = b("Received: (qmail 9 invoked by uid 0); 5 Mar 2024 07:08:09 -0000\n");
    assertEquals(Deno.statSync(layout.mess(id)).size, header.length + chunks * 65536);
    using file = Deno.openSync(layout.mess(id));
    const head = new Uint8Array(header.length);
    assertEquals(file.readSync(head), header.length);
    assertEquals(head, header);
    const chunk = new Uint8Array(65536);
    for (let i = 0; i < chunks; i++) {
      let filled = 0;
      while (filled < chunk.length) {
        const count = file.readSync(chunk.subarray(filled));
        assert(count !== null, "file ended early");
        filled += count;
      }
      assert(chunk.every((byte) => byte === i % 251), `chunk ${i} differs`);
    }
  }));

Deno.test("small writes are buffered and land in order", () =>
  withTestQueue(async (layout) => {
    const message = await openQueueMessage(layout, { pid: 2, who: "by uid 0", now: NOW });
    let expected = "";
    for (let i = 0; i < 30_000; i++) {
      const line = `line ${i}\n`;
      expected += line;
      await message.write(b(line));
    }
    await message.write(new Uint8Array(100_000).fill(0x2e));
    expected += ".".repeat(100_000);
    await message.commit(b(""), []);
    const mess = bytesToString(Deno.readFileSync(layout.mess(message.id)));
    assertEquals(mess.slice(mess.indexOf("\n") + 1), expected);
    assertEquals(message.bytesWritten, expected.length);
  }));

Deno.test("a failing body stream gives exit 54 and leaves nothing", () =>
  withTestQueue(async (layout) => {
    let pulls = 0;
    const body = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (pulls++ < 3) controller.enqueue(new Uint8Array(100_000));
        else controller.error(new Error("connection reset"));
      },
    });
    const error = await assertRejects(
      () => injectMessage(layout, body, b(""), [b("r")], { who: "by uid 0" }),
      QueueError,
    );
    assertEquals(error.exitCode, 54);
    assertEquals(queueFiles(layout), []);
  }));

Deno.test("concurrent messages in one process get distinct ids", () =>
  withTestQueue(async (layout) => {
    const results = await Promise.all(
      Array.from(
        { length: 30 },
        (_, i) =>
          injectMessage(layout, b(`message ${i}\n`), b(""), [b("r")], {
            pid: 77,
            who: "by uid 0",
            now: NOW,
          }),
      ),
    );
    assertEquals(
      new Set(results.map((result) => result.id)).size,
      30,
    );
    assertEquals(layout.listIds("todo").length, 30);
    assertEquals(Array.from(Deno.readDirSync(layout.pidDir)), []);
  }));

Deno.test("commit pulls the trigger", () =>
  withTestQueue(async (layout) => {
    // A reader of our own, as qmail-send holds one (§4.2), so the pull has someone to write to.
    const reader = openSync(layout.trigger, constants.O_RDONLY | constants.O_NONBLOCK);
    try {
      const buffer = new Uint8Array(8);
      const message = await openQueueMessage(layout, { who: "by uid 0" });
      await message.write(b("x\n"));
      assertEquals(readSync(reader, buffer), 0, "nothing written before the commit");
      await message.commit(b(""), [b("r")]);
      // One byte (§3.2 step 11), there once commit has resolved. qmail-queue's is NUL; qmd's
      // names the todo directory of the entry (1 + its split number; trigger.ts).
      assertEquals(readSync(reader, buffer), 1);
      assertEquals(
        buffer[0],
        layout.todoSplit ? Number(message.id % BigInt(layout.split)) + 1 : 255,
      );
    } finally {
      closeSync(reader);
    }
  }));

Deno.test("qmailCloseText follows qmail_close", () => {
  const cases: [number, string][] = [
    [0, ""],
    [11, "Denvelope address too long for qq (#5.1.3)"],
    [115, "Denvelope address too long for qq (#5.1.3)"],
    [31, "Dmail server permanently rejected message (#5.3.0)"],
    [51, "Zqq out of memory (#4.3.0)"],
    [52, "Zqq timeout (#4.3.0)"],
    [53, "Zqq write error or disk full (#4.3.0)"],
    [54, "Zqq read error (#4.3.0)"],
    [55, "Zqq unable to read configuration (#4.3.0)"],
    [56, "Zqq trouble making network connection (#4.3.0)"],
    [61, "Zqq trouble in home directory (#4.3.0)"],
    [62, "Zqq trouble creating files in queue (#4.3.0)"],
    [66, "Zqq trouble creating files in queue (#4.3.0)"],
    [71, "Zmail server temporarily rejected message (#4.3.0)"],
    [72, "Zconnection to mail server timed out (#4.4.1)"],
    [73, "Zconnection to mail server rejected (#4.4.1)"],
    [74, "Zcommunication with mail server failed (#4.4.2)"],
    [81, "Zqq internal bug (#4.3.0)"],
    [91, "Zqq internal bug (#4.3.0)"],
    [120, "Zunable to exec qq (#4.3.0)"],
    [12, "Dqq permanent problem (#5.3.0)"],
    [40, "Dqq permanent problem (#5.3.0)"],
    [41, "Zqq temporary problem (#4.3.0)"],
    [75, "Zqq temporary problem (#4.3.0)"],
  ];
  for (const [code, text] of cases) assertEquals(qmailCloseText(code), text, String(code));
  assertEquals(new QueueError(31, "x").temporary, false);
  assertEquals(new QueueError(91, "x").temporary, true);
});

Deno.test("queueLayoutFor reads the split from mess/ and injects into it", async () => {
  const home = await Deno.makeTempDir({ prefix: "qmd-inject-" });
  try {
    makeTestQueue(home, { split: 7, todoSplit: true });
    const layout = queueLayoutFor(home);
    assertEquals([layout.split, layout.todoSplit], [7, true]);
    const { id } = await injectMessage(layout, b("x"), b(""), [b("r")], { who: "by uid 0" });
    assert(Deno.statSync(`${home}/queue/mess/${id % 7n}/${id}`).isFile);
    assert(Deno.statSync(`${home}/queue/todo/${id % 7n}/${id}`).isFile);
    assertEquals(detectSplit(`${home}/nowhere`), 23);
  } finally {
    await Deno.remove(home, { recursive: true });
  }
});

Deno.test("under a umask that strips 0644's bits, mess and intd still come out 0644", () =>
  withTestQueue(async (layout) => {
    // The umask is the process's: a child process with umask 077 queues one message.
    const script = `
      import { injectMessage } from "${new URL("./qmail_queue.ts", import.meta.url).href}";
      import { QueueLayout } from "${new URL("./layout.ts", import.meta.url).href}";
      const layout = new QueueLayout(Deno.args[0]);
      for (let i = 0; i < 2; i++) {
        const { id } = await injectMessage(layout, new TextEncoder().encode("x\\n"),
          new TextEncoder().encode("a@b.c"), [new TextEncoder().encode("r@s.t")], {});
        console.log(String(id));
      }`;
    const child = await new Deno.Command("sh", {
      args: ["-c", 'umask 077 && exec "$0" eval "$1" "$2"', Deno.execPath(), script, layout.root],
    }).output();
    assert(child.success, new TextDecoder().decode(child.stderr));
    const ids = new TextDecoder().decode(child.stdout).trim().split("\n").map(BigInt);
    assertEquals(ids.length, 2);
    for (const id of ids) {
      for (const path of [layout.mess(id), layout.intd(id)]) {
        assertEquals(Deno.statSync(path).mode! & 0o777, 0o644, path);
      }
    }
  }));
