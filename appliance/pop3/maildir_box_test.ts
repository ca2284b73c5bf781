import { assert, assertEquals, assertRejects } from "../../tests/assert.ts";
import {
  LOCK_FILE,
  MaildirBox,
  MaildirBoxError,
  type Pop3Message,
  TMP_MAX_AGE_SECONDS,
  uidlOf,
  UNLINK_FAILED,
} from "./maildir_box.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();
/** A fixed scan time (whole second) for the tests. */
const NOW = new Date(1_700_000_000_000);
const T = NOW.getTime() / 1000;

async function withMaildir(body: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "qmd-pop3-box-" });
  try {
    for (const sub of ["tmp", "new", "cur"]) Deno.mkdirSync(`${dir}/${sub}`);
    await body(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** Writes Maildir/name with the given mtime (seconds) and returns its size. */
function put(dir: string, name: string, content: string | Uint8Array, mtime = T - 60): number {
  const bytes = typeof content === "string" ? encoder.encode(content) : content;
  Deno.writeFileSync(`${dir}/${name}`, bytes);
  Deno.utimeSync(`${dir}/${name}`, mtime, mtime);
  return bytes.length;
}

async function open(dir: string, now = NOW): Promise<MaildirBox> {
  const box = await MaildirBox.open(dir, now);
  assert(box !== "in-use", "the Maildir should not be locked");
  return box;
}

async function collect(
  box: MaildirBox,
  message: Pop3Message,
  lines?: number,
): Promise<{ result: string; bytes: Uint8Array; writes: number[] }> {
  const parts: Uint8Array[] = [];
  const result = await box.stream(message, (bytes) => {
    parts.push(bytes.slice());
    return Promise.resolve();
  }, lines);
  const bytes = new Uint8Array(parts.reduce((sum, part) => sum + part.length, 0));
  let offset = 0;
  for (const part of parts) {
    bytes.set(part, offset);
    offset += part.length;
  }
  return { result, bytes, writes: parts.map((part) => part.length) };
}

/**
 * qmail-pop3d's blast() written plainly over the whole file (with this
 * module's CRLF deviation): the reference the streaming version must match.
 */
function referenceBlast(bytes: Uint8Array | string, lines?: number): string {
  const text = typeof bytes === "string" ? bytes : decoder.decode(bytes);
  // A line ends at CRLF, LF or a lone CR (this module's deviation from qmail).
  const complete = text.split(/\r\n|\r|\n/);
  if (complete[complete.length - 1] === "") complete.pop();
  let out = "";
  let inHeaders = true;
  let remaining = lines ?? Infinity;
  for (const line of complete) {
    if (!inHeaders) {
      if (remaining <= 0) break;
      remaining--;
    }
    if (line === "") inHeaders = false;
    else if (line.startsWith(".")) out += ".";
    out += line + "\r\n";
  }
  return out + "\r\n.\r\n";
}

Deno.test("maildir box: new/ then cur/, by mtime, the mtime rule, dot files and tmp/ skipped", async () => {
  await withMaildir(async (dir) => {
    const sizeA = put(dir, "new/1699999990.a.host", "A: 1\n\nbody\n", T - 10);
    const sizeB = put(dir, "cur/1699999980.b.host:2,S", "B: 2\n\nbody two\n", T - 20);
    put(dir, "new/1699999995.c.host,S=3", "C\n", T - 5);
    put(dir, "cur/1700000000.now.host:2,", "same second as the scan\n", T);
    put(dir, "new/1700000000.now.host", "same second as the scan\n", T + 0.5);
    put(dir, "new/1700000005.future.host", "future\n", T + 5);
    put(dir, "new/.hidden", "dot file\n", T - 100);
    put(dir, "cur/.hidden:2,", "dot file\n", T - 100);
    put(dir, "tmp/1699999000.t.host", "in tmp\n", T - 100);
    Deno.mkdirSync(`${dir}/cur/subdir`);
    Deno.utimeSync(`${dir}/cur/subdir`, T - 100, T - 100);
    const box = await open(dir);
    try {
      assertEquals(box.messages, [
        { name: "cur/1699999980.b.host:2,S", size: sizeB, uidl: "1699999980.b.host" },
        { name: "new/1699999990.a.host", size: sizeA, uidl: "1699999990.a.host" },
        { name: "new/1699999995.c.host,S=3", size: 2, uidl: "1699999995.c.host,S=3" },
      ]);
    } finally {
      box.close();
    }
    // A second later the same-second messages are visible; the future one is not.
    const later = await open(dir, new Date(NOW.getTime() + 1000));
    try {
      assertEquals(later.messages.map((message) => message.name).slice(3).sort(), [
        "cur/1700000000.now.host:2,",
        "new/1700000000.now.host",
      ]);
    } finally {
      later.close();
    }
  });
});

Deno.test("maildir box: uidlOf cuts at the first colon", () => {
  assertEquals(uidlOf("new/123.456.host"), "123.456.host");
  assertEquals(uidlOf("cur/123.456.host:2,FS"), "123.456.host");
  assertEquals(uidlOf("cur/a:b:c"), "a");
});

Deno.test("maildir box: tmp/ entries untouched for 36 hours are removed (atime)", async () => {
  await withMaildir(async (dir) => {
    const old = T - TMP_MAX_AGE_SECONDS - 1;
    Deno.writeFileSync(`${dir}/tmp/old`, encoder.encode("x"));
    Deno.utimeSync(`${dir}/tmp/old`, old, T - 10); // recent mtime: atime decides
    Deno.writeFileSync(`${dir}/tmp/edge`, encoder.encode("x"));
    Deno.utimeSync(`${dir}/tmp/edge`, T - TMP_MAX_AGE_SECONDS, T - TMP_MAX_AGE_SECONDS);
    Deno.writeFileSync(`${dir}/tmp/young`, encoder.encode("x"));
    Deno.utimeSync(`${dir}/tmp/young`, T - 100, old);
    Deno.writeFileSync(`${dir}/tmp/.dot`, encoder.encode("x"));
    Deno.utimeSync(`${dir}/tmp/.dot`, old, old);
    const box = await open(dir);
    box.close();
    const left = [...Deno.readDirSync(`${dir}/tmp`)].map((entry) => entry.name).sort();
    assertEquals(left, [".dot", "edge", "young"]);
  });
});

async function otherProcessOpens(dir: string): Promise<string> {
  const module = new URL("./maildir_box.ts", import.meta.url).href;
  const code = `const { MaildirBox } = await import(${JSON.stringify(module)});
const box = await MaildirBox.open(${JSON.stringify(dir)}, new Date());
console.log(box === "in-use" ? "in-use" : "opened");
if (box !== "in-use") box.close();`;
  const output = await new Deno.Command(Deno.execPath(), {
    args: ["eval", code],
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert(output.success, decoder.decode(output.stderr));
  return decoder.decode(output.stdout).trim();
}

Deno.test("maildir box: one session per Maildir, in this process and in another", async () => {
  await withMaildir(async (dir) => {
    put(dir, "new/1.a.host", "x\n");
    const first = await open(dir);
    try {
      assertEquals(await MaildirBox.open(dir, NOW), "in-use");
      assertEquals(await otherProcessOpens(dir), "in-use");
    } finally {
      first.close();
    }
    first.close(); // idempotent
    const again = await open(dir);
    again.close();
    assertEquals(await otherProcessOpens(dir), "opened");
    // The lock file is a dot file: never a message.
    assert(Deno.statSync(`${dir}/${LOCK_FILE}`).isFile);
  });
});

Deno.test("maildir box: a missing Maildir is an error; create makes one", async () => {
  const parent = await Deno.makeTempDir({ prefix: "qmd-pop3-box-" });
  try {
    const error = await assertRejects(() => MaildirBox.open(`${parent}/Maildir`, NOW));
    assert(error instanceof MaildirBoxError);
    assertEquals(error.temporary, false);
    Deno.mkdirSync(`${parent}/NoCur/new`, { recursive: true });
    const noCur = await assertRejects(() => MaildirBox.open(`${parent}/NoCur`, NOW));
    assert(noCur instanceof MaildirBoxError);
    assertEquals(noCur.message, "This user has no Maildir/cur");
    // The lock was released on the failure.
    Deno.mkdirSync(`${parent}/NoCur/cur`);
    const box = await open(`${parent}/NoCur`);
    box.close();
    const created = await MaildirBox.open(`${parent}/Maildir`, NOW, { create: true });
    assert(created !== "in-use");
    assertEquals(created.messages, []);
    created.close();
    assert(Deno.statSync(`${parent}/Maildir/tmp`).isDirectory);
  } finally {
    await Deno.remove(parent, { recursive: true });
  }
});

Deno.test("maildir box: RETR and TOP bytes (CRLF, dot-stuffing, qmail-pop3d's ending)", async () => {
  await withMaildir(async (dir) => {
    put(dir, "new/1.a.host", "Subject: x\n.Dotted: header\n\n.line\nbody\n..two\n.\nlast", T - 60);
    put(dir, "new/2.b.host", "A: 1\n\nbody\n", T - 50);
    put(dir, "new/3.c.host", "", T - 40);
    put(dir, "new/4.d.host", "A: 1\r\nB: 2\r\n\r\nbody\r\nbare\rcr\r\n.dot\r\n", T - 30);
    put(dir, "new/5.e.host", "no header or body break\nsecond\n", T - 20);
    put(dir, "new/6.f.host", "A: 1\n\n\n\nafter blanks\n", T - 10);
    const box = await open(dir);
    try {
      const [a, b, c, d, e, f] = box.messages;
      const retr = async (message: Pop3Message, lines?: number) => {
        const { result, bytes } = await collect(box, message, lines);
        assertEquals(result, "sent");
        return decoder.decode(bytes);
      };
      assertEquals(
        await retr(a),
        "Subject: x\r\n..Dotted: header\r\n\r\n..line\r\nbody\r\n...two\r\n..\r\nlast\r\n\r\n.\r\n",
      );
      assertEquals(await retr(b), "A: 1\r\n\r\nbody\r\n\r\n.\r\n");
      assertEquals(await retr(c), "\r\n.\r\n");
      assertEquals(await retr(d), "A: 1\r\nB: 2\r\n\r\nbody\r\nbare\r\ncr\r\n..dot\r\n\r\n.\r\n");
      // TOP n 0: the header and its blank line only.
      assertEquals(await retr(a, 0), "Subject: x\r\n..Dotted: header\r\n\r\n\r\n.\r\n");
      assertEquals(await retr(a, 1), "Subject: x\r\n..Dotted: header\r\n\r\n..line\r\n\r\n.\r\n");
      assertEquals(
        await retr(a, 3),
        "Subject: x\r\n..Dotted: header\r\n\r\n..line\r\nbody\r\n" +
          "...two\r\n\r\n.\r\n",
      );
      assertEquals(await retr(a, 1000), await retr(a));
      assertEquals(await retr(d, 0), "A: 1\r\nB: 2\r\n\r\n\r\n.\r\n");
      assertEquals(await retr(d, 1), "A: 1\r\nB: 2\r\n\r\nbody\r\n\r\n.\r\n");
      // No blank line: all of it is header, TOP sends everything.
      assertEquals(await retr(e, 0), "no header or body break\r\nsecond\r\n\r\n.\r\n");
      // Blank body lines count as lines.
      assertEquals(await retr(f, 2), "A: 1\r\n\r\n\r\n\r\n\r\n.\r\n");
      assertEquals(await retr(c, 0), "\r\n.\r\n");
      for (const message of box.messages) {
        const raw = Deno.readFileSync(`${dir}/${message.name}`);
        for (const lines of [undefined, 0, 1, 2, 5]) {
          assertEquals(await retr(message, lines), referenceBlast(raw, lines));
        }
      }
    } finally {
      box.close();
    }
  });
});

Deno.test("maildir box: 8-bit messages (UTF-8, stray bytes, a BOM) go out byte for byte", async () => {
  await withMaildir(async (dir) => {
    const latin1 = (text: string) => Uint8Array.from(text, (ch) => ch.charCodeAt(0));
    const chunk = 64 * 1024;
    const utf8 = encoder.encode("Subject: Grüße 🎉\n\n.ünd\nZeile\r\n.\r€\n");
    const bodies = [
      utf8,
      // ISO-8859-1 text: stray bytes, each kept as it is.
      latin1("Subject: caf\xe9\n\n.r\xe9sum\xe9\n\xe9\r.\n\xff\xfe\n"),
      // A UTF-8 byte order mark first, and bytes that are not UTF-8 at all.
      Uint8Array.from([0xef, 0xbb, 0xbf, ...latin1("A: 1\n\n.x\n"), 0xc3, 0x0a, 0x80, 0x2e]),
      // A UTF-8 character split by the first read, a dot line right after.
      new Uint8Array([
        ...new Uint8Array(chunk - 1).fill(0x61),
        ...encoder.encode("ü\n.ä\r\n"),
        ...encoder.encode("ö\n".repeat(30_000)),
      ]),
    ];
    bodies.forEach((body, index) => put(dir, `new/${index + 1}.bit.host`, body, T - 60 + index));
    const box = await open(dir);
    try {
      for (const message of box.messages) {
        const raw = Deno.readFileSync(`${dir}/${message.name}`);
        // The reference over the bytes as Latin-1 characters: one per byte.
        let rawText = "";
        for (const byte of raw) rawText += String.fromCharCode(byte);
        for (const lines of [undefined, 0, 1]) {
          const { bytes } = await collect(box, message, lines);
          assertEquals(bytes, latin1(referenceBlast(rawText, lines)));
        }
      }
    } finally {
      box.close();
    }
  });
});

Deno.test("maildir box: a lone CR ends a line, so \\r.\\r cannot end RETR early", async () => {
  await withMaildir(async (dir) => {
    put(dir, "new/1.cr.host", "A: 1\n\na\r.\rb\r.\r\n.\rend", T - 10);
    const box = await open(dir);
    try {
      const { bytes } = await collect(box, box.messages[0]);
      const text = decoder.decode(bytes);
      assertEquals(text, "A: 1\r\n\r\na\r\n..\r\nb\r\n..\r\n..\r\nend\r\n\r\n.\r\n");
      // Read as a client that ends lines at a bare CR or LF: "." alone comes only at the end.
      const lines = text.split(/\r\n|\r|\n/);
      assertEquals(lines.indexOf("."), lines.length - 2);
    } finally {
      box.close();
    }
  });
});

Deno.test("maildir box: large messages stream in bounded, coalesced writes; chunk edges", async () => {
  await withMaildir(async (dir) => {
    const chunk = 64 * 1024;
    // A CR as the last byte of the first read, LF as the first of the next;
    // a "." starting a line exactly at a read boundary; a lone CR at a boundary.
    const make = (filler: number, tail: string) => {
      const head = "Subject: big\n\n";
      const body = "x".repeat(filler - head.length);
      return head + body + tail;
    };
    const crossing = [
      make(chunk - 1, "\r\n.dot at boundary\n" + "line\n".repeat(40_000)),
      make(chunk - 1, "\n.dot at boundary\n" + ".\n".repeat(70_000)),
      make(chunk - 1, "\rnot a line end\n" + "y".repeat(3 * chunk) + "\n.end"),
      make(2 * chunk, ".\r\n..\r\n\r\n"),
    ];
    crossing.forEach((text, index) => put(dir, `new/${index + 1}.big.host`, text, T - 60 + index));
    const box = await open(dir);
    try {
      for (const message of box.messages) {
        const raw = Deno.readFileSync(`${dir}/${message.name}`);
        for (const lines of [undefined, 0, 3, 50_000]) {
          const { bytes, writes } = await collect(box, message, lines);
          assertEquals(decoder.decode(bytes), referenceBlast(raw, lines));
          // Bounded: no write beyond 192 KiB; coalesced: all but the last ≥ 64 KiB.
          for (const [index, length] of writes.entries()) {
            assert(length <= 3 * chunk + 16, `write of ${length} bytes`);
            if (index < writes.length - 1) assert(length >= chunk, `short write of ${length}`);
          }
        }
      }
      // A small message is one write, ending included.
      put(dir, "new/9.small.host", "A: 1\n\nsmall\n");
      const small = await collect(box, {
        name: "new/9.small.host",
        size: 13,
        uidl: "9.small.host",
      });
      assertEquals(small.writes.length, 1);
    } finally {
      box.close();
    }
  });
});

Deno.test("maildir box: a message that vanished during the session is gone, nothing written", async () => {
  await withMaildir(async (dir) => {
    put(dir, "new/1.a.host", "A: 1\n\nbody\n");
    put(dir, "cur/2.b.host:2,", "B: 1\n\nbody\n", T - 30);
    const box = await open(dir);
    try {
      Deno.removeSync(`${dir}/new/1.a.host`);
      const { result, writes } = await collect(box, box.messages[0]);
      assertEquals(box.messages[0].name, "new/1.a.host");
      assertEquals(result, "gone");
      assertEquals(writes, []);
      // QUIT with the vanished one deleted: fine.
      assertEquals(await box.commit([box.messages[0]]), { ok: true });
      assertEquals([...Deno.readDirSync(`${dir}/cur`)].map((entry) => entry.name), ["2.b.host:2,"]);
    } finally {
      box.close();
    }
  });
});

Deno.test("maildir box: QUIT unlinks, updates maildirsize, moves new/ to cur/ keeping the UIDL", async () => {
  await withMaildir(async (dir) => {
    Deno.writeTextFileSync(`${dir}/maildirsize`, "100000S,100C\n345 4\n");
    put(dir, "new/1.a.host", "A: 1\n\nkeep me\n", T - 40);
    put(dir, "new/2.b.host,S=50", "B: 1\n\ndelete me, size from the name\n", T - 30);
    put(dir, "cur/3.c.host:2,S", "C: 1\n\ndelete me\n", T - 20);
    put(dir, "new/4.d.host", "D: 1\n\nkeep me too\n", T - 10);
    const box = await open(dir);
    const uidls = box.messages.map((message) => message.uidl);
    try {
      const [, b, c] = box.messages;
      assertEquals(await box.commit([b, c]), { ok: true });
      assertEquals(
        Deno.readTextFileSync(`${dir}/maildirsize`),
        `100000S,100C\n345 4\n-${50 + c.size} -2\n`,
      );
    } finally {
      box.close();
    }
    assertEquals([...Deno.readDirSync(`${dir}/new`)], []);
    assertEquals([...Deno.readDirSync(`${dir}/cur`)].map((entry) => entry.name).sort(), [
      "1.a.host:2,",
      "4.d.host:2,",
    ]);
    const next = await open(dir);
    try {
      assertEquals(next.messages.map((message) => message.uidl), [uidls[0], uidls[3]]);
      assertEquals(next.messages.map((message) => message.name), [
        "cur/1.a.host:2,",
        "cur/4.d.host:2,",
      ]);
      // Nothing deleted: maildirsize untouched; no maildirsize: none made.
      assertEquals(await next.commit([]), { ok: true });
    } finally {
      next.close();
    }
    assertEquals(Deno.readTextFileSync(`${dir}/maildirsize`).split("\n").length, 4);
    Deno.removeSync(`${dir}/maildirsize`);
    const last = await open(dir);
    try {
      assertEquals(await last.commit([last.messages[0]]), { ok: true });
    } finally {
      last.close();
    }
    let exists = true;
    try {
      Deno.statSync(`${dir}/maildirsize`);
    } catch {
      exists = false;
    }
    assertEquals(exists, false);
  });
});

Deno.test("maildir box: a failed unlink reports qmail's text and the renames still happen", async () => {
  await withMaildir(async (dir) => {
    put(dir, "new/1.a.host", "A: 1\n\nkeep\n");
    Deno.mkdirSync(`${dir}/cur/2.stuck:2,`);
    Deno.writeTextFileSync(`${dir}/cur/2.stuck:2,/inside`, "x");
    const box = await open(dir);
    try {
      const stuck: Pop3Message = { name: "cur/2.stuck:2,", size: 1, uidl: "2.stuck" };
      assertEquals(await box.commit([stuck]), { ok: false, text: UNLINK_FAILED });
    } finally {
      box.close();
    }
    assertEquals([...Deno.readDirSync(`${dir}/new`)], []);
    assert(Deno.statSync(`${dir}/cur/1.a.host:2,`).isFile);
  });
});

Deno.test("maildir box: a message delivered during the session waits for the next open", async () => {
  await withMaildir(async (dir) => {
    put(dir, "new/1.a.host", "A: 1\n\nfirst\n", T - 60);
    const box = await open(dir);
    try {
      // Delivered after open (qmail-local: tmp/ then link into new/), with an old mtime so
      // only the session's fixed listing keeps it out.
      put(dir, "tmp/2.b.host", "B: 1\n\nsecond\n", T - 30);
      Deno.linkSync(`${dir}/tmp/2.b.host`, `${dir}/new/2.b.host`);
      Deno.removeSync(`${dir}/tmp/2.b.host`);
      assertEquals(box.messages.map((message) => message.uidl), ["1.a.host"]);
      assertEquals(await box.commit([]), { ok: true });
    } finally {
      box.close();
    }
    // QUIT moved only what it listed.
    assertEquals([...Deno.readDirSync(`${dir}/new`)].map((entry) => entry.name), ["2.b.host"]);
    const next = await open(dir);
    try {
      assertEquals(next.messages.map((message) => message.uidl), ["1.a.host", "2.b.host"]);
    } finally {
      next.close();
    }
  });
});

Deno.test("maildir box: a 10,000-message Maildir (scan time and memory printed)", async () => {
  await withMaildir(async (dir) => {
    const count = 10_000;
    const body = encoder.encode("From: a@example.com\nSubject: load\n\n" + "line\n".repeat(40));
    for (let index = 0; index < count; index++) {
      const sub = index % 2 === 0 ? "new" : "cur";
      const name = `${1_699_990_000 + index}.M${index}P1Q1.host${sub === "cur" ? ":2,S" : ""}`;
      Deno.writeFileSync(`${dir}/${sub}/${name}`, body);
      Deno.utimeSync(`${dir}/${sub}/${name}`, 1_699_990_000 + index, 1_699_990_000 + index);
    }
    const heapBefore = Deno.memoryUsage().heapUsed;
    const started = performance.now();
    const box = await open(dir);
    const scanMs = performance.now() - started;
    const heapAfter = Deno.memoryUsage().heapUsed;
    try {
      assertEquals(box.messages.length, count);
      for (let index = 1; index < count; index++) {
        assert(box.messages[index - 1].uidl < box.messages[index].uidl, "mtime order");
      }
      let bytes = 0;
      const retrStarted = performance.now();
      for (const message of box.messages.slice(0, 1000)) {
        await box.stream(message, (chunk) => {
          bytes += chunk.length;
          return Promise.resolve();
        });
      }
      const retrMs = performance.now() - retrStarted;
      const deleted = box.messages.filter((_, index) => index % 3 === 0);
      const moved = box.messages.filter((message, index) =>
        index % 3 !== 0 && message.name.startsWith("new/")
      ).length;
      const commitStarted = performance.now();
      assertEquals(await box.commit(deleted), { ok: true });
      const commitMs = performance.now() - commitStarted;
      console.log(
        `10,000 messages: open+scan ${scanMs.toFixed(1)} ms, listing heap ` +
          `${((heapAfter - heapBefore) / 1024).toFixed(0)} KiB, rss ` +
          `${(Deno.memoryUsage().rss / 1048576).toFixed(1)} MiB; 1,000 RETR ` +
          `${retrMs.toFixed(1)} ms (${
            (bytes / 1048576).toFixed(2)
          } MiB); QUIT (${deleted.length} ` +
          `deleted, ${moved} moved) ` +
          `${commitMs.toFixed(1)} ms`,
      );
    } finally {
      box.close();
    }
    assertEquals([...Deno.readDirSync(`${dir}/new`)].length, 0);
  });
});
