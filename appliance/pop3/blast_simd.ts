/**
 * RETR's byte conversion (qmail-pop3d's blast(): LF → CRLF, a "." that
 * starts a line doubled) for chunks without a CR, as a small WebAssembly
 * function that looks at 16 bytes at a time (SIMD) and copies a line with
 * one 16-byte store per 16 bytes. issue 16's profile of 1,000 pipelined
 * 20 KiB RETRs had the JavaScript conversion (maildir_box.ts's blastChunk,
 * a string search and a copy per line) as a fifth of pop3d's CPU; this does
 * the same work in about a fifth of the time. Anything else (a CR in the
 * chunk, TOP's line count, a CR left from the previous chunk) stays with
 * blastChunk, which is also the reference the tests hold this to.
 *
 * The module is assembled here from its instructions (below, one per line,
 * in WebAssembly's text-format names) rather than shipped as an opaque
 * binary. Memory: the input at 0 (READ_BYTES), the output after it (twice
 * that, and 16 bytes of slack for the last 16-byte store).
 */
const INPUT_BYTES = 64 * 1024;
const OUTPUT_AT = INPUT_BYTES;
const PAGES = 4; // 256 KiB: input, output (2 × 64 KiB + 2) and the slack

const LF = 0x0a;
const CR = 0x0d;
const DOT = 0x2e;

// Opcodes (WebAssembly core spec §5.4, SIMD proposal's 0xfd prefix).
const BLOCK = 0x02, LOOP = 0x03, IF = 0x04, ELSE = 0x05, END = 0x0b, VOID = 0x40;
const BR = 0x0c, BR_IF = 0x0d, RETURN = 0x0f;
const GET = 0x20, SET = 0x21, TEE = 0x22;
const LOAD8 = 0x2d, STORE8 = 0x3a, CONST = 0x41;
const EQZ = 0x45, EQ = 0x46, LT_U = 0x49, GT_U = 0x4b, GE_U = 0x4f;
const CTZ = 0x68, ADD = 0x6a, SUB = 0x6b;
const SIMD = 0xfd;
const V128_LOAD = [SIMD, 0x00, 0, 0], V128_STORE = [SIMD, 0x0b, 0, 0];
const SPLAT = [SIMD, 0x0f], I8X16_EQ = [SIMD, 0x23], V128_OR = [SIMD, 0x50];
const BITMASK = [SIMD, 0x64];
const I32 = 0x7f, V128 = 0x7b;

// Locals: the parameters (input start, length, output start, whether the
// chunk starts a line), then i (input position), o (output position),
// mask, k (the line end's place in the 16 bytes), byte, and the 16 bytes.
const SRC = 0, END_AT = 1, DST = 2, LINE_START = 3;
const I = 4, O = 5, MASK = 6, K = 7, BYTE = 8, V = 9;

/** o += n */
function advance(local: number, n: number): number[] {
  return [GET, local, CONST, n, ADD, SET, local];
}

/** If the byte at i (i < end) is a ".", write another: a line's leading dot. */
// deno-fmt-ignore
const STUFF_DOT = [
  GET, I, GET, END_AT, LT_U, IF, VOID,
  GET, I, LOAD8, 0, 0, CONST, DOT, EQ, IF, VOID,
  GET, O, CONST, DOT, STORE8, 0, 0, ...advance(O, 1),
  END,
  END,
];

/** CRLF at o. */
// deno-fmt-ignore
const LINE_END = [
  GET, O, CONST, CR, STORE8, 0, 0,
  GET, O, CONST, LF, STORE8, 0, 1,
  ...advance(O, 2),
];

// deno-fmt-ignore
const BODY = [
  // end = src + length; i = src; o = dst; a "." first when the chunk starts a line.
  GET, SRC, GET, END_AT, ADD, SET, END_AT,
  GET, SRC, SET, I,
  GET, DST, SET, O,
  GET, LINE_START, IF, VOID, ...STUFF_DOT, END,
  // 16 bytes at a time: store them all, then keep those before the first LF.
  BLOCK, VOID,
  LOOP, VOID,
  GET, I, CONST, 16, ADD, GET, END_AT, GT_U, BR_IF, 1,
  GET, I, ...V128_LOAD, SET, V,
  GET, O, GET, V, ...V128_STORE,
  GET, V, CONST, LF, ...SPLAT, ...I8X16_EQ,
  GET, V, CONST, CR, ...SPLAT, ...I8X16_EQ,
  ...V128_OR, ...BITMASK, TEE, MASK, EQZ,
  IF, VOID, ...advance(I, 16), ...advance(O, 16), BR, 1, END,
  GET, MASK, CTZ, SET, K,
  GET, I, GET, K, ADD, TEE, I, LOAD8, 0, 0, CONST, CR, EQ,
  IF, VOID, CONST, 0x7f /* -1 */, RETURN, END,
  ...advance(I, 1),
  GET, O, GET, K, ADD, SET, O,
  ...LINE_END, ...STUFF_DOT,
  BR, 0,
  END,
  END,
  // The last bytes (fewer than 16) one at a time.
  BLOCK, VOID,
  LOOP, VOID,
  GET, I, GET, END_AT, GE_U, BR_IF, 1,
  GET, I, LOAD8, 0, 0, SET, BYTE, ...advance(I, 1),
  GET, BYTE, CONST, LF, EQ,
  IF, VOID, ...LINE_END, ...STUFF_DOT,
  ELSE,
  GET, BYTE, CONST, CR, EQ, IF, VOID, CONST, 0x7f /* -1 */, RETURN, END,
  GET, O, GET, BYTE, STORE8, 0, 0, ...advance(O, 1),
  END,
  BR, 0,
  END,
  END,
  GET, O, GET, DST, SUB,
  END,
];

/** "\0asm", version 1. */
const MAGIC_AND_VERSION = [0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00];

function section(id: number, content: number[]): number[] {
  return [id, ...unsignedLeb(content.length), ...content];
}

function unsignedLeb(value: number): number[] {
  const bytes: number[] = [];
  do {
    let byte = value & 0x7f;
    value >>>= 7;
    if (value !== 0) byte |= 0x80;
    bytes.push(byte);
  } while (value !== 0);
  return bytes;
}

function moduleBytes(): Uint8Array<ArrayBuffer> {
  const name = (text: string) => [text.length, ...Array.from(text, (ch) => ch.charCodeAt(0))];
  const locals = [2, 5, I32, 1, V128];
  const body = [...locals, ...BODY];
  return new Uint8Array([
    ...MAGIC_AND_VERSION,
    // (func (param i32 i32 i32 i32) (result i32))
    ...section(1, [1, 0x60, 4, I32, I32, I32, I32, 1, I32]),
    ...section(3, [1, 0]),
    ...section(5, [1, 0x00, PAGES]),
    ...section(7, [2, ...name("convert"), 0x00, 0, ...name("memory"), 0x02, 0]),
    ...section(10, [1, ...unsignedLeb(body.length), ...body]),
  ]);
}

export interface SimdBlast {
  /** Read a chunk into this (at most 64 KiB), then convert() it. */
  readonly input: Uint8Array;
  /**
   * The first `length` input bytes converted (RETR, no CR in them);
   * `lineStart` says whether they start a line. A view valid until the next
   * call, or undefined when the chunk holds a CR (blastChunk's to do).
   */
  convert(length: number, lineStart: boolean): Uint8Array | undefined;
}

/** The converter, or undefined where WebAssembly SIMD is not available. */
function createSimdBlast(): SimdBlast | undefined {
  const bytes = moduleBytes();
  if (typeof WebAssembly !== "object" || !WebAssembly.validate(bytes)) return undefined;
  const instance = new WebAssembly.Instance(new WebAssembly.Module(bytes));
  const memory = instance.exports.memory as WebAssembly.Memory;
  const run = instance.exports.convert as (
    src: number,
    length: number,
    dst: number,
    lineStart: number,
  ) => number;
  const input = new Uint8Array(memory.buffer, 0, INPUT_BYTES);
  const output = new Uint8Array(memory.buffer, OUTPUT_AT);
  return {
    input,
    convert(length, lineStart) {
      const written = run(0, length, OUTPUT_AT, lineStart ? 1 : 0);
      return written < 0 ? undefined : output.subarray(0, written);
    },
  };
}

export const simdBlast: SimdBlast | undefined = createSimdBlast();
