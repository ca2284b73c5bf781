import { createHash, X509Certificate } from "node:crypto";
import { assertEquals, assertMatch } from "../../tests/assert.ts";
import { type FakeSecureRecords, startFakeDnssec } from "../../tests/fakes/fake_dnssec.ts";
import { createCertificate } from "../tls/self_signed.ts";
import { deliverRemote } from "./remote_delivery.ts";
import { buildRemoteSecurity } from "./remote_security.ts";
import { makeTestRemote, withMx } from "./test_remote.ts";
import { checkDaneChain, type TlsaRecord } from "./dane.ts";

const TLSA_NAME = "_25._tcp.mx1.example.test";

/** What the ordinary resolver answers: one MX. */
const ZONE = {
  "example.test": { mx: [{ preference: 10, exchange: "mx1.example.test" }] },
  "mx1.example.test": { a: ["127.0.0.2"] },
};

function sha256(bytes: Uint8Array): Uint8Array {
  return new Uint8Array(createHash("sha256").update(bytes).digest());
}

/** A DANE-EE(3) SPKI(1) SHA-256(1) record for a certificate. */
function eeRecord(certPem: string): TlsaRecord {
  const spki = new X509Certificate(certPem).publicKey.export({ type: "spki", format: "der" });
  return {
    type: "TLSA",
    usage: 3,
    selector: 1,
    matchingType: 1,
    data: sha256(new Uint8Array(spki)),
  };
}

/** A DANE-TA(2) full-certificate(0) SHA-256(1) record for a CA. */
function taRecord(caPem: string): TlsaRecord {
  const der = new Uint8Array(new X509Certificate(caPem).raw);
  return { type: "TLSA", usage: 2, selector: 0, matchingType: 1, data: sha256(der) };
}

/** Delivers bob@example.test to an MX serving `tls` with the validating resolver's `secure` zone. */
async function deliverWithDane(
  tls: { cert: string; key: string } | undefined,
  secure: Record<string, FakeSecureRecords>,
) {
  const resolver = await startFakeDnssec(secure);
  try {
    let result: { status: string; text: string; tls?: boolean } = { status: "", text: "" };
    await withMx([{ host: "127.0.0.2", ...(tls ? { tls } : {}) }], async ([mx]) => {
      const s = await makeTestRemote(ZONE, mx.port, (home) => {
        Deno.writeTextFileSync(`${home}/control/daneresolvers`, `127.0.0.1:${resolver.port}\n`);
        Deno.writeTextFileSync(`${home}/control/mtastsremote`, "0\n");
      });
      s.ctx.security = buildRemoteSecurity(s.home, s.ctx.resolver);
      try {
        const report = await deliverRemote(await s.job("bob@example.test"), s.ctx);
        result = { status: report.status, text: report.text, tls: mx.messages[0]?.tls };
      } finally {
        await s.close();
      }
    });
    return result;
  } finally {
    await resolver.close();
  }
}

function signed(tlsa: TlsaRecord[]): Record<string, FakeSecureRecords> {
  return {
    "example.test": { mx: [{ preference: 10, exchange: "mx1.example.test" }] },
    [TLSA_NAME]: { tlsa },
  };
}

Deno.test("DANE-EE: a matching key is enough, names and CAs aside; a mismatch defers", async () => {
  const own = await createCertificate({ commonName: "not-the-mx.test" });
  const other = await createCertificate({ commonName: "mx1.example.test" });
  const tls = { cert: own.certPem, key: own.keyPem };
  const good = await deliverWithDane(tls, signed([eeRecord(own.certPem)]));
  assertEquals(good.status, "K", good.text);
  assertEquals(good.tls, true);
  const bad = await deliverWithDane(tls, signed([eeRecord(other.certPem)]));
  assertEquals(bad.status, "Z");
  assertEquals(
    bad.text,
    `TLS unable to verify server with the TLSA records of ${TLSA_NAME}'s rules: no TLSA record matches the certificate; connected to 127.0.0.2.\n`,
  );
  assertEquals(bad.tls, undefined, "nothing was sent");
  const plain = await deliverWithDane(undefined, signed([eeRecord(own.certPem)]));
  assertEquals(plain.status, "Z");
  assertEquals(
    plain.text,
    `No TLS achieved while the TLSA records of ${TLSA_NAME} requires it; connected to 127.0.0.2.\n`,
  );
});

Deno.test("DANE-TA: the chain must lead to the named CA and the certificate name the MX", async () => {
  const ca = await createCertificate({ commonName: "qmd DANE CA", usage: "ca" });
  const leaf = await createCertificate({ commonName: "mx1.example.test", issuer: ca });
  const wrongName = await createCertificate({ commonName: "mx9.example.test", issuer: ca });
  const good = await deliverWithDane(
    { cert: leaf.certPem + ca.certPem, key: leaf.keyPem },
    signed([taRecord(ca.certPem)]),
  );
  assertEquals(good.status, "K", good.text);
  const misnamed = await deliverWithDane(
    { cert: wrongName.certPem + ca.certPem, key: wrongName.keyPem },
    signed([taRecord(ca.certPem)]),
  );
  assertEquals(misnamed.status, "Z");
  assertMatch(misnamed.text, /the certificate does not name mx1\.example\.test/);
});

Deno.test("DANE: only AD-validated answers count; a bogus TLSA answer makes the host unusable", async () => {
  const own = await createCertificate({ commonName: "mx1.example.test" });
  const other = await createCertificate({ commonName: "mx1.example.test" });
  const tls = { cert: own.certPem, key: own.keyPem };
  // Unsigned TLSA (AD clear): ignored, delivered as without DANE.
  const unsigned = await deliverWithDane(tls, {
    "example.test": { mx: [{ preference: 10, exchange: "mx1.example.test" }] },
    [TLSA_NAME]: { tlsa: [eeRecord(other.certPem)], insecure: true },
  });
  assertEquals(unsigned.status, "K", unsigned.text);
  // Unsigned MX (RFC 7672 §2.2.1): no DANE at all.
  const insecureMx = await deliverWithDane(tls, {
    "example.test": { mx: [{ preference: 10, exchange: "mx1.example.test" }], insecure: true },
    [TLSA_NAME]: { tlsa: [eeRecord(other.certPem)] },
  });
  assertEquals(insecureMx.status, "K", insecureMx.text);
  const bogus = await deliverWithDane(tls, {
    "example.test": { mx: [{ preference: 10, exchange: "mx1.example.test" }] },
    [TLSA_NAME]: { servfail: true },
  });
  assertEquals(bogus.status, "Z");
  assertMatch(
    bogus.text,
    /^Sorry, no MX may be used: TLSA lookup of _25\._tcp\.mx1\.example\.test/,
  );
});

Deno.test("DANE matching: SHA-512 and the full certificate", async () => {
  const own = await createCertificate({ commonName: "mx1.example.test" });
  const der = new Uint8Array(new X509Certificate(own.certPem).raw);
  const sha512 = new Uint8Array(createHash("sha512").update(der).digest());
  const now = Date.now();
  const record = (usage: number, matchingType: number, data: Uint8Array): TlsaRecord => ({
    type: "TLSA",
    usage,
    selector: 0,
    matchingType,
    data,
  });
  assertEquals(checkDaneChain([record(3, 2, sha512)], [der], "mx1.example.test", now), undefined);
  assertEquals(checkDaneChain([record(3, 0, der)], [der], "mx1.example.test", now), undefined);
  assertEquals(
    checkDaneChain([record(3, 0, der.slice(1))], [der], "mx1.example.test", now),
    "no TLSA record matches the certificate",
  );
  assertEquals(
    checkDaneChain([record(3, 0, der)], [], "mx1.example.test", now),
    "no certificate presented",
  );
});
