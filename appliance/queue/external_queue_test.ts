import { assert, assertEquals, assertMatch, assertRejects } from "../../tests/assert.ts";
import { bytesToString, stringToBytes } from "../bytes.ts";
import {
  type ExternalQueueMessage,
  type ExternalQueueOptions,
  openExternalQueue,
  parseCustomQueueError,
} from "./external_queue.ts";
import { QueueError } from "./qmail_queue.ts";
import type { QueueLayout } from "./layout.ts";
import { makeTestQueue } from "./test_queue.ts";

const FIXTURES = new URL("../../tests/fixtures/qmailqueue/", import.meta.url).pathname;
const MAIN = new URL("../../main.ts", import.meta.url).pathname;
const b = (text: string) => stringToBytes(text);

interface Setup {
  home: string;
  layout: QueueLayout;
  /** Where copy.sh writes what it read. */
  out: string;
}

async function withQueue(run: (setup: Setup) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "qmd-external-queue-" });
  try {
    const home = `${dir}/home`;
    const out = `${dir}/out`;
    Deno.mkdirSync(out);
    await run({ home, layout: makeTestQueue(home), out });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

function open(
  script: string,
  layout: QueueLayout,
  options: Partial<ExternalQueueOptions> = {},
): Promise<ExternalQueueMessage> {
  return openExternalQueue(`${FIXTURES}${script}`, layout, { timeoutSeconds: 30, ...options });
}

function pidFiles(layout: QueueLayout): string[] {
  return Array.from(Deno.readDirSync(layout.pidDir), (entry) => entry.name);
}

function readIfExists(path: string): string | undefined {
  try {
    return bytesToString(Deno.readFileSync(path));
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return undefined;
    throw error;
  }
}

/** Deterministic bytes of every value 0–255, CR, LF and NUL included. */
function messageBytes(length: number): Uint8Array {
  const bytes = new Uint8Array(length);
  let state = 12345;
  for (let i = 0; i < length; i++) {
    state = (Math.imul(state, 1103515245) + 12345) >>> 0;
    bytes[i] = state >>> 24;
  }
  return bytes;
}

Deno.test("the program gets the message on fd 0 and the envelope on fd 1, byte for byte", () =>
  withQueue(async ({ layout, out }) => {
    const message = await open("copy.sh", layout, { env: { QQ_OUT: out } });
    assertMatch(message.qp, /^\d+$/);
    await message.write(b("Received: from x\r\nSubject: hi\r\n\r\n"));
    await message.write(b("body\r\n"));
    assertEquals(message.bytesWritten, 39);
    await message.commit(b("a@example.com"), [b("b@example.org"), b("c@example.net")]);
    assertEquals(
      readIfExists(`${out}/message`),
      "Received: from x\r\nSubject: hi\r\n\r\nbody\r\n",
    );
    assertEquals(
      readIfExists(`${out}/envelope`),
      "Fa@example.com\0Tb@example.org\0Tc@example.net\0\0",
    );
    // qp is the program's pid (§3.5).
    assertEquals(readIfExists(`${out}/pid`)?.trim(), message.qp);
    assertEquals(pidFiles(layout), []);
  }));

Deno.test("a 5 MB message is streamed to the program unchanged", () =>
  withQueue(async ({ layout, out }) => {
    const body = messageBytes(5 * 1024 * 1024 + 17);
    const message = await open("copy.sh", layout, { env: { QQ_OUT: out } });
    for (let offset = 0; offset < body.length; offset += 65536) {
      await message.write(body.subarray(offset, offset + 65536));
    }
    assertEquals(message.bytesWritten, body.length);
    await message.commit(b(""), [b("postmaster@example.com")]);
    const copied = Deno.readFileSync(`${out}/message`);
    assertEquals(copied.length, body.length);
    assert(copied.every((byte, i) => byte === body[i]), "the copied message differs");
    assertEquals(readIfExists(`${out}/envelope`), "F\0Tpostmaster@example.com\0\0");
  }));

Deno.test("exit 82 with a D line on stderr is a permanent error with that text", () =>
  withQueue(async ({ layout }) => {
    const message = await open("custom_permanent.sh", layout);
    await message.write(b("Subject: eicar\r\n\r\nX5O!P%@AP\r\n"));
    const error = await assertRejects(
      () => message.commit(b("a@example.com"), [b("b@example.org")]),
      QueueError,
    );
    assertEquals(error.exitCode, 82);
    assertEquals(error.replyText, "Dsorry, virus found (#5.7.1)");
    assertEquals(error.temporary, false);
    assertEquals(pidFiles(layout), []);
  }));

Deno.test("exit 82 with a Z line on stderr is a temporary error with that text", () =>
  withQueue(async ({ layout }) => {
    const message = await open("custom_temporary.sh", layout);
    await message.write(b("hello\r\n"));
    const error = await assertRejects(
      () => message.commit(b("a@example.com"), [b("b@example.org")]),
      QueueError,
    );
    assertEquals(error.exitCode, 82);
    assertEquals(error.replyText, "Zgreylisted, come back in 5 minutes (#4.7.1)");
    assertEquals(error.temporary, true);
  }));

Deno.test("exit 82 without a D or Z line is qmail's generic temporary problem", () =>
  withQueue(async ({ layout }) => {
    const message = await open("exit_code.sh", layout, {
      env: { QQ_EXIT: "82", QQ_STDERR: "something went wrong" },
    });
    const error = await assertRejects(() => message.commit(b("a@x"), [b("b@y")]), QueueError);
    assertEquals(error.replyText, "Zqq temporary problem (#4.3.0)");
    assertEquals(error.temporary, true);
    assertMatch(error.message, /exited 82: something went wrong$/);
  }));

Deno.test("other exit codes become qmail_close's texts", () =>
  withQueue(async ({ layout }) => {
    const cases: [string, string, boolean][] = [
      ["31", "Dmail server permanently rejected message (#5.3.0)", false],
      ["71", "Zmail server temporarily rejected message (#4.3.0)", true],
      ["11", "Denvelope address too long for qq (#5.1.3)", false],
      ["54", "Zqq read error (#4.3.0)", true],
      ["77", "Zqq temporary problem (#4.3.0)", true],
      ["25", "Dqq permanent problem (#5.3.0)", false],
    ];
    for (const [code, text, temporary] of cases) {
      const message = await open("exit_code.sh", layout, { env: { QQ_EXIT: code } });
      await message.write(b("hello\r\n"));
      const error = await assertRejects(() => message.commit(b("a@x"), [b("b@y")]), QueueError);
      assertEquals(error.exitCode, Number(code));
      assertEquals(error.replyText, text);
      assertEquals(error.temporary, temporary);
    }
    assertEquals(pidFiles(layout), []);
  }));

Deno.test("a program that exits without reading decides by its exit code", () =>
  withQueue(async ({ layout }) => {
    const body = messageBytes(1024 * 1024);
    // 31: qmail_close reports the exit code, not the broken pipe.
    let message = await open("early_exit.sh", layout, { env: { QQ_EXIT: "31" } });
    for (let offset = 0; offset < body.length; offset += 65536) {
      await message.write(body.subarray(offset, offset + 65536));
    }
    let error = await assertRejects(() => message.commit(b("a@x"), [b("b@y")]), QueueError);
    assertEquals(error.exitCode, 31);
    assertEquals(error.temporary, false);
    // 0 after a failed write: qmail_close's "qq read error" (flagerr).
    message = await open("early_exit.sh", layout, { env: { QQ_EXIT: "0" } });
    for (let offset = 0; offset < body.length; offset += 65536) {
      await message.write(body.subarray(offset, offset + 65536));
    }
    error = await assertRejects(() => message.commit(b("a@x"), [b("b@y")]), QueueError);
    assertEquals(error.exitCode, 54);
    assertEquals(error.replyText, "Zqq read error (#4.3.0)");
  }));

Deno.test("a program killed by a signal is qq crashed", () =>
  withQueue(async ({ layout }) => {
    const message = await open("crash.sh", layout);
    await message.write(b("hello\r\n"));
    const error = await assertRejects(() => message.commit(b("a@x"), [b("b@y")]), QueueError);
    assertEquals(error.replyText, "Zqq crashed (#4.3.0)");
    assertEquals(error.temporary, true);
  }));

Deno.test("a missing or non-executable program is unable to exec qq", () =>
  withQueue(async ({ layout }) => {
    for (const script of ["no_such_program.sh", "not_executable.sh"]) {
      const message = await open(script, layout);
      await message.write(b("hello\r\n"));
      const error = await assertRejects(() => message.commit(b("a@x"), [b("b@y")]), QueueError);
      assertEquals(error.exitCode, 120);
      assertEquals(error.replyText, "Zunable to exec qq (#4.3.0)");
    }
    assertEquals(pidFiles(layout), []);
  }));

Deno.test("a relative program name is relative to cwd, without a PATH search", () =>
  withQueue(async ({ layout, out }) => {
    const message = await openExternalQueue("copy.sh", layout, {
      timeoutSeconds: 30,
      cwd: FIXTURES,
      env: { QQ_OUT: out },
    });
    await message.write(b("x\n"));
    await message.commit(b("a@x"), []);
    assertEquals(readIfExists(`${out}/envelope`), "Fa@x\0\0");
    // "sh" is on PATH but not in cwd: no PATH search, so it cannot start.
    const other = await openExternalQueue("sh", layout, { timeoutSeconds: 30, cwd: out });
    const error = await assertRejects(() => other.commit(b("a@x"), []), QueueError);
    assertEquals(error.exitCode, 120);
  }));

Deno.test("abort never gives the program an envelope", () =>
  withQueue(async ({ layout, out }) => {
    const message = await open("copy.sh", layout, { env: { QQ_OUT: out } });
    await message.write(b("Subject: half\r\n"));
    await message.abort();
    await message.abort();
    // copy.sh ran to its end: it saw the message's EOF and an empty fd 1.
    assertEquals(readIfExists(`${out}/message`), "Subject: half\r\n");
    const envelope = readIfExists(`${out}/envelope`);
    assert(envelope === undefined || envelope === "", `envelope written: ${envelope}`);
    assertEquals(pidFiles(layout), []);
    // Nothing is left to do after an abort.
    await assertRejects(() => message.write(b("more")), QueueError);
    await assertRejects(() => message.commit(b("a@x"), [b("b@y")]), QueueError);
  }));

Deno.test("abort kills a program that neither reads nor exits, SIGKILL if SIGTERM is ignored", () =>
  withQueue(async ({ layout }) => {
    for (const script of ["silent.sh", "stubborn.sh"]) {
      const message = await open(script, layout, { killGraceSeconds: 0.2 });
      await message.write(b("hello\r\n"));
      await message.abort();
      assertEquals(pidFiles(layout), []);
    }
  }));

Deno.test("a program that does not exit after the envelope times out as qq timeout", () =>
  withQueue(async ({ layout }) => {
    const message = await open("silent.sh", layout, { timeoutSeconds: 0.3, killGraceSeconds: 0.2 });
    await message.write(b("hello\r\n"));
    const error = await assertRejects(() => message.commit(b("a@x"), [b("b@y")]), QueueError);
    assertEquals(error.exitCode, 52);
    assertEquals(error.replyText, "Zqq timeout (#4.3.0)");
    assertEquals(pidFiles(layout), []);
    await message.abort();
  }));

Deno.test("a program that stops reading the message times out as qq timeout", () =>
  withQueue(async ({ layout }) => {
    const message = await open("stubborn.sh", layout, {
      timeoutSeconds: 0.3,
      killGraceSeconds: 0.2,
    });
    // More than a pipe holds: the write waits for a reader that never comes.
    const error = await assertRejects(() => message.write(messageBytes(1024 * 1024)), QueueError);
    assertEquals(error.exitCode, 52);
    assertEquals(error.temporary, true);
    await message.abort();
    await assertRejects(() => message.commit(b("a@x"), [b("b@y")]), QueueError);
    assertEquals(pidFiles(layout), []);
  }));

Deno.test("an address with a NUL is refused before the envelope is written", () =>
  withQueue(async ({ layout, out }) => {
    const message = await open("copy.sh", layout, { env: { QQ_OUT: out } });
    await message.write(b("hello\r\n"));
    const error = await assertRejects(
      () => message.commit(b("a@x"), [b("b@y\0Tevil@z")]),
      QueueError,
    );
    assertEquals(error.exitCode, 91);
    const envelope = readIfExists(`${out}/envelope`);
    assert(envelope === undefined || envelope === "", `envelope written: ${envelope}`);
  }));

Deno.test("no pid/ directory is qmail-queue's pid trouble (63)", () =>
  withQueue(async ({ layout }) => {
    Deno.removeSync(layout.pidDir, { recursive: true });
    const error = await assertRejects(() => open("copy.sh", layout), QueueError);
    assertEquals(error.exitCode, 63);
    assertEquals(error.temporary, true);
  }));

Deno.test("qmd queue as QMAILQUEUE queues the message into its home", () =>
  withQueue(async ({ layout: ourQueue }) => {
    const target = await Deno.makeTempDir({ prefix: "qmd-external-target-" });
    try {
      const targetQueue = makeTestQueue(target);
      const env = { QMD_HOME: target, QMD_DENO: Deno.execPath(), QMD_MAIN: MAIN, NO_COLOR: "1" };
      const message = await open("qmd_queue.sh", ourQueue, { env, timeoutSeconds: 60 });
      await message.write(b("Subject: through QMAILQUEUE\n\nhello\n"));
      await message.commit(b("a@example.com"), [b("b@example.org")]);
      const [id] = targetQueue.listIds("todo");
      assert(id !== undefined, "nothing in todo/");
      assertEquals(
        readIfExists(targetQueue.todo(id))?.replace(/^u\d+\0/, "u\0"),
        `u\0p${message.qp}\0Fa@example.com\0Tb@example.org\0`,
      );
      const mess = readIfExists(targetQueue.mess(id))!;
      assertMatch(mess, new RegExp(`^Received: \\(qmail ${message.qp} invoked by uid \\d+\\); `));
      assert(mess.endsWith("\nSubject: through QMAILQUEUE\n\nhello\n"));
      assertEquals(pidFiles(ourQueue), []);

      // An aborted message leaves nothing in the target queue: qmd queue sees an
      // empty envelope, exits 54 and removes its mess file.
      const aborted = await open("qmd_queue.sh", ourQueue, { env, timeoutSeconds: 60 });
      await aborted.write(b("Subject: never\n\n"));
      await aborted.abort();
      assertEquals(targetQueue.listIds("todo"), [id]);
      assertEquals(targetQueue.listIds("mess"), [id]);
      assertEquals(targetQueue.listIds("intd"), [id]);
    } finally {
      await Deno.remove(target, { recursive: true });
    }
  }));

Deno.test("parseCustomQueueError takes the first D or Z line, safe for a reply", () => {
  assertEquals(parseCustomQueueError(b("Dno (#5.7.1)\nmore\n")), "Dno (#5.7.1)");
  assertEquals(parseCustomQueueError(b("Zlater\r\n")), "Zlater");
  assertEquals(parseCustomQueueError(b("Zbad\tbyte \xe9")), "Zbad?byte ?");
  assertEquals(parseCustomQueueError(b("D" + "x".repeat(300))), "D" + "x".repeat(254));
  assertEquals(parseCustomQueueError(b("Xnot a reply\n")), undefined);
  assertEquals(parseCustomQueueError(b("D\n")), undefined);
  assertEquals(parseCustomQueueError(b("D   \n")), undefined);
  assertEquals(parseCustomQueueError(b("")), undefined);
});
