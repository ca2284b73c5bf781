/**
 * @peculiar/x509 comes from the npm cache, not the network: an smtpd isolate,
 * whose permissions (the supervisor's role table) allow no imports, can still
 * load it the first time a client sends a certificate, and check that
 * certificate against clientca.pem and clientcrl.pem.
 */
import crypto from "node:crypto";
import { assertEquals } from "./assert.ts";
import { createRevocationList } from "./fixtures/tls/pki.ts";
import type { ProbeRequest } from "./fixtures/tls/x509_probe.ts";
import { roleTable } from "../appliance/role_table.ts";
import { parsePemBlocks } from "../appliance/tls/pem.ts";
import { createCertificate } from "../appliance/tls/self_signed.ts";

async function probe(permissions: Deno.PermissionOptionsObject, request: ProbeRequest) {
  const worker = new Worker(new URL("./fixtures/tls/x509_probe.ts", import.meta.url), {
    type: "module",
    deno: { permissions },
  });
  try {
    return await new Promise<Record<string, unknown>>((resolve, reject) => {
      worker.onmessage = (event) => resolve(event.data);
      worker.onerror = (event) => {
        event.preventDefault();
        reject(new Error(event.message));
      };
      worker.postMessage(request);
    });
  } finally {
    worker.terminate();
  }
}

Deno.test("x509: an smtpd isolate (no imports allowed) loads @peculiar/x509 and checks a client certificate", async () => {
  const home = await Deno.makeTempDir();
  try {
    Deno.mkdirSync(`${home}/control`);
    const server = await createCertificate({ commonName: "mx.example.test" });
    const ca = await createCertificate({ commonName: "Client CA", usage: "ca" });
    const alice = await createCertificate({
      commonName: "alice",
      emailAddress: "alice@example.test",
      usage: "client",
      issuer: ca,
    });
    const now = Date.now();
    const crl = await createRevocationList({
      issuer: ca,
      serials: [new crypto.X509Certificate(alice.certPem).serialNumber],
      thisUpdate: new Date(now - 60_000),
      nextUpdate: new Date(now + 86_400_000),
    });
    Deno.writeTextFileSync(`${home}/control/servercert.pem`, server.keyPem + server.certPem);
    Deno.writeTextFileSync(`${home}/control/clientca.pem`, ca.certPem);
    Deno.writeTextFileSync(`${home}/control/clientcrl.pem`, crl);
    Deno.writeTextFileSync(`${home}/control/tlsclients`, "alice@example.test\n");
    const smtpd = roleTable({
      home,
      smtp: [{ host: "127.0.0.1", port: 0 }],
      smtpdWorkers: 1,
      env: {},
    }).find((role) => role.name === "smtpd")!;
    assertEquals(smtpd.permissions.import, false);
    const chain = [parsePemBlocks(alice.certPem)[0].der];
    assertEquals(await probe(smtpd.permissions, { kind: "check", home, chain }), {
      problems: [],
      check: { ok: false, reason: "certificate revoked" },
      x509Loaded: true,
    });
  } finally {
    await Deno.remove(home, { recursive: true });
  }
});
