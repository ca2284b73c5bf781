import { assert, assertEquals } from "../../tests/assert.ts";
import { startLenientMx } from "../../tests/fakes/lenient_mx.ts";
import { DataEncoder } from "./body_encoder.ts";
import { deliverRemote } from "./remote_delivery.ts";
import { makeTestRemote, withMx, ZONE } from "./test_remote.ts";

const text = (bytes: Uint8Array) => new TextDecoder().decode(bytes);
const bytes = (s: string) => new TextEncoder().encode(s);

Deno.test("DataEncoder: CRLF, dot-stuffing across chunks, partial final line", () => {
  const encoder = new DataEncoder();
  const out = [bytes(".a\nb"), bytes("\n"), bytes(".c\n..d\n")].map((c) => text(encoder.push(c)));
  assertEquals(out.join(""), "..a\r\nb\r\n..c\r\n...d\r\n");
  assertEquals(encoder.partialFinalLine, false);
  const partial = new DataEncoder();
  partial.push(bytes("x\ny"));
  assertEquals(partial.partialFinalLine, true);
  assertEquals(new DataEncoder().partialFinalLine, false);
});

/** The encoder's output for BODY, fed in one chunk and split at every possible point. */
function encodeEverySplit(body: string): string {
  const whole = new DataEncoder();
  const expected = text(whole.push(bytes(body)));
  for (let cut = 1; cut < body.length; cut++) {
    const split = new DataEncoder();
    const out = text(split.push(bytes(body.slice(0, cut)))) +
      text(split.push(bytes(body.slice(cut))));
    assertEquals(out, expected, `split at ${cut}`);
    assertEquals(split.partialFinalLine, whole.partialFinalLine, `split at ${cut}`);
  }
  return expected;
}

Deno.test("DataEncoder: a lone CR goes out as CRLF and a dot after it is doubled (RFC 5321 §2.3.8)", () => {
  // A receiver that ends lines at a bare CR would have read "\r.\r" as the end of the data.
  assertEquals(encodeEverySplit("a\r.\rb\n"), "a\r\n..\r\nb\r\n");
  assertEquals(encodeEverySplit("x\n\r.\r\n"), "x\r\n\r\n..\r\n");
  assertEquals(encodeEverySplit(".\r"), "..\r\n");
  assertEquals(encodeEverySplit("\r\r.\n"), "\r\n\r\n..\r\n");
  // CR LF in the queued message is one line end, as notqmail's qmail-remote sends it (not CR CR LF).
  assertEquals(
    encodeEverySplit("Subject: s\r\n\r\nbody\r\n.\r\n"),
    "Subject: s\r\n\r\nbody\r\n..\r\n",
  );
  // A message that ends in a lone CR ends with a line end, not with a partial line.
  const encoder = new DataEncoder();
  assertEquals(text(encoder.push(bytes("last\r"))), "last\r\n");
  assertEquals(encoder.partialFinalLine, false);
});

Deno.test("DataEncoder: a message without CR is encoded exactly as before", () => {
  assertEquals(
    encodeEverySplit("Subject: hi\n\n.hello\n..\n.\nend\n"),
    "Subject: hi\r\n\r\n..hello\r\n...\r\n..\r\nend\r\n",
  );
});

Deno.test("remote: a receiver that ends lines at a bare CR or LF reads the whole body", async () => {
  const mx = await startLenientMx("127.0.0.2");
  const s = await makeTestRemote(ZONE, mx.port);
  try {
    // As qmd smtpd and qmail-smtpd store them: lone CRs kept, CRLF already LF.
    const body = "Subject: cr\n\na\r.\rb\n\r.\r\nc\n.\rd\n..\r.\nend\n";
    const report = await deliverRemote(await s.job("bob@example.test", body), s.ctx);
    assertEquals(report.status, "K", report.text);
    assertEquals(mx.stray, []);
    assertEquals(mx.messages, [
      ["Subject: cr", "", "a", ".", "b", "", ".", "c", ".", "d", "..", ".", "end"],
    ]);
  } finally {
    await s.close();
    await mx.close();
  }
});

Deno.test("remote: a 50 MB message streams with bounded memory", async () => {
  await withMx([{ host: "127.0.0.2", keepBytes: 0 }], async ([mx]) => {
    const s = await makeTestRemote(ZONE, mx.port);
    try {
      const line = ".".repeat(99) + "\n";
      const size = 50 * 1024 * 1024;
      const body = bytes(line.repeat(size / line.length));
      const job = await s.job("big@example.test", body);
      const before = Deno.memoryUsage().rss;
      const report = await deliverRemote(job, s.ctx);
      const after = Deno.memoryUsage().rss;
      assertEquals(report.status, "K");
      assert(mx.messages[0].size > 0);
      console.log(
        `50 MB message: ${mx.messages[0].size} bytes received, RSS growth ${
          ((after - before) / 1048576).toFixed(1)
        } MiB`,
      );
    } finally {
      await s.close();
    }
  });
});
