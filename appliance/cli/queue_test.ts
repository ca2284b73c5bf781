import { assertEquals } from "../../tests/assert.ts";
import { bytesToString, stringToBytes } from "../bytes.ts";
import type { QueueLayout } from "../queue/layout.ts";
import { makeTestQueue } from "../queue/test_queue.ts";
import { runQueue } from "./queue.ts";

const b = (text: string) => stringToBytes(text);
const NOW = new Date(Date.UTC(2024, 2, 5, 7, 8, 9));
const QUEUE_SCRIPT = new URL("./queue.ts", import.meta.url).pathname;

function streamOf(...chunks: string[]): ReadableStream<Uint8Array> {
  return new ReadableStream({
    start(controller) {
      for (const chunk of chunks) controller.enqueue(b(chunk));
      controller.close();
    },
  });
}

async function withHome(run: (home: string, layout: QueueLayout) => Promise<void>) {
  const home = await Deno.makeTempDir({ prefix: "qmd-cli-queue-" });
  try {
    await run(home, makeTestQueue(home));
  } finally {
    await Deno.remove(home, { recursive: true });
  }
}

function queuedIds(layout: QueueLayout): { mess: bigint[]; intd: bigint[]; todo: bigint[] } {
  return {
    mess: layout.listIds("mess"),
    intd: layout.listIds("intd"),
    todo: layout.listIds("todo"),
  };
}

Deno.test("runQueue queues the message and reads the envelope only after its EOF", () =>
  withHome(async (home, layout) => {
    const events: string[] = [];
    let sent = 0;
    const message = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (sent++ < 2) {
          events.push("message chunk");
          controller.enqueue(b(`line ${sent}\n`));
        } else {
          events.push("message end");
          controller.close();
        }
      },
    });
    const code = await runQueue({
      home,
      message,
      openEnvelope: () => {
        events.push("envelope opened");
        return Promise.resolve(streamOf("Fs@x\0Tr", "1@y\0", "Tr2@z\0\0", "ignored"));
      },
      uid: 1000,
      pid: 4711,
      now: NOW,
    });
    assertEquals(code, 0);
    assertEquals(events, ["message chunk", "message chunk", "message end", "envelope opened"]);
    const [id] = layout.listIds("todo");
    assertEquals(
      bytesToString(Deno.readFileSync(layout.mess(id))),
      "Received: (qmail 4711 invoked by uid 1000); 5 Mar 2024 07:08:09 -0000\nline 1\nline 2\n",
    );
    assertEquals(
      bytesToString(Deno.readFileSync(layout.todo(id))),
      "u1000\0p4711\0Fs@x\0Tr1@y\0Tr2@z\0",
    );
  }));

Deno.test("runQueue gives qmail-queue's exit codes for bad envelopes and leaves nothing", () =>
  withHome(async (home, layout) => {
    const cases: [string, number][] = [
      ["Fs@x\0Tr@y\0", 54],
      ["", 54],
      ["Xs@x\0\0", 91],
      ["Fs@x\0Qr\0\0", 91],
      [`F${"a".repeat(1003)}\0\0`, 11],
      [`F\0T${"a".repeat(1003)}\0\0`, 11],
    ];
    for (const [envelope, expected] of cases) {
      const code = await runQueue({
        home,
        message: streamOf("x\n"),
        openEnvelope: () => Promise.resolve(streamOf(envelope)),
        uid: 0,
      });
      assertEquals(code, expected, JSON.stringify(envelope.slice(0, 20)));
    }
    const failing = await runQueue({
      home,
      message: streamOf("x\n"),
      openEnvelope: () => Promise.reject(new Error("no fd 1")),
      uid: 0,
    });
    assertEquals(failing, 54);
    assertEquals(queuedIds(layout), { mess: [], intd: [], todo: [] });
    assertEquals(Array.from(Deno.readDirSync(layout.pidDir)), []);
  }));

Deno.test("runQueue gives 54 for an unreadable message", () =>
  withHome(async (home, layout) => {
    const message = new ReadableStream<Uint8Array>({
      pull(controller) {
        controller.error(new Error("read failed"));
      },
    });
    const code = await runQueue({
      home,
      message,
      openEnvelope: () => Promise.resolve(streamOf("F\0\0")),
      uid: 0,
    });
    assertEquals(code, 54);
    assertEquals(queuedIds(layout), { mess: [], intd: [], todo: [] });
  }));

Deno.test("runQueue gives 61 without a home and 62 without a queue", async () => {
  const dir = await Deno.makeTempDir({ prefix: "qmd-cli-queue-" });
  try {
    const run = (home: string) =>
      runQueue({
        home,
        message: streamOf("x"),
        openEnvelope: () => Promise.resolve(streamOf("F\0\0")),
        uid: 0,
      });
    assertEquals(await run(`${dir}/missing`), 61);
    assertEquals(await run(dir), 62);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test({
  name: "runQueue gives 52 when the 24-hour alarm rings",
  // The abandoned writer keeps its mess file open, as a killed qmail-queue would leave it.
  sanitizeResources: false,
  sanitizeOps: false,
  fn: () =>
    withHome(async (home, layout) => {
      let ring!: () => void;
      const alarm = new Promise<void>((resolve) => (ring = resolve));
      const code = await runQueue({
        home,
        message: new ReadableStream<Uint8Array>({
          pull: () => {
            ring();
            return new Promise(() => {});
          },
        }, { highWaterMark: 0 }),
        openEnvelope: () => Promise.resolve(streamOf("F\0\0")),
        uid: 0,
        alarm,
      });
      assertEquals(code, 52);
      assertEquals(layout.listIds("mess").length, 1, "no cleanup after the alarm");
    }),
});

async function runScript(home: string, shell: string): Promise<Deno.CommandOutput> {
  return await new Deno.Command("sh", {
    args: ["-c", shell, "sh", Deno.execPath(), QUEUE_SCRIPT],
    env: { QMD_HOME: home },
    stdout: "piped",
    stderr: "piped",
  }).output();
}

Deno.test("qmd queue reads fd 0 and fd 1 of a real process (file and pipe on fd 1)", () =>
  withHome(async (home, layout) => {
    Deno.writeFileSync(`${home}/envelope`, b("Fs@x\0Tr@y\0\0"));
    const fromFile = await runScript(
      home,
      `printf 'Subject: one\\n\\nbody\\n' | "$1" run -A "$2" 1<"${home}/envelope"`,
    );
    assertEquals(new TextDecoder().decode(fromFile.stderr), "");
    assertEquals(fromFile.code, 0);
    assertEquals(fromFile.stdout.length, 0);
    const fromPipe = await runScript(
      home,
      `printf 'Fa@b\\000Tc@d\\000Te@f\\000\\000' | { printf 'two\\n' | "$1" run -A "$2" 1<&3; } 3<&0`,
    );
    assertEquals(fromPipe.code, 0);
    const truncated = await runScript(
      home,
      `printf 'Fa@b\\000Tc@d' | { printf 'three\\n' | "$1" run -A "$2" 1<&3; } 3<&0`,
    );
    assertEquals(truncated.code, 54);

    const todos = layout.listIds("todo").map((id) =>
      bytesToString(Deno.readFileSync(layout.todo(id)))
    );
    const bodies = layout.listIds("todo").map((id) => {
      const mess = bytesToString(Deno.readFileSync(layout.mess(id)));
      assertEquals(mess.startsWith("Received: (qmail "), true);
      return mess.slice(mess.indexOf("\n") + 1);
    });
    assertEquals(bodies.sort(), ["Subject: one\n\nbody\n", "two\n"]);
    assertEquals(todos.every((todo) => /^u\d+\0p\d+\0F/.test(todo)), true);
    assertEquals(
      todos.map((todo) => todo.slice(todo.indexOf("\0F") + 1)).sort(),
      ["Fa@b\0Tc@d\0Te@f\0", "Fs@x\0Tr@y\0"],
    );
    assertEquals(layout.listIds("mess").length, 2);
  }));

Deno.test("runQueue adds bigbrother, extraqueue and, for a relay client, X-Originating-IP", () =>
  withHome(async (home, layout) => {
    Deno.mkdirSync(`${home}/control`, { recursive: true });
    Deno.writeTextFileSync(`${home}/control/bigbrother`, "s@x:copy@example.net\n");
    Deno.writeTextFileSync(`${home}/control/extraqueue`, "archive@example.net\n");
    Deno.writeTextFileSync(`${home}/control/originipfield`, "1\n");
    const run = (env: Record<string, string>) =>
      runQueue({
        home,
        message: streamOf("Subject: x\n\nhi\n"),
        openEnvelope: () => Promise.resolve(streamOf("Fs@x\0Tr@y\0\0")),
        uid: 1000,
        pid: 4711,
        now: NOW,
        env,
      });
    assertEquals(await run({ TCPREMOTEIP: "192.0.2.9", RELAYCLIENT: "" }), 0);
    const [id] = layout.listIds("todo");
    assertEquals(
      bytesToString(Deno.readFileSync(layout.mess(id))),
      "Received: (qmail 4711 invoked by uid 1000); 5 Mar 2024 07:08:09 -0000\n" +
        "X-Originating-IP: 192.0.2.9\nSubject: x\n\nhi\n",
    );
    assertEquals(
      bytesToString(Deno.readFileSync(layout.todo(id))),
      "u1000\0p4711\0Fs@x\0Tr@y\0Tcopy@example.net\0Tarchive@example.net\0",
    );
    // Not a relay client: no header. A broken control file: qmail-queue's 55, nothing queued.
    assertEquals(await run({ TCPREMOTEIP: "192.0.2.9" }), 0);
    const second = layout.listIds("todo").find((each) => each !== id)!;
    assertEquals(bytesToString(Deno.readFileSync(layout.mess(second))).includes("X-Orig"), false);
    Deno.writeTextFileSync(`${home}/control/bigbrother`, "no colon here\n");
    assertEquals(await run({}), 55);
    assertEquals(layout.listIds("todo").length, 2);
  }));
