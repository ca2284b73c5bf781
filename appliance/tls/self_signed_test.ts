import { Buffer } from "node:buffer";
import crypto from "node:crypto";
import tls from "node:tls";
import {
  assert,
  assertEquals,
  assertMatch,
  assertNotEquals,
  assertStringIncludes,
} from "../../tests/assert.ts";
import { handshake } from "../../tests/fixtures/tls/handshake.ts";
import { nameAttributes, OID, parseCertificate } from "./certificate.ts";
import { parsePemBlocks } from "./pem.ts";
import { createCertificate, createSelfSignedCertificate } from "./self_signed.ts";
import { x509 } from "./x509.ts";

const NOW = new Date("2026-03-01T12:00:00Z");

function der(pem: string): Uint8Array {
  return parsePemBlocks(pem)[0].der;
}

/** An extension as it is written: whether critical, and its extnValue's octets. */
function extension(pem: string, oid: string): { critical: boolean; value: number[] } {
  const found = new (x509().X509Certificate)(pem).getExtension(oid);
  assert(found !== null, `extension ${oid}`);
  return { critical: found.critical, value: [...new Uint8Array(found.value)] };
}

/** The SHA-1 of an EC public key's bits (RFC 5280 §4.2.1.2 method 1), hex. */
function ecKeyId(keyPem: string): string {
  const { x, y } = crypto.createPublicKey(keyPem).export({ format: "jwk" });
  const point = Buffer.concat([
    Buffer.of(4),
    Buffer.from(x!, "base64url"),
    Buffer.from(y!, "base64url"),
  ]);
  return crypto.createHash("sha1").update(point).digest("hex");
}

function opensslAvailable(): boolean {
  try {
    return new Deno.Command("openssl", { args: ["version"], stdout: "null", stderr: "null" })
      .outputSync().success;
  } catch {
    return false;
  }
}

const OPENSSL = opensslAvailable();
const NO_OPENSSL = OPENSSL ? "" : " (ignored: no openssl on PATH)";

Deno.test("self-signed: node:crypto reads subject, names, validity; it verifies with its own key", async () => {
  const { certPem, keyPem } = await createSelfSignedCertificate({
    commonName: "mail.example.com",
    altNames: ["mail.example.com", "localhost", "127.0.0.1", "::1"],
    days: 30,
    now: NOW,
  });
  const cert = new crypto.X509Certificate(certPem);
  assertEquals(cert.subject, "CN=mail.example.com");
  assertEquals(cert.issuer, "CN=mail.example.com");
  assertEquals(
    cert.subjectAltName,
    "DNS:mail.example.com, DNS:localhost, IP Address:127.0.0.1, IP Address:::1",
  );
  assertEquals(new Date(cert.validFrom).toISOString(), "2026-03-01T11:00:00.000Z");
  assertEquals(new Date(cert.validTo).toISOString(), "2026-03-31T12:00:00.000Z");
  assert(cert.verify(cert.publicKey), "signature verifies with its own key");
  assertEquals(cert.checkHost("mail.example.com"), "mail.example.com");
  assertEquals(cert.checkHost("localhost"), "localhost");
  assertEquals(cert.checkHost("other.example.com"), undefined);
  assertEquals(cert.checkIP("127.0.0.1"), "127.0.0.1");
  assertEquals(cert.ca, false);
  assertEquals(cert.publicKey.asymmetricKeyType, "ec");
  assertMatch(keyPem, /^-----BEGIN PRIVATE KEY-----\n/); // PKCS#8
  assert(cert.checkPrivateKey(crypto.createPrivateKey(keyPem)));
  assertMatch(cert.serialNumber, /^[1-7][0-9A-F]{31}$/); // 16 octets, positive
  const other = await createSelfSignedCertificate({ commonName: "mail.example.com", now: NOW });
  assertNotEquals(new crypto.X509Certificate(other.certPem).serialNumber, cert.serialNumber);
});

Deno.test("self-signed: X.509 v3 fields and extensions as RFC 5280 wants them", async () => {
  const { certPem, keyPem } = await createSelfSignedCertificate({
    commonName: "mx.example.net",
    now: NOW,
  });
  const bytes = der(certPem);
  const parsed = parseCertificate(bytes);
  assertEquals(parsed.issuer, parsed.subject);
  assertEquals(nameAttributes(parsed.subject, OID.commonName), ["mx.example.net"]);
  assertEquals(parsed.altNames, { dns: ["mx.example.net"], email: [], ip: [] });
  assertEquals(parsed.extendedKeyUsage, [OID.serverAuth]);
  // CA:FALSE is the DEFAULT: an empty SEQUENCE.
  assertEquals(extension(certPem, "2.5.29.19"), { critical: true, value: [0x30, 0x00] });
  // keyUsage digitalSignature: trailing zero bits dropped (X.690 §11.2.2).
  assertEquals(extension(certPem, "2.5.29.15"), {
    critical: true,
    value: [0x03, 0x02, 0x07, 0x80],
  });
  assertEquals(parsed.keyIdentifier, ecKeyId(keyPem));
  // authorityKeyIdentifier [0] keyIdentifier: its own key's, as it signed itself.
  const aki = extension(certPem, "2.5.29.35");
  assertEquals(Buffer.from(aki.value.slice(4)).toString("hex"), ecKeyId(keyPem));
  // Version v3 ([0] INTEGER 2) right after the outer and tbsCertificate headers.
  assertEquals([...bytes.subarray(8, 13)], [0xa0, 0x03, 0x02, 0x01, 0x02]);
});

Deno.test("self-signed: RSA 2048 keys get keyEncipherment and sha256WithRSAEncryption", async () => {
  const { certPem, keyPem } = await createSelfSignedCertificate({
    commonName: "rsa.example.com",
    keyType: "rsa",
    now: NOW,
  });
  const cert = new crypto.X509Certificate(certPem);
  assertEquals(cert.publicKey.asymmetricKeyType, "rsa");
  assertEquals(cert.publicKey.asymmetricKeyDetails?.modulusLength, 2048);
  assert(cert.verify(cert.publicKey));
  assert(cert.checkPrivateKey(crypto.createPrivateKey(keyPem)));
  // digitalSignature, keyEncipherment
  assertEquals(extension(certPem, "2.5.29.15").value, [0x03, 0x02, 0x05, 0xa0]);
});

Deno.test("self-signed: validity past 2049 is a GeneralizedTime that verifiers read", async () => {
  const { certPem } = await createSelfSignedCertificate({
    commonName: "late.example.com",
    days: 3650,
    now: new Date("2045-01-01T00:00:00Z"),
  });
  const cert = new crypto.X509Certificate(certPem);
  assertEquals(new Date(cert.validTo).toISOString(), "2054-12-30T00:00:00.000Z");
  assertEquals(parseCertificate(der(certPem)).notAfter.toISOString(), "2054-12-30T00:00:00.000Z");
});

Deno.test("self-signed: a CA signs server and client certificates that chain to it", async () => {
  const ca = await createCertificate({ commonName: "qmd test CA", usage: "ca", now: NOW });
  const caCert = new crypto.X509Certificate(ca.certPem);
  assertEquals(caCert.ca, true);
  const client = await createCertificate({
    commonName: "alice",
    emailAddress: "alice@example.com",
    altNames: ["alice@example.org"],
    usage: "client",
    issuer: ca,
    now: NOW,
  });
  const cert = new crypto.X509Certificate(client.certPem);
  assertEquals(cert.subject, "CN=alice\nemailAddress=alice@example.com");
  assertEquals(cert.issuer, "CN=qmd test CA");
  assertEquals(cert.subjectAltName, "email:alice@example.org");
  assert(cert.checkIssued(caCert));
  assert(cert.verify(caCert.publicKey));
  assert(!cert.verify(cert.publicKey));
  assertEquals(parseCertificate(der(client.certPem)).extendedKeyUsage, [OID.clientAuth]);
  // authorityKeyIdentifier [0] keyIdentifier is the CA's subjectKeyIdentifier.
  const caKeyId = parseCertificate(der(ca.certPem)).keyIdentifier;
  const aki = extension(client.certPem, "2.5.29.35").value;
  assertEquals(Buffer.from(aki.slice(4)).toString("hex"), caKeyId);
  assertEquals(extension(ca.certPem, "2.5.29.19"), {
    critical: true,
    value: [0x30, 0x03, 0x01, 0x01, 0xff], // CA:TRUE, no pathLenConstraint
  });
  // digitalSignature, keyCertSign, cRLSign
  assertEquals(extension(ca.certPem, "2.5.29.15").value, [0x03, 0x02, 0x01, 0x86]);
});

Deno.test("self-signed: a real TLS handshake on loopback trusts it for its names", async () => {
  for (const keyType of ["ec", "rsa"] as const) {
    const { certPem, keyPem } = await createSelfSignedCertificate({
      commonName: "mail.example.com",
      altNames: ["localhost", "127.0.0.1"],
      keyType,
    });
    const secureContext = tls.createSecureContext({ key: keyPem, cert: certPem });
    const byName = await handshake({
      secureContext,
      client: { ca: certPem, servername: "mail.example.com" },
    });
    assertEquals(byName.authorized, true, keyType);
    assertEquals(byName.serverCommonName, "mail.example.com");
    const byIp = await handshake({ secureContext, client: { ca: certPem } });
    assertEquals(byIp.authorized, true, `${keyType} by IP address`);
    const tls12 = await handshake({
      secureContext,
      client: { ca: certPem, servername: "localhost", maxVersion: "TLSv1.2" },
    });
    assertEquals([tls12.authorized, tls12.protocol], [true, "TLSv1.2"]);
    const wrongName = await handshake({
      secureContext,
      client: { ca: certPem, servername: "other.example.com", rejectUnauthorized: false },
    });
    assertEquals(wrongName.authorized, false);
  }
});

Deno.test({
  name: `self-signed: openssl x509 -text and openssl verify -x509_strict accept it${NO_OPENSSL}`,
  ignore: !OPENSSL,
  fn: async () => {
    const dir = await Deno.makeTempDir();
    try {
      const { certPem } = await createSelfSignedCertificate({
        commonName: "mail.example.com",
        altNames: ["localhost", "127.0.0.1", "2001:db8::1"],
      });
      await Deno.writeTextFile(`${dir}/cert.pem`, certPem);
      const text = new Deno.Command("openssl", {
        args: ["x509", "-noout", "-text", "-in", `${dir}/cert.pem`],
      }).outputSync();
      assert(text.success, new TextDecoder().decode(text.stderr));
      const out = new TextDecoder().decode(text.stdout);
      for (
        const expected of [
          "Version: 3 (0x2)",
          "Signature Algorithm: ecdsa-with-SHA256",
          "Subject: CN = mail.example.com",
          "CA:FALSE",
          "Digital Signature",
          "TLS Web Server Authentication",
          "DNS:mail.example.com, DNS:localhost, IP Address:127.0.0.1, IP Address:2001:DB8:0:0:0:0:0:1",
        ]
      ) {
        assertStringIncludes(out, expected);
      }
      const verify = new Deno.Command("openssl", {
        args: [
          "verify",
          "-x509_strict",
          "-purpose",
          "sslserver",
          "-CAfile",
          `${dir}/cert.pem`,
          `${dir}/cert.pem`,
        ],
      }).outputSync();
      assertStringIncludes(new TextDecoder().decode(verify.stdout), "OK");
      assert(verify.success, new TextDecoder().decode(verify.stderr));
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
