import { assert, assertEquals } from "../../tests/assert.ts";
import { simdBlast } from "./blast_simd.ts";

/** blast() over chunk bytes written plainly; undefined when a CR is in them. */
function reference(bytes: Uint8Array, lineStart: boolean): number[] | undefined {
  const out: number[] = [];
  let atStart = lineStart;
  for (const byte of bytes) {
    if (byte === 0x0d) return undefined;
    if (atStart && byte === 0x2e) out.push(0x2e);
    if (byte === 0x0a) out.push(0x0d, 0x0a);
    else out.push(byte);
    atStart = byte === 0x0a;
  }
  return out;
}

Deno.test("simd blast: Deno's WebAssembly runs it", () => {
  assert(simdBlast !== undefined, "WebAssembly SIMD should be available");
});

Deno.test("simd blast: matches blast() on seeded random chunks, every length up to 64 KiB", () => {
  const blast = simdBlast!;
  let seed = 7;
  const random = () => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648;
  // LF and "." often, so lines of every length and dots at every place (16-byte edges too).
  const alphabet = [0x0a, 0x2e, 0x61, 0xc3, 0xa9, 0x0a, 0x2e, 0x00, 0xff];
  let withCr = 0;
  for (let round = 0; round < 3000; round++) {
    const length = round < 2000 ? round % 100 : Math.floor(random() * blast.input.length + 1);
    const crLikely = round % 5 === 0;
    for (let i = 0; i < length; i++) {
      blast.input[i] = crLikely && random() < 0.01
        ? 0x0d
        : random() < 0.6
        ? 0x78
        : alphabet[Math.floor(random() * alphabet.length)];
    }
    const lineStart = random() < 0.5;
    const expected = reference(blast.input.subarray(0, length), lineStart);
    const got = blast.convert(length, lineStart);
    if (expected === undefined) {
      withCr++;
      assertEquals(got, undefined, `round ${round}: a CR leaves the chunk to blastChunk`);
    } else {
      assert(got !== undefined, `round ${round}: converted`);
      assertEquals(Array.from(got), expected, `round ${round}, ${length} bytes`);
    }
  }
  assert(withCr > 10, "some chunks held a CR");
});
