import { assert, assertEquals, assertThrows } from "../../tests/assert.ts";
import { bytesToString, stringToBytes } from "../bytes.ts";
import {
  EnvelopeError,
  EnvelopeParser,
  formatChannelRecord,
  formatEnvelope,
  formatIntd,
  parseChannelFile,
  parseEnvelope,
  parseInfo,
  parseTodo,
} from "./envelope.ts";

const b = (text: string) => stringToBytes(text);

function envelopeError(bytes: Uint8Array): EnvelopeError {
  return assertThrows(() => parseEnvelope(bytes), EnvelopeError);
}

Deno.test("parseEnvelope reads the sender and the recipients", () => {
  const envelope = parseEnvelope(b("Fa@b.c\0Tx@y.z\0Tu@v\0\0"));
  assertEquals(bytesToString(envelope.sender), "a@b.c");
  assertEquals(envelope.recipients.map(bytesToString), ["x@y.z", "u@v"]);
});

Deno.test("parseEnvelope accepts an empty sender, no recipients, and ignores trailing bytes", () => {
  const envelope = parseEnvelope(b("F\0\0garbage"));
  assertEquals(envelope.sender, new Uint8Array(0));
  assertEquals(envelope.recipients, []);
});

Deno.test("parseEnvelope round-trips every byte but NUL, LF included", () => {
  const all = Uint8Array.from({ length: 255 }, (_, i) => i + 1);
  const bytes = formatEnvelope(all, [b("a\nb"), new Uint8Array([0xff, 0x0a, 0x80])]);
  const envelope = parseEnvelope(bytes);
  assertEquals(envelope.sender, all);
  assertEquals(envelope.recipients, [b("a\nb"), new Uint8Array([0xff, 0x0a, 0x80])]);
  assertEquals(formatEnvelope(envelope.sender, envelope.recipients), bytes);
});

Deno.test("parseEnvelope takes 1002-byte addresses and refuses 1003 bytes with exit 11", () => {
  const ok = "a".repeat(1002);
  assertEquals(parseEnvelope(b(`F${ok}\0T${ok}\0\0`)).recipients[0].length, 1002);
  const long = "a".repeat(1003);
  const sender = envelopeError(b(`F${long}\0\0`));
  assertEquals(sender.exitCode, 11);
  assertEquals(sender.temporary, false);
  assertEquals(envelopeError(b(`F\0T${long}\0\0`)).exitCode, 11);
  // qmail-queue dies on the 1003rd byte, before it would see EOF.
  assertEquals(envelopeError(b(`F${long}`)).exitCode, 11);
});

Deno.test("parseEnvelope refuses a bad record type with exit 91", () => {
  const first = envelopeError(b("Ta@b\0\0"));
  assertEquals(first.exitCode, 91);
  assertEquals(first.temporary, true);
  assertEquals(envelopeError(b("Fa@b\0Xc@d\0\0")).exitCode, 91);
});

Deno.test("parseEnvelope refuses a truncated envelope with exit 54", () => {
  for (const text of ["", "F", "Fa@b", "Fa@b\0", "Fa@b\0Tc@d", "Fa@b\0Tc@d\0"]) {
    const error = envelopeError(b(text));
    assertEquals(error.exitCode, 54, JSON.stringify(text));
    assertEquals(error.temporary, true);
  }
});

Deno.test("EnvelopeParser gives the same result fed one byte at a time", () => {
  const bytes = formatEnvelope(b("s\n@x"), [b("a".repeat(1002)), b(""), b("r@\xff")]);
  const parser = new EnvelopeParser();
  let result;
  for (let i = 0; i < bytes.length; i++) {
    result = parser.push(bytes.subarray(i, i + 1));
    assertEquals(result === undefined, i < bytes.length - 1, `byte ${i}`);
  }
  assertEquals(result, parseEnvelope(bytes));
  assertEquals(parser.push(b("more")), result, "bytes after the end are ignored");
  assertEquals(parser.finish(), result);
});

Deno.test("EnvelopeParser fails as soon as the envelope is wrong", () => {
  const long = new EnvelopeParser();
  assertEquals(long.push(b("F" + "a".repeat(600))), undefined);
  assertEquals(assertThrows(() => long.push(b("a".repeat(403))), EnvelopeError).exitCode, 11);
  const type = new EnvelopeParser();
  assertEquals(type.push(b("Fa\0Tb\0")), undefined);
  assertEquals(assertThrows(() => type.push(b("?")), EnvelopeError).exitCode, 91);
  const eof = new EnvelopeParser();
  assertEquals(eof.push(b("Fa\0Tb")), undefined);
  assertEquals(assertThrows(() => eof.finish(), EnvelopeError).exitCode, 54);
});

Deno.test("formatEnvelope writes the client byte format", () => {
  assertEquals(bytesToString(formatEnvelope(b("s"), [b("r1"), b("r2")])), "Fs\0Tr1\0Tr2\0\0");
  assertEquals(bytesToString(formatEnvelope(b(""), [])), "F\0\0");
});

Deno.test("formatIntd writes u, p, F and T records without a final extra NUL", () => {
  const bytes = formatIntd("1000", "4711", b("a@b"), [b("x@y"), b("z\n@w")]);
  assertEquals(bytesToString(bytes), "u1000\0p4711\0Fa@b\0Tx@y\0Tz\n@w\0");
});

Deno.test("parseTodo reads what formatIntd writes", () => {
  const todo = parseTodo(formatIntd("0", "12", b("s\xff"), [b("r1"), b("")]));
  assertEquals(todo, {
    uid: "0",
    pid: "12",
    sender: b("s\xff"),
    recipients: [b("r1"), b("")],
    unknown: false,
  });
});

Deno.test("parseTodo flags unknown records and ignores an unterminated tail", () => {
  assertEquals(parseTodo(b("Fs\0Tr\0Tpartial")).recipients, [b("r")]);
  const unknown = parseTodo(b("Fs\0Xz\0Tr\0"));
  assertEquals(unknown.unknown, true);
  assertEquals(unknown.recipients, []);
  assertEquals(parseTodo(b("Fs\0\0")).unknown, true);
});

Deno.test("parseChannelFile gives offsets and done flags", () => {
  const bytes = b("Ta@b\0Dc@d\0T\0Tpartial");
  assertEquals(parseChannelFile(bytes), [
    { offset: 0, done: false, address: b("a@b") },
    { offset: 5, done: true, address: b("c@d") },
    { offset: 10, done: false, address: b("") },
  ]);
  assertEquals(parseChannelFile(b("Ta\0Xb\0Tc\0")).length, 1);
});

Deno.test("formatChannelRecord writes T, the address and a NUL", () => {
  assertEquals(formatChannelRecord(b("a")), b("Ta\0"));
  assertEquals(
    formatChannelRecord(new Uint8Array([1, 10, 255])),
    new Uint8Array([84, 1, 10, 255, 0]),
  );
});

Deno.test("parseInfo reads the F record", () => {
  assertEquals(parseInfo(b("Fa@b\0")), b("a@b"));
  assertEquals(parseInfo(b("F\0")), b(""));
  assertEquals(parseInfo(b("F#@[]\0Fother\0")), b("#@[]"));
  assertEquals(parseInfo(b("Ta@b\0")), undefined);
  assertEquals(parseInfo(b("Fa@b")), undefined);
  assertEquals(parseInfo(b("")), undefined);
});

Deno.test("bytesToString and stringToBytes map one byte to one char", () => {
  const all = Uint8Array.from({ length: 256 }, (_, i) => i);
  const text = bytesToString(all);
  assertEquals(text.length, 256);
  assertEquals(text.charCodeAt(200), 200);
  assertEquals(stringToBytes(text), all);
  const big = new Uint8Array(100_000).fill(0x41);
  assertEquals(bytesToString(big).length, 100_000);
  assert(stringToBytes("\u20ac").length === 3, "chars above 255 are UTF-8 encoded");
});
