import crypto from "node:crypto";
import {
  assert,
  assertEquals,
  assertRejects,
  assertStringIncludes,
  assertThrows,
} from "../../tests/assert.ts";
import { createRevocationList } from "../../tests/fixtures/tls/pki.ts";
import {
  CertificateError,
  nameAttributes,
  OID,
  parseCertificate,
  parseRevocationList,
  verifyRevocationList,
} from "./certificate.ts";
import { parsePemBlocks } from "./pem.ts";
import { createCertificate } from "./self_signed.ts";

function der(pem: string): Uint8Array {
  return parsePemBlocks(pem)[0].der;
}

Deno.test("certificate: subjectAltName addresses are written as iPAddress and read back (RFC 4291, RFC 5952)", async () => {
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
  const issued = await createCertificate({
    commonName: "addresses",
    altNames: cases.map(([text]) => text),
    usage: "client",
  });
  const parsed = parseCertificate(der(issued.certPem));
  assertEquals(parsed.altNames.ip, cases.map(([, printed]) => printed));
  assertEquals(parsed.altNames.dns, []);
  const x509 = new crypto.X509Certificate(issued.certPem);
  assert(x509.checkIP("127.0.0.1") !== undefined);
  assert(x509.checkIP("2001:db8::1") !== undefined);

  // Not addresses: a dotted name that is no IPv4 address is a dNSName ...
  const names = await createCertificate({
    commonName: "names",
    altNames: ["256.1.1.1", "01.2.3.4", "1.2.3"],
    usage: "client",
  });
  assertEquals(parseCertificate(der(names.certPem)).altNames, {
    dns: ["256.1.1.1", "01.2.3.4", "1.2.3"],
    email: [],
    ip: [],
  });
  // ... and text with colons that is no IPv6 address is refused.
  for (const text of ["1:2:3:4:5:6:7", "1::2::3", "1:2:3:4:5:6:7:8:9", "::g", "fe80::1%eth0"]) {
    const error = await assertRejects(
      () => createCertificate({ commonName: "bad", altNames: [text], usage: "client" }),
    );
    assertStringIncludes(error.message, "Not a host name, address or e-mail address", text);
  }
});

Deno.test("certificate: parseCertificate reads names and serial as node:crypto does", async () => {
  const issued = await createCertificate({
    commonName: "Zoë",
    emailAddress: "zoe@example.com",
    altNames: ["zoe@example.org", "10.0.0.1", "host.example.com"],
    usage: "client",
  });
  const x509 = new crypto.X509Certificate(issued.certPem);
  const parsed = parseCertificate(der(issued.certPem));
  assertEquals(parsed.serial, x509.serialNumber.replace(/^0+/, ""));
  assertEquals(nameAttributes(parsed.subject, OID.commonName), ["Zoë"]); // UTF8String
  assertEquals(nameAttributes(parsed.subject, OID.emailAddress), ["zoe@example.com"]);
  assertEquals(parsed.altNames, {
    dns: ["host.example.com"],
    email: ["zoe@example.org"],
    ip: ["10.0.0.1"],
  });
  assertEquals(parsed.extendedKeyUsage, [OID.clientAuth]);
  assertEquals(parsed.notBefore.getTime(), new Date(x509.validFrom).getTime());
  assertEquals(parsed.notAfter.getTime(), new Date(x509.validTo).getTime());
  assertThrows(() => parseCertificate(Uint8Array.of(0x30, 0x00)), CertificateError);
  assertThrows(() => parseCertificate(new TextEncoder().encode("junk")), CertificateError);
});

Deno.test("certificate: an otherName in subjectAltName is passed over, the entries qmd uses are kept", () => {
  // openssl req -x509 -subj /CN=alice -addext "extendedKeyUsage=clientAuth" -addext
  //   "subjectAltName=otherName:1.3.6.1.5.5.7.8.9;UTF8:bob@example.com,email:alice@example.org"
  // (an SmtpUTF8Mailbox, RFC 8398 §3: a name the parser has no text form for).
  const pem = [
    "-----BEGIN CERTIFICATE-----",
    "MIIByjCCAXGgAwIBAgIUeo+OLGCmqULg4WuDqDwzylx5hAEwCgYIKoZIzj0EAwIw",
    "EDEOMAwGA1UEAwwFYWxpY2UwIBcNMjYxMjAyMDYzODMwWhgPMjEyNjExMDgwNjM4",
    "MzBaMBAxDjAMBgNVBAMMBWFsaWNlMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE",
    "YsplaNY+M5K13IKvhrXSylP6FFIL71z565oCXX0YGXKSPFXu6T1X22iPUIIMExQW",
    "pjP2hAf/yOAbA5teae2DWqOBpjCBozAdBgNVHQ4EFgQUQL1ppUJrsQMkErVdKTyg",
    "bHNrawwwHwYDVR0jBBgwFoAUQL1ppUJrsQMkErVdKTygbHNrawwwDwYDVR0TAQH/",
    "BAUwAwEB/zA7BgNVHREENDAyoB0GCCsGAQUFBwgJoBEMD2JvYkBleGFtcGxlLmNv",
    "bYERYWxpY2VAZXhhbXBsZS5vcmcwEwYDVR0lBAwwCgYIKwYBBQUHAwIwCgYIKoZI",
    "zj0EAwIDRwAwRAIgeCVSG6nwIQwnOoduPqoWoIwuj5rKlOiWkpQpd/lYnjcCIBFW",
    "XTnko8z1iCaLMEXJ3sSlX8Ukmx18SLPM8SXYylXs",
    "-----END CERTIFICATE-----",
  ].join("\n");
  const parsed = parseCertificate(der(pem));
  assertEquals(parsed.altNames, { dns: [], email: ["alice@example.org"], ip: [] });
  assertEquals(parsed.extendedKeyUsage, [OID.clientAuth]);
});

Deno.test("certificate: revocation lists parse, and their signatures verify with the CA's key", async () => {
  const ca = await createCertificate({ commonName: "CRL CA", usage: "ca" });
  const other = await createCertificate({ commonName: "Other CA", usage: "ca" });
  const thisUpdate = new Date("2026-01-01T00:00:00Z");
  const nextUpdate = new Date("2026-02-01T00:00:00Z");
  const pem = await createRevocationList({
    issuer: ca,
    serials: ["0A", "7F00FF"],
    thisUpdate,
    nextUpdate,
  });
  const list = parseRevocationList(der(pem));
  assertEquals([...list.revoked].sort(), ["7F00FF", "A"]);
  assertEquals(list.thisUpdate, thisUpdate);
  assertEquals(list.nextUpdate, nextUpdate);
  assertEquals(list.issuer, parseCertificate(der(ca.certPem)).subject);
  assertEquals(nameAttributes(list.issuer, OID.commonName), ["CRL CA"]);
  assert(await verifyRevocationList(list, der(ca.certPem)));
  assert(!await verifyRevocationList(list, der(other.certPem)));

  const empty = await createRevocationList({ issuer: ca, serials: [], thisUpdate });
  const emptyList = parseRevocationList(der(empty));
  assertEquals(emptyList.revoked.size, 0);
  assertEquals(emptyList.nextUpdate, undefined);
  assertThrows(() => parseRevocationList(der(ca.certPem)), CertificateError);
});
