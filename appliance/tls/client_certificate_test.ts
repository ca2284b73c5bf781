import crypto from "node:crypto";
import { assertEquals, assertStringIncludes } from "../../tests/assert.ts";
import { createRevocationList } from "../../tests/fixtures/tls/pki.ts";
import { checkClientCertificate, type ClientTrust } from "./client_certificate.ts";
import { parsePemBlocks } from "./pem.ts";
import { createCertificate, type CreatedCertificate } from "./self_signed.ts";

const NOW = new Date("2026-03-01T12:00:00Z");
const LATER = new Date("2026-03-15T12:00:00Z");

const ca = await createCertificate({ commonName: "Client CA", usage: "ca", now: NOW, days: 365 });
const otherCa = await createCertificate({ commonName: "Other CA", usage: "ca", now: NOW });
const alice = await createCertificate({
  commonName: "alice",
  emailAddress: "alice@example.com",
  usage: "client",
  issuer: ca,
  now: NOW,
  days: 30,
});

function der(issued: CreatedCertificate): Uint8Array {
  return parsePemBlocks(issued.certPem)[0].der;
}

function x509(issued: CreatedCertificate): crypto.X509Certificate {
  return new crypto.X509Certificate(issued.certPem);
}

function crl(pem: string): Uint8Array {
  return parsePemBlocks(pem)[0].der;
}

function trust(extra: Partial<ClientTrust> = {}): ClientTrust {
  return { authorities: [x509(ca)], addresses: ["alice@example.com"], ...extra };
}

Deno.test("client certificate: verified and listed in tlsclients, matched case-insensitively", async () => {
  assertEquals(await checkClientCertificate([der(alice)], trust(), LATER), {
    ok: true,
    email: "alice@example.com",
  });
  assertEquals(
    await checkClientCertificate([der(alice)], trust({ addresses: ["Alice@EXAMPLE.com"] }), LATER),
    { ok: true, email: "alice@example.com" },
  );
  const sanOnly = await createCertificate({
    commonName: "bob",
    altNames: ["bob@example.com"],
    usage: "client",
    issuer: ca,
    now: NOW,
  });
  assertEquals(
    await checkClientCertificate([der(sanOnly)], trust({ addresses: ["bob@example.com"] }), LATER),
    { ok: true, email: "bob@example.com" },
  );
});

Deno.test("client certificate: qmail's reasons for refusing to relay", async () => {
  const check = (chain: Uint8Array[], t: ClientTrust = trust(), now = LATER) =>
    checkClientCertificate(chain, t, now);
  assertEquals(await check([]), { ok: false });
  assertEquals(await check([der(alice)], trust({ addresses: ["carol@example.com"] })), {
    ok: false,
    reason: "email address not in my list of tlsclients",
  });
  const anonymous = await createCertificate({
    commonName: "anon",
    usage: "client",
    issuer: ca,
    now: NOW,
  });
  assertEquals(await check([der(anonymous)]), { ok: false, reason: "contains no email address" });
  const foreign = await createCertificate({
    commonName: "mallory",
    emailAddress: "alice@example.com",
    usage: "client",
    issuer: otherCa,
    now: NOW,
  });
  assertEquals(await check([der(foreign)]), {
    ok: false,
    reason: "unable to get local issuer certificate",
  });
  const selfSigned = await createCertificate({
    commonName: "alice",
    emailAddress: "alice@example.com",
    usage: "client",
    now: NOW,
  });
  assertEquals(await check([der(selfSigned)]), { ok: false, reason: "self-signed certificate" });
  assertEquals(await check([der(alice)], trust(), new Date("2026-04-15T00:00:00Z")), {
    ok: false,
    reason: "certificate has expired",
  });
  assertEquals(await check([der(alice)], trust(), new Date("2026-02-01T00:00:00Z")), {
    ok: false,
    reason: "certificate is not yet valid",
  });
  const server = await createCertificate({
    commonName: "mx.example.com",
    emailAddress: "alice@example.com",
    usage: "server",
    issuer: ca,
    now: NOW,
  });
  assertEquals(await check([der(server)]), { ok: false, reason: "unsuitable certificate purpose" });
  const notCa = await createCertificate({ commonName: "not a CA", usage: "client", now: NOW });
  const underNotCa = await createCertificate({
    commonName: "alice",
    emailAddress: "alice@example.com",
    usage: "client",
    issuer: notCa,
    now: NOW,
  });
  // An end-entity certificate cannot issue: without keyCertSign it is no issuer at all.
  assertEquals(await check([der(underNotCa)], trust({ authorities: [x509(notCa)] })), {
    ok: false,
    reason: "unable to get local issuer certificate",
  });
  assertEquals(await check([Uint8Array.of(0x30, 0x00)]), {
    ok: false,
    reason: "unable to decode certificate",
  });
});

Deno.test("client certificate: intermediates sent by the client chain to the root in clientca.pem", async () => {
  const intermediate = await createCertificate({
    commonName: "Issuing CA",
    usage: "ca",
    issuer: ca,
    now: NOW,
  });
  const carol = await createCertificate({
    commonName: "carol",
    emailAddress: "carol@example.com",
    usage: "client",
    issuer: intermediate,
    now: NOW,
  });
  const t = trust({ addresses: ["carol@example.com"] });
  assertEquals(await checkClientCertificate([der(carol), der(intermediate)], t, LATER), {
    ok: true,
    email: "carol@example.com",
  });
  assertEquals(await checkClientCertificate([der(carol)], t, LATER), {
    ok: false,
    reason: "unable to get local issuer certificate",
  });
  // The operator may trust the intermediate on its own.
  assertEquals(
    (await checkClientCertificate([der(carol)], { ...t, authorities: [x509(intermediate)] }, LATER))
      .ok,
    true,
  );
});

Deno.test("client certificate: clientcrl.pem revokes, and each CA needs a current CRL", async () => {
  const serial = x509(alice).serialNumber;
  const thisUpdate = new Date("2026-03-10T00:00:00Z");
  const nextUpdate = new Date("2026-03-20T00:00:00Z");
  const clean = crl(
    await createRevocationList({ issuer: ca, serials: [], thisUpdate, nextUpdate }),
  );
  const revoking = crl(
    await createRevocationList({ issuer: ca, serials: [serial], thisUpdate, nextUpdate }),
  );
  const foreign = crl(
    await createRevocationList({ issuer: otherCa, serials: [], thisUpdate, nextUpdate }),
  );
  const check = (lists: Uint8Array[], now = LATER) =>
    checkClientCertificate([der(alice)], trust({ revocationLists: lists }), now);
  assertEquals((await check([clean])).ok, true);
  assertEquals(await check([revoking]), { ok: false, reason: "certificate revoked" });
  assertEquals(await check([foreign]), { ok: false, reason: "unable to get certificate CRL" });
  assertEquals(await check([clean], new Date("2026-03-25T00:00:00Z")), {
    ok: false,
    reason: "CRL has expired",
  });
  assertEquals(await check([clean], new Date("2026-03-05T00:00:00Z")), {
    ok: false,
    reason: "CRL is not yet valid",
  });
  // A later CRL replaces an earlier one.
  const later = crl(
    await createRevocationList({
      issuer: ca,
      serials: [],
      thisUpdate: new Date("2026-03-12T00:00:00Z"),
      nextUpdate,
    }),
  );
  assertEquals((await check([revoking, later])).ok, true);
  // A CRL naming the CA but signed by another key does not count.
  const forged = crl(
    await createRevocationList({
      issuer: { certPem: ca.certPem, keyPem: otherCa.keyPem },
      serials: [],
      thisUpdate,
      nextUpdate,
    }),
  );
  assertEquals(await check([forged]), { ok: false, reason: "unable to get certificate CRL" });
  // A CRL that cannot be read counts as absent (tls_files.ts refuses the file before this).
  assertEquals(await check([Uint8Array.of(0x30, 0x00)]), {
    ok: false,
    reason: "unable to get certificate CRL",
  });
});

function opensslAvailable(): boolean {
  try {
    return new Deno.Command("openssl", { args: ["version"], stdout: "null", stderr: "null" })
      .outputSync().success;
  } catch {
    return false;
  }
}

const OPENSSL = opensslAvailable();

Deno.test({
  name: `client certificate: openssl verify -crl_check agrees${
    OPENSSL ? "" : " (ignored: no openssl on PATH)"
  }`,
  ignore: !OPENSSL,
  fn: async () => {
    const dir = await Deno.makeTempDir();
    try {
      const now = new Date();
      const fresh = await createCertificate({ commonName: "Live CA", usage: "ca", now });
      const dave = await createCertificate({
        commonName: "dave",
        emailAddress: "dave@example.com",
        usage: "client",
        issuer: fresh,
        now,
      });
      const crlPem = await createRevocationList({
        issuer: fresh,
        serials: [x509(dave).serialNumber],
        thisUpdate: new Date(now.getTime() - 60_000),
        nextUpdate: new Date(now.getTime() + 86_400_000),
      });
      await Deno.writeTextFile(`${dir}/ca.pem`, fresh.certPem);
      await Deno.writeTextFile(`${dir}/dave.pem`, dave.certPem);
      await Deno.writeTextFile(`${dir}/crl.pem`, crlPem);
      const run = (args: string[]) => {
        const out = new Deno.Command("openssl", { args }).outputSync();
        return new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
      };
      const plain = run([
        "verify",
        "-x509_strict",
        "-purpose",
        "sslclient",
        "-CAfile",
        `${dir}/ca.pem`,
        `${dir}/dave.pem`,
      ]);
      assertStringIncludes(plain, ": OK");
      const crlText = run(["crl", "-in", `${dir}/crl.pem`, "-CAfile", `${dir}/ca.pem`, "-noout"]);
      assertStringIncludes(crlText, "verify OK");
      const revoked = run([
        "verify",
        "-crl_check",
        "-CAfile",
        `${dir}/ca.pem`,
        "-CRLfile",
        `${dir}/crl.pem`,
        `${dir}/dave.pem`,
      ]);
      assertStringIncludes(revoked, "certificate revoked");
      const ours = await checkClientCertificate(
        [der(dave)],
        {
          authorities: [x509(fresh)],
          revocationLists: [crl(crlPem)],
          addresses: ["dave@example.com"],
        },
        now,
      );
      assertEquals(ours, { ok: false, reason: "certificate revoked" });
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
