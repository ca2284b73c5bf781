import { assertEquals, assertThrows } from "../../tests/assert.ts";
import {
  derBitString,
  derElement,
  DerError,
  derExplicit,
  derIa5String,
  derImplicit,
  derInteger,
  derNamedBits,
  derNull,
  derObjectIdentifier,
  derOctetString,
  derPrintableString,
  derSequence,
  derSet,
  derTime,
  parseDer,
  parseDerChildren,
  parseDerInteger,
  parseDerIntegerHex,
  parseDerObjectIdentifier,
  parseDerTime,
} from "./der.ts";

function hex(bytes: Uint8Array): string {
  return [...bytes].map((byte) => byte.toString(16).padStart(2, "0")).join(" ");
}

Deno.test("der: INTEGER in the fewest two's complement octets (X.690 §8.3)", () => {
  const cases: Array<[number | bigint | Uint8Array, string]> = [
    [0, "02 01 00"],
    [127, "02 01 7f"],
    [128, "02 02 00 80"],
    [256, "02 02 01 00"],
    [-1, "02 01 ff"],
    [-128, "02 01 80"],
    [-129, "02 02 ff 7f"],
    [2n ** 64n, "02 09 01 00 00 00 00 00 00 00 00"],
    [Uint8Array.of(0, 0, 1), "02 01 01"],
    [Uint8Array.of(0x80, 1), "02 03 00 80 01"],
    [Uint8Array.of(0, 0), "02 01 00"],
  ];
  for (const [value, want] of cases) {
    const encoded = derInteger(value);
    assertEquals(hex(encoded), want, String(value));
  }
  for (const value of [0, 1, 127, 128, -1, -128, -129, 65535, -65536, 2 ** 40]) {
    assertEquals(parseDerInteger(parseDer(derInteger(value))), value);
  }
  assertEquals(parseDerIntegerHex(parseDer(derInteger(Uint8Array.of(0x80, 0x0a)))), "800A");
  assertEquals(parseDerIntegerHex(parseDer(derInteger(0))), "0");
});

Deno.test("der: OBJECT IDENTIFIER encoding and parsing (X.690 §8.19)", () => {
  assertEquals(hex(derObjectIdentifier("2.5.4.3")), "06 03 55 04 03");
  assertEquals(hex(derObjectIdentifier("1.2.840.113549")), "06 06 2a 86 48 86 f7 0d");
  assertEquals(hex(derObjectIdentifier("1.2.840.10045.4.3.2")), "06 08 2a 86 48 ce 3d 04 03 02");
  assertEquals(hex(derObjectIdentifier("2.999.3")), "06 03 88 37 03");
  for (
    const oid of ["2.5.29.17", "1.3.6.1.5.5.7.3.1", "2.999.3", "0.9.2342", "1.2.840.113549.1.9.1"]
  ) {
    assertEquals(parseDerObjectIdentifier(parseDer(derObjectIdentifier(oid))), oid);
  }
  assertThrows(() => derObjectIdentifier("3.1"), DerError);
  assertThrows(() => derObjectIdentifier("1"), DerError);
});

Deno.test("der: short and long definite lengths", () => {
  assertEquals(hex(derOctetString(new Uint8Array(127))).slice(0, 5), "04 7f");
  assertEquals(hex(derOctetString(new Uint8Array(200))).slice(0, 8), "04 81 c8");
  assertEquals(hex(derOctetString(new Uint8Array(300))).slice(0, 11), "04 82 01 2c");
  assertEquals(parseDer(derOctetString(new Uint8Array(300))).content.length, 300);
  assertEquals(hex(derNull()), "05 00");
});

Deno.test("der: times are UTCTime through 2049, GeneralizedTime from 2050 (RFC 5280 §4.1.2.5)", () => {
  const text = (bytes: Uint8Array) => new TextDecoder().decode(parseDer(bytes).content);
  const late2049 = derTime(new Date("2049-12-31T23:59:59.999Z"));
  assertEquals(late2049[0], 0x17);
  assertEquals(text(late2049), "491231235959Z");
  const in2050 = derTime(new Date("2050-01-01T00:00:00Z"));
  assertEquals(in2050[0], 0x18);
  assertEquals(text(in2050), "20500101000000Z");
  assertEquals(text(derTime(new Date("1950-06-01T01:02:03Z"))), "500601010203Z");
  for (
    const iso of [
      "1950-01-01T00:00:00Z",
      "1999-12-31T23:59:59Z",
      "2026-02-28T12:00:00Z",
      "2050-01-01T00:00:00Z",
      "9999-12-31T23:59:59Z",
    ]
  ) {
    assertEquals(
      parseDerTime(parseDer(derTime(new Date(iso)))).toISOString(),
      new Date(iso).toISOString(),
    );
  }
  assertThrows(() => derTime(new Date("1949-12-31T23:59:59Z")), DerError);
});

Deno.test("der: named bit strings drop trailing zero bits (X.690 §11.2.2)", () => {
  assertEquals(hex(derNamedBits([0])), "03 02 07 80"); // digitalSignature
  assertEquals(hex(derNamedBits([0, 2])), "03 02 05 a0"); // + keyEncipherment
  assertEquals(hex(derNamedBits([0, 5, 6])), "03 02 01 86"); // + keyCertSign, cRLSign
  assertEquals(hex(derNamedBits([8])), "03 03 07 00 80"); // decipherOnly
  assertEquals(hex(derNamedBits([])), "03 01 00");
  assertEquals(hex(derBitString(Uint8Array.of(1, 2))), "03 03 00 01 02");
  assertThrows(() => derBitString(new Uint8Array(0), 3), DerError);
});

Deno.test("der: strings, SET OF sorted, explicit and implicit tags", () => {
  assertEquals(hex(derPrintableString("a.b")), "13 03 61 2e 62");
  assertThrows(() => derPrintableString("a@b"), DerError);
  assertEquals(hex(derIa5String("a@b")), "16 03 61 40 62");
  assertThrows(() => derIa5String("é"), DerError);
  assertEquals(hex(derSet(derInteger(2), derInteger(1))), "31 06 02 01 01 02 01 02");
  assertEquals(hex(derExplicit(0, derInteger(2))), "a0 03 02 01 02");
  assertEquals(hex(derImplicit(2, derIa5String("a"))), "82 01 61");
  assertEquals(hex(derImplicit(0, derSequence(derNull()))), "a0 02 05 00");
});

Deno.test("der: the reader walks nested elements and rejects what is not DER", () => {
  const tree = derSequence(derInteger(1), derSequence(derNull(), derOctetString(Uint8Array.of(9))));
  const [one, inner] = parseDerChildren(parseDer(tree));
  assertEquals(parseDerInteger(one), 1);
  const [nul, octets] = parseDerChildren(inner);
  assertEquals(nul.tag, 0x05);
  assertEquals([...octets.content], [9]);
  assertEquals(inner.tagClass, "universal");
  assertEquals(parseDer(derExplicit(3, derNull())).tagClass, "context");

  assertThrows(() => parseDer(Uint8Array.of(0x30, 0x05, 0x02, 0x01)), DerError); // truncated
  assertThrows(() => parseDer(Uint8Array.of(0x30, 0x80, 0x00, 0x00)), DerError); // indefinite
  assertThrows(() => parseDer(Uint8Array.of(0x04, 0x81, 0x05, 1, 2, 3, 4, 5)), DerError); // not minimal
  assertThrows(() => parseDer(Uint8Array.of(0x05, 0x00, 0x00)), DerError); // trailing
  assertThrows(() => parseDer(Uint8Array.of(0x1f, 0x81, 0x00)), DerError); // high tag number
  assertThrows(() => derElement(0x1f, new Uint8Array(0)), DerError);
});
