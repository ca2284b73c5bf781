import crypto from "node:crypto";
import { assert, assertEquals, assertThrows } from "../../tests/assert.ts";
import { createRevocationList } from "../../tests/fixtures/tls/pki.ts";
import {
  formatIpAddress,
  nameAttributes,
  OID,
  parseAltNames,
  parseCertificate,
  parseIpAddress,
  parseRevocationList,
  signatureDigest,
} from "./certificate.ts";
import { DerError } from "./der.ts";
import { parsePemBlocks } from "./pem.ts";
import { createCertificate } from "./self_signed.ts";
import { verifyRevocationList } from "./client_certificate.ts";

Deno.test("certificate: IP addresses parse as 4 or 16 octets and print back (RFC 4291, RFC 5952)", () => {
  const cases: Array<[string, string]> = [
    ["127.0.0.1", "127.0.0.1"],
    ["::1", "::1"],
    ["::", "::"],
    ["2001:DB8::1", "2001:db8::1"],
    ["2001:db8:0:0:1:0:0:1", "2001:db8::1:0:0:1"],
    ["fe80:0:0:0:0:0:0:1", "fe80::1"],
    ["1:2:3:4:5:6:7:8", "1:2:3:4:5:6:7:8"],
    ["1:0:3:4:5:6:7:8", "1:0:3:4:5:6:7:8"],
    ["::ffff:192.0.2.1", "::ffff:c000:201"],
  ];
  for (const [text, printed] of cases) {
    const bytes = parseIpAddress(text);
    assert(bytes !== undefined, text);
    assertEquals(formatIpAddress(bytes), printed, text);
  }
  assertEquals(parseIpAddress("10.1.2.3")?.length, 4);
  assertEquals(parseIpAddress("::1")?.length, 16);
  for (
    const text of [
      "mail.example.com",
      "256.1.1.1",
      "1.2.3",
      "01.2.3.4",
      "1:2:3:4:5:6:7",
      "1::2::3",
      "1:2:3:4:5:6:7:8:9",
      "::g",
      "fe80::1%eth0",
      "1.2.3.4::",
    ]
  ) {
    assertEquals(parseIpAddress(text), undefined, text);
  }
});

Deno.test("certificate: parseCertificate reads names and serial as node:crypto does", () => {
  const issued = createCertificate({
    commonName: "Zoë",
    emailAddress: "zoe@example.com",
    altNames: ["zoe@example.org", "10.0.0.1", "host.example.com"],
    usage: "client",
  });
  const x509 = new crypto.X509Certificate(issued.certPem);
  const parsed = parseCertificate(parsePemBlocks(issued.certPem)[0].der);
  assertEquals(parsed.serial, x509.serialNumber.replace(/^0+/, ""));
  assertEquals(nameAttributes(parsed.subject, OID.commonName), ["Zoë"]); // UTF8String
  assertEquals(nameAttributes(parsed.subject, OID.emailAddress), ["zoe@example.com"]);
  assertEquals(parseAltNames(parsed), {
    dns: ["host.example.com"],
    email: ["zoe@example.org"],
    ip: ["10.0.0.1"],
  });
  assertEquals(parsed.notBefore.getTime(), new Date(x509.validFrom).getTime());
  assertThrows(() => parseCertificate(Uint8Array.of(0x30, 0x00)), DerError);
});

Deno.test("certificate: revocation lists parse, and their signatures verify with the CA's key", () => {
  const ca = createCertificate({ commonName: "CRL CA", usage: "ca" });
  const other = createCertificate({ commonName: "Other CA", usage: "ca" });
  const thisUpdate = new Date("2026-01-01T00:00:00Z");
  const nextUpdate = new Date("2026-02-01T00:00:00Z");
  const pem = createRevocationList({
    issuer: ca,
    serials: ["0A", "7F00FF"],
    thisUpdate,
    nextUpdate,
  });
  const list = parseRevocationList(parsePemBlocks(pem)[0].der);
  assertEquals([...list.revoked].sort(), ["7F00FF", "A"]);
  assertEquals(list.thisUpdate, thisUpdate);
  assertEquals(list.nextUpdate, nextUpdate);
  assertEquals(list.signatureAlgorithm, OID.ecdsaWithSha256);
  assertEquals(signatureDigest(list.signatureAlgorithm), "sha256");
  assertEquals(list.issuer, parseCertificate(parsePemBlocks(ca.certPem)[0].der).subject);
  assert(verifyRevocationList(list, new crypto.X509Certificate(ca.certPem)));
  assert(!verifyRevocationList(list, new crypto.X509Certificate(other.certPem)));

  const empty = createRevocationList({ issuer: ca, serials: [], thisUpdate });
  const emptyList = parseRevocationList(parsePemBlocks(empty)[0].der);
  assertEquals(emptyList.revoked.size, 0);
  assertEquals(emptyList.nextUpdate, undefined);
  assertEquals(signatureDigest("1.2.840.113549.1.1.10"), undefined); // RSASSA-PSS: not checked
});
