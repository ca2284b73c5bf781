import crypto from "node:crypto";
import type tls from "node:tls";
import { assert, assertEquals, assertMatch, assertRejects } from "../../tests/assert.ts";
import { handshake } from "../../tests/fixtures/tls/handshake.ts";
import { createRevocationList } from "../../tests/fixtures/tls/pki.ts";
import { createCertificate, createSelfSignedCertificate } from "./self_signed.ts";
import { ServerTls } from "./server_tls.ts";
import type { ClientCertificateCheck } from "./client_certificate.ts";

async function withHome(fn: (home: string) => Promise<void>): Promise<void> {
  const home = await Deno.makeTempDir();
  try {
    await Deno.mkdir(`${home}/control`);
    await fn(home);
  } finally {
    await Deno.remove(home, { recursive: true });
  }
}

function write(home: string, name: string, text: string): void {
  Deno.writeTextFileSync(`${home}/control/${name}`, text);
}

/** Replaces a file the way an operator's `cat > file` or `mv new file` would: new content, new stamp. */
function replace(home: string, name: string, text: string): void {
  const path = `${home}/control/${name}`;
  Deno.writeTextFileSync(`${path}.tmp`, text);
  Deno.renameSync(`${path}.tmp`, path);
}

function serverTls(home: string): { tls: ServerTls; errors: string[] } {
  const errors: string[] = [];
  return { tls: new ServerTls(home, { onError: (message) => errors.push(message) }), errors };
}

const A = await createSelfSignedCertificate({ commonName: "a.example.com" });
const B = await createSelfSignedCertificate({ commonName: "b.example.com" });

Deno.test("server tls: no servercert.pem, no context (STARTTLS not offered), no error", async () => {
  await withHome(async (home) => {
    const { tls, errors } = serverTls(home);
    assertEquals(tls.context(), undefined);
    assertEquals(tls.requestClientCert, false);
    assertEquals(tls.clientAddresses(), []);
    assertEquals(errors, []);
    await Promise.resolve();
  });
});

Deno.test("server tls: key and certificate in one file serve a real handshake, TLS 1.2 minimum", async () => {
  await withHome(async (home) => {
    write(home, "servercert.pem", A.keyPem + A.certPem);
    const { tls, errors } = serverTls(home);
    const context = tls.context()!;
    assert(context !== undefined);
    assertEquals(tls.context(), context, "unchanged files: the same context");
    const result = await handshake({
      secureContext: context,
      client: { ca: A.certPem, servername: "a.example.com" },
    });
    assertEquals([result.authorized, result.serverCommonName], [true, "a.example.com"]);
    assertEquals(result.protocol, "TLSv1.3");
    const tls12 = await handshake({
      secureContext: context,
      client: { ca: A.certPem, servername: "a.example.com", maxVersion: "TLSv1.2" },
    });
    assertEquals(tls12.protocol, "TLSv1.2");
    await assertRejects(() =>
      handshake({
        secureContext: context,
        client: { ca: A.certPem, servername: "a.example.com", maxVersion: "TLSv1.1" },
      })
    );
    assertEquals(errors, []);
  });
});

Deno.test("server tls: a changed servercert.pem is served to the next session; garbage keeps the last good one", async () => {
  await withHome(async (home) => {
    write(home, "servercert.pem", A.keyPem + A.certPem);
    const { tls, errors } = serverTls(home);
    const first = await handshake({
      secureContext: tls.context()!,
      client: { ca: A.certPem, servername: "a.example.com" },
    });
    assertEquals(first.serverCommonName, "a.example.com");

    replace(home, "servercert.pem", B.certPem + B.keyPem); // certificate first, key after: also fine
    const contextB = tls.context()!;
    const second = await handshake({
      secureContext: contextB,
      client: { ca: B.certPem, servername: "b.example.com" },
    });
    assertEquals([second.authorized, second.serverCommonName], [true, "b.example.com"]);

    replace(home, "servercert.pem", "this is not a certificate\n");
    assertEquals(tls.context(), contextB);
    assertEquals(tls.context(), contextB);
    assertEquals(errors.length, 1, "reported once per change, not per session");
    assertMatch(
      errors[0],
      /servercert\.pem: no private key; still using the previous certificate$/,
    );
    const third = await handshake({
      secureContext: tls.context()!,
      client: { ca: B.certPem, servername: "b.example.com" },
    });
    assertEquals(third.serverCommonName, "b.example.com");

    // A key that does not match its certificate is refused the same way, and never logged.
    replace(home, "servercert.pem", A.keyPem + B.certPem);
    assertEquals(tls.context(), contextB);
    assertMatch(errors[1], /the private key does not belong to the certificate; still using/);
    const keyBody = A.keyPem.split("\n")[1];
    assert(errors.every((message) => !message.includes(keyBody) && !message.includes("BEGIN")));

    Deno.removeSync(`${home}/control/servercert.pem`);
    assertEquals(tls.context(), undefined, "removed: STARTTLS is no longer offered");
    assertEquals(errors.length, 2);
  });
});

Deno.test("server tls: broken files on the first load turn STARTTLS off and say why", async () => {
  const intermediate = await createCertificate({ commonName: "Intermediate", usage: "ca" });
  const leaf = await createCertificate({ commonName: "mx.example.com", issuer: intermediate });
  const encrypted = crypto.createPrivateKey(A.keyPem).export({
    type: "pkcs8",
    format: "pem",
    cipher: "aes-256-cbc",
    passphrase: "secret",
  });
  const cases: Array<[string, RegExp]> = [
    [A.certPem, /no private key/],
    [A.keyPem, /no certificate/],
    [A.keyPem + B.keyPem + A.certPem, /more than one private key/],
    [B.keyPem + A.certPem, /the private key does not belong to the certificate/],
    [leaf.keyPem + intermediate.certPem + leaf.certPem, /must come before the other certificates/],
    [String(encrypted) + A.certPem, /the private key is encrypted/],
    ["-----BEGIN CERTIFICATE-----\nAQID\n", /BEGIN CERTIFICATE is never ended/],
    [
      A.keyPem + "-----BEGIN CERTIFICATE-----\nAQID\n-----END CERTIFICATE-----\n",
      /certificate 1 is not a valid X\.509 certificate/,
    ],
  ];
  for (const [text, pattern] of cases) {
    await withHome(async (home) => {
      write(home, "servercert.pem", text);
      const { tls, errors } = serverTls(home);
      assertEquals(tls.context(), undefined);
      assertEquals(errors.length, 1);
      assertMatch(errors[0], pattern);
      assertMatch(errors[0], /STARTTLS is off until it is fixed$/);
      await Promise.resolve();
    });
  }
});

Deno.test("server tls: SEC1 and PKCS#1 keys and a chain with an intermediate", async () => {
  const root = await createCertificate({ commonName: "Root CA", usage: "ca" });
  const intermediate = await createCertificate({
    commonName: "Issuing CA",
    usage: "ca",
    issuer: root,
  });
  const leaf = await createCertificate({ commonName: "mx.example.com", issuer: intermediate });
  const sec1 = crypto.createPrivateKey(leaf.keyPem).export({ type: "sec1", format: "pem" });
  const rsa = await createSelfSignedCertificate({ commonName: "rsa.example.com", keyType: "rsa" });
  const pkcs1 = crypto.createPrivateKey(rsa.keyPem).export({ type: "pkcs1", format: "pem" });
  await withHome(async (home) => {
    write(home, "servercert.pem", String(sec1) + leaf.certPem + intermediate.certPem);
    const { tls, errors } = serverTls(home);
    const chained = await handshake({
      secureContext: tls.context()!,
      client: { ca: root.certPem, servername: "mx.example.com" },
    });
    assertEquals([chained.authorized, chained.serverCommonName], [true, "mx.example.com"]);

    replace(home, "servercert.pem", String(pkcs1) + rsa.certPem);
    const viaRsa = await handshake({
      secureContext: tls.context()!,
      client: { ca: rsa.certPem, servername: "rsa.example.com", maxVersion: "TLSv1.2" },
    });
    assertEquals([viaRsa.authorized, viaRsa.serverCommonName], [true, "rsa.example.com"]);
    assertEquals(errors, []);
  });
});

Deno.test("server tls: tlsserverciphers lines are joined and the context still serves", async () => {
  await withHome(async (home) => {
    write(home, "servercert.pem", A.keyPem + A.certPem);
    write(
      home,
      "tlsserverciphers",
      "# TLS 1.2 only\nECDHE-ECDSA-AES128-GCM-SHA256\nECDHE-ECDSA-CHACHA20-POLY1305\n",
    );
    const { tls, errors } = serverTls(home);
    const result = await handshake({
      secureContext: tls.context()!,
      client: { ca: A.certPem, servername: "a.example.com", maxVersion: "TLSv1.2" },
    });
    assertEquals([result.authorized, result.protocol], [true, "TLSv1.2"]);
    assertEquals(errors, []);
  });
});

Deno.test("server tls: client certificates from clientca.pem and tlsclients, checked on the server socket", async () => {
  const ca = await createCertificate({ commonName: "Client CA", usage: "ca" });
  const alice = await createCertificate({
    commonName: "alice",
    emailAddress: "alice@example.com",
    usage: "client",
    issuer: ca,
  });
  const stranger = await createCertificate({
    commonName: "eve",
    emailAddress: "alice@example.com",
    usage: "client",
  });
  await withHome(async (home) => {
    write(home, "servercert.pem", A.keyPem + A.certPem);
    write(home, "clientca.pem", ca.certPem);
    const { tls, errors } = serverTls(home);
    assertEquals(tls.requestClientCert, false, "no tlsclients: nothing to ask for");

    write(home, "tlsclients", "# relaying certificates\nalice@example.com\n");
    const context = tls.context()!;
    assertEquals(tls.requestClientCert, true);
    assertEquals(tls.clientAddresses(), ["alice@example.com"]);

    const session = (client: tls.ConnectionOptions) =>
      handshake<ClientCertificateCheck>({
        secureContext: context,
        requestCert: tls.requestClientCert,
        onServerSecure: (socket) => tls.clientCertificate(socket),
        client: { ca: A.certPem, servername: "a.example.com", ...client },
      });
    assertEquals((await session({ key: alice.keyPem, cert: alice.certPem })).server, {
      ok: true,
      email: "alice@example.com",
    });
    assertEquals((await session({})).server, { ok: false });
    assertEquals((await session({ key: stranger.keyPem, cert: stranger.certPem })).server, {
      ok: false,
      reason: "self-signed certificate",
    });

    // Revoking alice's certificate takes effect for the next session.
    const serial = new crypto.X509Certificate(alice.certPem).serialNumber;
    const now = Date.now();
    write(
      home,
      "clientcrl.pem",
      await createRevocationList({
        issuer: ca,
        serials: [serial],
        thisUpdate: new Date(now - 60_000),
        nextUpdate: new Date(now + 86_400_000),
      }),
    );
    const revokedContext = tls.context()!;
    const revoked = await handshake<ClientCertificateCheck>({
      secureContext: revokedContext,
      requestCert: true,
      onServerSecure: (socket) => tls.clientCertificate(socket),
      client: {
        ca: A.certPem,
        servername: "a.example.com",
        key: alice.keyPem,
        cert: alice.certPem,
      },
    });
    assertEquals(revoked.server, { ok: false, reason: "certificate revoked" });
    assertEquals(errors, []);
  });
});

Deno.test("server tls: a broken clientca.pem leaves TLS on and client certificates unused", async () => {
  await withHome(async (home) => {
    write(home, "servercert.pem", A.keyPem + A.certPem);
    write(home, "clientca.pem", "not a certificate\n");
    write(home, "tlsclients", "alice@example.com\n");
    const { tls, errors } = serverTls(home);
    assert(tls.context() !== undefined);
    assertEquals(tls.requestClientCert, false);
    assertEquals(errors.length, 1);
    assertMatch(
      errors[0],
      /clientca\.pem: no certificate; client certificates do not allow relaying until it is fixed$/,
    );

    const ca = await createCertificate({ commonName: "Client CA", usage: "ca" });
    replace(home, "clientca.pem", ca.certPem);
    tls.context();
    assertEquals(tls.requestClientCert, true);
    replace(home, "clientcrl.pem", "-----BEGIN X509 CRL-----\nAQID\n-----END X509 CRL-----\n");
    tls.context();
    assertMatch(
      errors[1],
      /clientcrl\.pem: CRL 1 is not a valid X\.509 CRL; still using the previous/,
    );
    assertEquals(tls.requestClientCert, true);
    await Promise.resolve();
  });
});
