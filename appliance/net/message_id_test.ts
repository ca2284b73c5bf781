import { assertEquals } from "../../tests/assert.ts";
import { findMessageId, HEADER_SNIFF_BYTES, HeaderSniff } from "./message_id.ts";

const bytes = (text: string) => Uint8Array.from(text, (char) => char.charCodeAt(0));

/** The Message-ID a HeaderSniff finds when `text` arrives in pieces of `size` bytes. */
function sniffed(text: string, size: number): string | undefined {
  const sniff = new HeaderSniff();
  const all = bytes(text);
  for (let at = 0; at < all.length; at += size) sniff.push(all.subarray(at, at + size));
  return sniff.messageId();
}

Deno.test("message id: found in LF and CRLF headers, folded, in any case", () => {
  assertEquals(findMessageId(bytes("From: a\nMessage-ID: <1@x>\n\nbody\n")), "<1@x>");
  assertEquals(findMessageId(bytes("From: a\r\nmessage-id:<2@x>\r\n\r\nbody\r\n")), "<2@x>");
  assertEquals(findMessageId(bytes("MESSAGE-ID:\n <3@x>\nTo: b\n\n")), "<3@x>");
  assertEquals(findMessageId(bytes("Message-ID:   \nSubject: s\n\n")), undefined);
  assertEquals(findMessageId(bytes("Subject: s\n\n")), undefined);
});

Deno.test("message id: a Message-ID line in the body is not the header's", () => {
  const text = "Subject: s\n\nMessage-ID: <body@x>\n";
  assertEquals(findMessageId(bytes(text)), undefined);
  for (const size of [1, 2, 3, 7, 1000]) assertEquals(sniffed(text, size), undefined);
  assertEquals(sniffed("Subject: s\r\n\r\nMessage-ID: <body@x>\r\n", 1), undefined);
});

Deno.test("message id: pieces of any size, the empty line split across them", () => {
  const lf = "Received: r\nMessage-ID: <4@x>\nSubject: s\n\nbody\n";
  const crlf = "Received: r\r\nMessage-ID:\r\n\t<5@x>\r\nSubject: s\r\n\r\nbody\r\n";
  for (const size of [1, 2, 3, 5, 11, 64, 4096]) {
    assertEquals(sniffed(lf, size), "<4@x>", `LF, pieces of ${size}`);
    assertEquals(sniffed(crlf, size), "<5@x>", `CRLF, pieces of ${size}`);
  }
});

Deno.test("message id: nothing is kept after the piece in which the header ended", () => {
  for (
    const [head, size] of [["Subject: s\n\n", 1], ["Subject: s\r\n\r\n", 1], [
      "A: b\r\n\r\n",
      3,
    ]] as const
  ) {
    const sniff = new HeaderSniff();
    const all = bytes(head + "body line\n".repeat(100));
    for (let at = 0; at < all.length; at += size) sniff.push(all.subarray(at, at + size));
    assertEquals(sniff.size <= head.length + size, true, `${JSON.stringify(head)}: ${sniff.size}`);
  }
});

Deno.test("message id: a header longer than the first buffer, and the limit", () => {
  const filler = `X-Filler: ${"f".repeat(70)}\n`;
  const long = filler.repeat(200) + "Message-ID: <6@x>\n\nbody\n";
  assertEquals(sniffed(long, 1000), "<6@x>");
  // Past HEADER_SNIFF_BYTES nothing more is looked at.
  const tooLong = filler.repeat(Math.ceil(HEADER_SNIFF_BYTES / filler.length)) +
    "Message-ID: <7@x>\n\n";
  assertEquals(sniffed(tooLong, 4096), undefined);
});

Deno.test("message id: 8-bit bytes are kept one character each", () => {
  assertEquals(sniffed("Message-ID: <\x80\xe9@x>\n\n", 3), "<\x80\xe9@x>");
});
