import { assert, assertEquals } from "../../tests/assert.ts";
import { bytesToString, stringToBytes } from "../bytes.ts";
import { DataReader, rejectedDataOutcome } from "./data.ts";

interface Result {
  body: string;
  done: boolean;
  bareLf: boolean;
  rest: string | null;
  reader: DataReader;
}

/** Feeds `input` in the given pieces and collects everything the reader returned. */
function feed(input: string, sizes: number[] | "whole", options = { databytes: 0 }): Result {
  const reader = new DataReader(options);
  const bytes = stringToBytes(input);
  let body = "";
  let rest: string | null = null;
  let done = false;
  let bareLf = false;
  let offset = 0;
  let turn = 0;
  while (offset < bytes.length && !done) {
    const size = sizes === "whole" ? bytes.length : sizes[turn++ % sizes.length];
    const chunk = reader.push(bytes.subarray(offset, offset + size));
    offset += size;
    for (const piece of chunk.body) body += bytesToString(piece);
    done = chunk.done;
    bareLf = chunk.bareLf;
    if (chunk.rest !== null) {
      rest = bytesToString(chunk.rest) + bytesToString(bytes.subarray(offset));
    }
  }
  return { body, done, bareLf, rest, reader };
}

/** A deterministic PRNG (mulberry32) so random splits are the same on every run. */
function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function randomSizes(seed: number, count: number, max: number): number[] {
  const next = random(seed);
  return Array.from({ length: count }, () => 1 + Math.floor(next() * max));
}

/** Every way of feeding: whole, byte by byte, and seeded random splits. */
function feedAllWays(input: string, options = { databytes: 0 }): Result {
  const whole = feed(input, "whole", options);
  const splits: (number[] | "whole")[] = [[1], [2], [3], [7]];
  for (let seed = 1; seed <= 25; seed++) splits.push(randomSizes(seed, 64, 9));
  for (const sizes of splits) {
    const other = feed(input, sizes, options);
    const label = `split ${JSON.stringify(sizes)} of ${JSON.stringify(input.slice(0, 60))}`;
    assertEquals(other.body, whole.body, label);
    assertEquals(other.done, whole.done, label);
    assertEquals(other.bareLf, whole.bareLf, label);
    assertEquals(other.rest, whole.rest, label);
    assertEquals(other.reader.hops, whole.reader.hops, label);
    assertEquals(other.reader.bytes, whole.reader.bytes, label);
  }
  return whole;
}

Deno.test("CRLF becomes LF and CRLF.CRLF ends the data", () => {
  const result = feedAllWays("Subject: x\r\n\r\nhello\r\n.\r\n");
  assertEquals(result.body, "Subject: x\n\nhello\n");
  assert(result.done);
  assert(!result.bareLf);
  assertEquals(result.rest, "");
});

Deno.test("a message that is only the terminator is empty", () => {
  const result = feedAllWays(".\r\n");
  assertEquals(result.body, "");
  assert(result.done);
  assertEquals(result.reader.bytes, 0);
});

Deno.test("leading dots are removed once", () => {
  const result = feedAllWays("..x\r\n.x\r\n..\r\n...\r\n.\r\n");
  assertEquals(result.body, ".x\nx\n.\n..\n");
});

Deno.test("a CR not followed by LF is kept, as in blast()", () => {
  assertEquals(feedAllWays("a\rb\r\n.\r\n").body, "a\rb\n");
  assertEquals(feedAllWays("a\r\r\n.\r\n").body, "a\r\n");
  assertEquals(feedAllWays("a\r\r\rb\r\n.\r\n").body, "a\r\r\rb\n");
  // `.` CR at a line start, then something else: the dot stays too.
  assertEquals(feedAllWays(".\rx\r\n.\r\n").body, ".\rx\n");
  assertEquals(feedAllWays(".\r\r\n.\r\n").body, ".\r\n");
  assertEquals(feedAllWays("\r.\r\n.\r\n").body, "\r.\n");
});

Deno.test("bytes after the terminator are handed back for pipelining", () => {
  const result = feedAllWays("x\r\n.\r\nQUIT\r\nNOOP\r\n");
  assertEquals(result.body, "x\n");
  assertEquals(result.rest, "QUIT\r\nNOOP\r\n");
});

Deno.test("input after the end is returned as rest", () => {
  const reader = new DataReader({ databytes: 0 });
  assert(reader.push(stringToBytes(".\r\n")).done);
  const again = reader.push(stringToBytes("NOOP\r\n"));
  assert(again.done);
  assertEquals(bytesToString(again.rest!), "NOOP\r\n");
  assertEquals(again.body, []);
});

Deno.test("any bare LF stops the data with bareLf", () => {
  for (
    const input of [
      "a\nb\r\n.\r\n",
      "\n.\r\n",
      "a\r\n\nb\r\n.\r\n",
      "a\r\n.\n",
      "a\r\n..\n",
      "a\r\n.x\nb\r\n.\r\n",
    ]
  ) {
    const result = feedAllWays(input);
    assert(result.bareLf, JSON.stringify(input));
    assert(result.done, JSON.stringify(input));
    assertEquals(result.rest, null);
    assertEquals(rejectedDataOutcome(result.reader), { kind: "barelf" });
  }
});

/** docs/reliability.md S1: each of these after "x", then a would-be second transaction. */
const SMUGGLING: [string, boolean][] = [
  ["\n.\n", true],
  ["\r.\r", false],
  ["\r.\n", true],
  ["\n.\r", true],
  ["\n.\r\n", true],
  ["\r\n.\n", true],
  ["\r.\r\n", false],
  ["\r\n.\r", false],
  ["\r\n\0.\r\n", false],
];
const SECOND = "MAIL FROM:<evil@victim.org>\r\nRCPT TO:<b@example.net>\r\nDATA\r\nsmuggled\r\n";

for (const [ending, bareLf] of SMUGGLING) {
  Deno.test(`smuggling: ${JSON.stringify(ending)} does not end DATA`, () => {
    const input = `Subject: s\r\n\r\nx${ending}${SECOND}.\r\nQUIT\r\n`;
    const result = feedAllWays(input);
    assertEquals(result.bareLf, bareLf);
    assert(result.done);
    if (bareLf) {
      assertEquals(result.rest, null);
    } else {
      // Ended only at the real CRLF.CRLF: the would-be commands are body text.
      assertEquals(result.rest, "QUIT\r\n");
      assert(result.body.includes("MAIL FROM:<evil@victim.org>\nRCPT TO:<b@example.net>\nDATA\n"));
      assert(result.body.endsWith("smuggled\n"));
    }
  });
}

Deno.test("smuggling: without the final CRLF.CRLF the data never ends", () => {
  for (const [ending, bareLf] of SMUGGLING) {
    if (bareLf) continue;
    const result = feedAllWays(`x${ending}${SECOND}`);
    assert(!result.done, JSON.stringify(ending));
  }
});

Deno.test("a NUL byte is data and never ends DATA", () => {
  const result = feedAllWays("a\0b\r\n\0.\r\n.\r\n");
  assertEquals(result.body, "a\0b\n\0.\n");
});

Deno.test("databytes: exactly the limit is fine, one more is too big", () => {
  const exact = feedAllWays("123456789\r\n".repeat(10) + ".\r\n", { databytes: 100 });
  assertEquals(exact.reader.bytes, 100);
  assert(!exact.reader.tooBig);
  assertEquals(rejectedDataOutcome(exact.reader), null);

  const over = feedAllWays("123456789\r\n".repeat(10) + "x\r\n.\r\n", { databytes: 100 });
  assertEquals(over.reader.bytes, 102);
  assert(over.reader.tooBig);
  assertEquals(rejectedDataOutcome(over.reader), { kind: "toobig" });
  // The body stops at the limit; the rest is consumed to the terminator.
  assertEquals(over.body.length, 100);
  assert(over.done);
});

Deno.test("databytes counts after dot removal and CRLF conversion", () => {
  const result = feedAllWays("..23456789\r\n".repeat(10) + ".\r\n", { databytes: 100 });
  assertEquals(result.reader.bytes, 100);
  assert(!result.reader.tooBig);
});

Deno.test("databytes 0 is unlimited", () => {
  const result = feedAllWays("x".repeat(5000) + "\r\n.\r\n");
  assertEquals(result.reader.bytes, 5001);
  assert(!result.reader.tooBig);
});

Deno.test("a large message streams in bounded pieces", () => {
  const reader = new DataReader({ databytes: 1000 });
  const line = stringToBytes("y".repeat(998) + "\r\n");
  let emitted = 0;
  let largest = 0;
  for (let i = 0; i < 2000; i++) {
    const chunk = reader.push(line);
    for (const piece of chunk.body) {
      emitted += piece.length;
      largest = Math.max(largest, piece.length);
    }
  }
  assert(!reader.done);
  const end = reader.push(stringToBytes(".\r\n"));
  assert(end.done);
  assertEquals(reader.bytes, 2000 * 999);
  assertEquals(emitted, 1000);
  assert(largest <= line.length + 2);
});

function header(lines: string[], body = "body"): string {
  return lines.map((line) => line + "\r\n").join("") + "\r\n" + body + "\r\n.\r\n";
}

Deno.test("hops: Received and Delivered header lines count, in any case", () => {
  const result = feedAllWays(header([
    "Received: from a",
    "received: from b",
    "RECEIVED",
    "ReCeIvEd-SPF: pass",
    "Delivered-To: x@example.net",
    "DELIVERED: y",
    "X-Received: no",
    " Received: continuation, no",
    "Receive: no",
    "Deliver: no",
    ".Received: a leading dot, no",
  ]));
  assertEquals(result.reader.hops, 6);
});

Deno.test("hops: only the header counts", () => {
  const result = feedAllWays(header(["Received: 1"], "Received: in the body\r\nDelivered-To: too"));
  assertEquals(result.reader.hops, 1);
  // A line of only CR CR LF does not end the header.
  const crcr = feedAllWays("Received: 1\r\n\r\r\nReceived: 2\r\n\r\nReceived: body\r\n.\r\n");
  assertEquals(crcr.reader.hops, 2);
});

Deno.test("hops: 99 pass, 100 loop", () => {
  const ninetyNine = feedAllWays(header(Array(99).fill("Received: x")));
  assert(!ninetyNine.reader.tooManyHops);
  assertEquals(rejectedDataOutcome(ninetyNine.reader), null);
  const hundred = feedAllWays(header([...Array(99).fill("Received: x"), "Delivered-To: y"]));
  assert(hundred.reader.tooManyHops);
  assertEquals(rejectedDataOutcome(hundred.reader), { kind: "hops" });
  const custom = feed(header(["Received: 1", "Received: 2"]), "whole", { databytes: 0 });
  assertEquals(custom.reader.hops, 2);
  const limited = new DataReader({ databytes: 0, maxHops: 2 });
  limited.push(stringToBytes(header(["Received: 1", "Received: 2"])));
  assert(limited.tooManyHops);
});

Deno.test("rejectedDataOutcome follows qmail's order: hops before size", () => {
  const input = header(Array(100).fill("Received: x"), "y".repeat(100));
  const result = feed(input, "whole", { databytes: 10 });
  assert(result.reader.tooBig && result.reader.tooManyHops);
  assertEquals(rejectedDataOutcome(result.reader), { kind: "hops" });
});

Deno.test("DataReader with reuseBuffer gives the same bytes when each chunk is used before the next push", () => {
  const input = new TextEncoder().encode(
    "Subject: a\r\n\r\n..dot\r\nline\r\n".repeat(500) + ".\r\nQUIT\r\n",
  );
  const collect = (reuseBuffer: boolean) => {
    const reader = new DataReader({ databytes: 0, reuseBuffer });
    const parts: number[] = [];
    for (let i = 0; i < input.length; i += 977) {
      const step = reader.push(input.subarray(i, i + 977));
      for (const piece of step.body) parts.push(...piece);
      if (step.done) break;
    }
    return parts;
  };
  assertEquals(collect(true), collect(false));
});
