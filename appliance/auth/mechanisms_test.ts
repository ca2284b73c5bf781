import { assertEquals } from "../../tests/assert.ts";
import {
  isCramMechanism,
  MECHANISM_BITS,
  mechanismsFromMask,
  parseMechanismName,
  usableMechanisms,
} from "./mechanisms.ts";

Deno.test("mechanisms: seed 000 README.auth bits, masks in a fixed order", () => {
  assertEquals(MECHANISM_BITS, {
    "LOGIN": 1,
    "PLAIN": 2,
    "CRAM-MD5": 4,
    "CRAM-SHA1": 8,
    "CRAM-RIPEMD": 16,
    "DIGEST-MD5": 32,
  });
  // docs/patches.md seed 000 README.auth's defaults and examples.
  assertEquals(mechanismsFromMask(60), ["CRAM-MD5", "CRAM-SHA1", "CRAM-RIPEMD", "DIGEST-MD5"]);
  assertEquals(mechanismsFromMask(63), [
    "LOGIN",
    "PLAIN",
    "CRAM-MD5",
    "CRAM-SHA1",
    "CRAM-RIPEMD",
    "DIGEST-MD5",
  ]);
  assertEquals(mechanismsFromMask(3), ["LOGIN", "PLAIN"]);
  assertEquals(mechanismsFromMask(33), ["LOGIN", "DIGEST-MD5"]);
  assertEquals(mechanismsFromMask(15), ["LOGIN", "PLAIN", "CRAM-MD5", "CRAM-SHA1"]);
  assertEquals(mechanismsFromMask(0), []);
  assertEquals(mechanismsFromMask(64 | 2), ["PLAIN"]);
});

Deno.test("mechanisms: names are case-insensitive; unknown names are undefined", () => {
  assertEquals(parseMechanismName("plain"), "PLAIN");
  assertEquals(parseMechanismName("Cram-Ripemd"), "CRAM-RIPEMD");
  assertEquals(parseMechanismName("digest-md5"), "DIGEST-MD5");
  assertEquals(parseMechanismName("GSSAPI"), undefined);
  assertEquals(parseMechanismName(""), undefined);
  assertEquals(parseMechanismName("PLAIN "), undefined);
  assertEquals(
    (Object.keys(MECHANISM_BITS) as (keyof typeof MECHANISM_BITS)[]).filter(isCramMechanism),
    ["CRAM-MD5", "CRAM-SHA1", "CRAM-RIPEMD"],
  );
});

Deno.test("mechanisms: only those that can succeed are advertised", () => {
  const all = mechanismsFromMask(63);
  assertEquals(usableMechanisms(all, undefined), all);
  assertEquals(usableMechanisms(all, { cram: false, digest: false }), ["LOGIN", "PLAIN"]);
  // A checkpassword program checks CRAM but cannot check DIGEST-MD5.
  assertEquals(usableMechanisms(all, { cram: true, digest: false }), [
    "LOGIN",
    "PLAIN",
    "CRAM-MD5",
    "CRAM-SHA1",
    "CRAM-RIPEMD",
  ]);
  assertEquals(usableMechanisms(all, { cram: true, digest: true }), all);
  assertEquals(usableMechanisms(mechanismsFromMask(60), { cram: false, digest: false }), []);
});
