/**
 * DKIM signing (dkim_sign.ts): messages we sign verify with mailauth's
 * verifier (another code path than the signer: it parses the header we
 * wrote and fetches the key from a resolver), for RSA and Ed25519, with the
 * line ends and dot lines a queued message has; the key choice; and a 5 MB
 * message read in bounded chunks only.
 */
import { assert, assertEquals, assertMatch } from "../../tests/assert.ts";
import { DATA_CHUNK, streamBody } from "./body_encoder.ts";
import { type MessageFile, signMessage, withDkimSignature } from "./dkim_sign.ts";
import { chooseDkimKeys, findFromDomain } from "./dkim_choice.ts";
import { makeDkimKey, MemoryFile, verifyDkim } from "./test_dkim.ts";

async function readAll(file: MessageFile): Promise<Uint8Array> {
  await file.seek(0, Deno.SeekMode.Start);
  const parts: number[] = [];
  const buffer = new Uint8Array(1000);
  for (let count = await file.read(buffer); count !== null; count = await file.read(buffer)) {
    parts.push(...buffer.subarray(0, count));
  }
  return new Uint8Array(parts);
}

/** What the receiver reads after DATA: the signed message streamed and un-dot-stuffed. */
async function sendThrough(file: MessageFile): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  await file.seek(0, Deno.SeekMode.Start);
  assertEquals(
    await streamBody(file, (bytes) => (parts.push(bytes.slice()), Promise.resolve())),
    "sent",
  );
  const text = new TextDecoder("latin1").decode(new Uint8Array(parts.flatMap((part) => [...part])));
  assert(text.endsWith("\r\n.\r\n"));
  const data = text.slice(0, -3).replace(/\r\n\.\./g, "\r\n.");
  return Uint8Array.from(data, (c) => c.charCodeAt(0));
}

const MESSAGE = "Received: (qmail 1 invoked by uid 1000); 3 Dec 2026 06:00:00 -0000\n" +
  "From: Joe <joe@example.test>\nTo: far@remote.example\nSubject: hello\n" +
  "Date: Thu, 3 Dec 2026 06:00:00 +0000\nMessage-ID: <1@example.test>\n\n" +
  "a line\n.a line with a dot\nlone\rcr\r\nand crlf  \n\n\n";
/** The same without CR: LF line ends only, as qmail queues a message. */
const PLAIN = MESSAGE.replace(/\r\n?/g, "\n");

for (const algorithm of ["rsa", "ed25519"] as const) {
  Deno.test(`dkim sign: a queued message signed with ${algorithm} verifies as the receiver reads it`, async () => {
    const key = makeDkimKey("example.test", `qmd-${algorithm}`, algorithm);
    const file = new MemoryFile(MESSAGE);
    const sent = await withDkimSignature(
      file,
      file.bytes.length,
      "joe@example.test",
      [key],
      new Date(),
    );
    assert(!("failed" in sent));
    assert(sent.file !== file, "signed");
    const received = await sendThrough(sent.file);
    const text = new TextDecoder().decode(received);
    assertMatch(
      text,
      /^DKIM-Signature: v=1; a=(rsa|ed25519)-sha256; c=relaxed\/relaxed; d=example\.test;/,
    );
    assertEquals(
      sent.size,
      (await readAll(sent.file)).length,
      "the size counts the fields in front",
    );
    assertEquals(await verifyDkim(received, [key]), [
      {
        result: "pass",
        domain: "example.test",
        selector: `qmd-${algorithm}`,
        algorithm: `${algorithm}-sha256`,
      },
    ]);
    // One changed body byte and the signature no longer verifies: the test can fail.
    const tampered = text.replace("a line with a dot", "a line with a dog");
    // (mailauth says "neutral" for a body hash that does not match.)
    assert((await verifyDkim(tampered, [key]))[0].result !== "pass");
  });
}

Deno.test("dkim sign: every key of the From: domain signs (RSA and Ed25519)", async () => {
  const keys = [
    makeDkimKey("example.test", "a", "rsa"),
    makeDkimKey("example.test", "b", "ed25519"),
    makeDkimKey("other.test", "c", "ed25519"),
  ];
  const outcome = await signMessage(new MemoryFile(PLAIN), "joe@example.test", keys, new Date());
  assert(outcome.kind === "signed");
  assertEquals(outcome.selectors, ["a", "b"]);
  const signed = new TextDecoder().decode(outcome.header) + PLAIN;
  assert(!signed.includes("\r"), "LF line ends in front of the queued message");
  const results = await verifyDkim(signed.replace(/\r?\n/g, "\r\n"), keys);
  assertEquals(results.map((entry) => `${entry.selector} ${entry.result}`).sort(), [
    "a pass",
    "b pass",
  ]);
});

Deno.test("dkim choice: the From: domain, its parents, the envelope without From:, never another", () => {
  const keys = [makeDkimKey("example.test", "s", "ed25519")];
  const choose = (header: string, sender = "bounce@elsewhere.test") =>
    chooseDkimKeys(findFromDomain(header), sender, keys).map((key) => key.domain);
  assertEquals(choose("From: joe@example.test\n\n"), ["example.test"]);
  assertEquals(choose('From: "a, b" <joe@Lists.Example.TEST.>\n\n'), ["example.test"]);
  assertEquals(choose("From: (x@y.test) joe@example.test\n\n"), ["example.test"]);
  assertEquals(choose("from:\n  joe@example.test\n\n"), ["example.test"], "folded");
  assertEquals(choose("From: joe@elsewhere.test\n\n", "joe@example.test"), [], "foreign From:");
  assertEquals(choose("Subject: x\n\n", "joe@example.test"), ["example.test"], "no From:");
  assertEquals(choose("Subject: x\n\n", ""), [], "a bounce without From:");
  assertEquals(choose("From: a@example.test\nFrom: b@example.test\n\n"), []);
  assertEquals(choose("From: a@example.test, b@elsewhere.test\n\n"), []);
  assertEquals(choose("From: a@example.test, b@example.test\n\n"), ["example.test"]);
  assertEquals(choose("Subject: x\n\nFrom: joe@example.test\n", "x@elsewhere.test"), [], "body");
  assertEquals(findFromDomain("From: undisclosed:;\n\n").kind, "unusable");
});

Deno.test("dkim sign: no key, a foreign From: or an endless header block: sent as it is", async () => {
  const key = makeDkimKey("example.test", "s", "ed25519");
  const file = new MemoryFile(MESSAGE.replace("joe@example.test>", "joe@elsewhere.test>"));
  const sent = await withDkimSignature(file, 10, "joe@example.test", [key], new Date());
  assertEquals(sent, { file, size: 10 });
  assertEquals((await signMessage(file, "joe@example.test", [], new Date())).kind, "unsigned");
  const long = new MemoryFile(`From: joe@example.test\n${"X-Long: y\n".repeat(30_000)}`);
  assertEquals(await signMessage(long, "joe@example.test", [key], new Date()), {
    kind: "unsigned",
    reason: "header block too long",
  });
});

Deno.test("dkim sign: a 5 MB message is read in bounded chunks, twice, and still verifies", async () => {
  const key = makeDkimKey("example.test", "big", "rsa");
  const line = `${"z".repeat(76)}\n`;
  const body = line.repeat(Math.ceil(5 * 1024 * 1024 / line.length));
  const file = new MemoryFile(PLAIN + body);
  const outcome = await signMessage(file, "joe@example.test", [key], new Date());
  assert(outcome.kind === "signed");
  // Every read asks for at most DATA_CHUNK bytes: the file is never read whole.
  assert(file.reads.every((size) => size <= DATA_CHUNK), `reads of ${Math.max(...file.reads)}`);
  const chunks = Math.ceil(file.bytes.length / DATA_CHUNK);
  assert(
    file.reads.length >= chunks && file.reads.length <= chunks + 3,
    `${file.reads.length} reads`,
  );
  const signed = new TextDecoder().decode(outcome.header) + PLAIN + body;
  assertEquals((await verifyDkim(signed.replace(/\n/g, "\r\n"), [key]))[0].result, "pass");
});

Deno.test("dkim sign: the jobs of one message (one per recipient) share one signing", async () => {
  const keys = [makeDkimKey("example.test", "s", "ed25519")];
  const file = new MemoryFile(PLAIN);
  const sign = (identity: string, sender = "joe@example.test") =>
    withDkimSignature(file, file.bytes.length, sender, keys, new Date(), identity);
  const [first, second] = await Promise.all([sign("mess/1/1 7 100 5"), sign("mess/1/1 7 100 5")]);
  const reads = file.reads.length;
  const third = await sign("mess/1/1 7 100 5");
  assertEquals(file.reads.length, reads, "not read again");
  const header = async (sent: typeof first) => {
    assert(!("failed" in sent));
    return new TextDecoder().decode(await readAll(sent.file)).split("Received:")[0];
  };
  assertEquals(await header(second), await header(first));
  assertEquals(await header(third), await header(first));
  await sign("mess/1/1 7 100 6");
  assert(file.reads.length > reads, "another version of the file is signed again");
});
