/**
 * The spool of a message whose head a scan edits: unlinked at once, written
 * to the queue only at the commit in qmail's order (the scan's lines, the
 * checks' lines and Received line, the client's header without dropped
 * fields, the body), and nothing queued when anything fails.
 */
import { assert, assertEquals, assertRejects } from "../../tests/assert.ts";
import { SpooledMessage } from "./message_spool.ts";
import type { MessageSink } from "./smtp_message.ts";

const encode = (text: string) => new TextEncoder().encode(text);

interface FakeSink extends MessageSink {
  chunks: Uint8Array[];
  committed: boolean;
  aborted: boolean;
}

function fakeSink(failCommit = false): FakeSink {
  const sink: FakeSink = {
    qp: "77",
    id: 12n,
    chunks: [],
    committed: false,
    aborted: false,
    write(chunk) {
      sink.chunks.push(chunk.slice());
      return Promise.resolve();
    },
    commit() {
      if (failCommit) return Promise.reject(new Error("disk full"));
      sink.committed = true;
      return Promise.resolve();
    },
    abort() {
      sink.aborted = true;
      return Promise.resolve();
    },
  };
  return sink;
}

function text(sink: FakeSink): string {
  return new TextDecoder().decode(new Uint8Array(sink.chunks.flatMap((chunk) => [...chunk])));
}

function withSpool(body: (directory: string) => Promise<void>): () => Promise<void> {
  return async () => {
    const directory = Deno.makeTempDirSync({ prefix: "qmd-spool-" });
    try {
      await body(directory);
      assertEquals([...Deno.readDirSync(directory)], [], "nothing left in the spool directory");
    } finally {
      Deno.removeSync(directory, { recursive: true });
    }
  };
}

Deno.test(
  "spool: written to the queue at the commit, our lines first, dropped fields out",
  withSpool(async (directory) => {
    const sink = fakeSink();
    let opened = 0;
    const spool = SpooledMessage.open(directory, () => {
      opened++;
      return Promise.resolve(sink);
    }, encode("Received-SPF: pass\nReceived: from x\n"));
    assertEquals([...Deno.readDirSync(directory)], [], "unlinked as soon as it is made");
    const body = "x".repeat(70_000) + "\n";
    const message = "From: a\nAuthentication-Results: mine; spf=pass\n\tmore\nSubject: s\n\n" +
      body;
    const bytes = encode(message);
    for (let at = 0; at < bytes.length; at += 1000) await spool.write(bytes.slice(at, at + 1000));
    assertEquals(opened, 0, "the queue is not opened before the commit");
    spool.setEdit({
      prepend: ["Authentication-Results: mine;\n dkim=none"],
      drops: (field) => field.startsWith("Authentication-Results: mine;"),
    });
    await spool.commit(encode("a@x"), [encode("b@y")]);
    assertEquals(
      text(sink),
      "Authentication-Results: mine;\n dkim=none\nReceived-SPF: pass\nReceived: from x\n" +
        "From: a\nSubject: s\n\n" + body,
    );
    assert(sink.committed);
    assertEquals(spool.qp, "77");
    assertEquals(spool.id, 12n);
  }),
);

Deno.test(
  "spool: a message without a body and one without an empty line keep their bytes",
  withSpool(async (directory) => {
    for (const message of ["From: a\nSubject: s\n", "From: a\n\n", "\nbody only\n", ""]) {
      const sink = fakeSink();
      const spool = SpooledMessage.open(directory, () => Promise.resolve(sink), encode("R: x\n"));
      await spool.write(encode(message));
      await spool.commit(encode(""), [encode("b@y")]);
      assertEquals(text(sink), "R: x\n" + message);
    }
  }),
);

Deno.test(
  "spool: abort before the commit queues nothing; a failed commit aborts the queue message",
  withSpool(async (directory) => {
    let opened = 0;
    const spool = SpooledMessage.open(directory, () => {
      opened++;
      return Promise.resolve(fakeSink());
    }, encode(""));
    await spool.write(encode("From: a\n\nbody\n"));
    await spool.abort();
    assertEquals(opened, 0);
    const failing = fakeSink(true);
    const second = SpooledMessage.open(directory, () => Promise.resolve(failing), encode(""));
    await second.write(encode("From: a\n\nbody\n"));
    const full = await assertRejects(() => second.commit(encode("a@x"), [encode("b@y")]));
    assertEquals(full.message, "disk full");
    assert(failing.aborted, "the queue message was aborted");
    const refused = SpooledMessage.open(
      directory,
      () => Promise.reject(new Error("no queue")),
      encode(""),
    );
    await refused.write(encode("From: a\n\nbody\n"));
    const none = await assertRejects(() => refused.commit(encode("a@x"), [encode("b@y")]));
    assertEquals(none.message, "no queue");
    await refused.abort();
  }),
);
