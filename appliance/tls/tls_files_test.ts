import { assertEquals, assertMatch } from "../../tests/assert.ts";
import { createRevocationList } from "../../tests/fixtures/tls/pki.ts";
import { createCertificate, createSelfSignedCertificate } from "./self_signed.ts";
import { summarizeServerCertificate, TlsFilesReader } from "./tls_files.ts";

Deno.test("tls files: the reader keeps the last good set, counts changes, and re-reads all on force", async () => {
  const home = Deno.makeTempDirSync();
  try {
    Deno.mkdirSync(`${home}/control`);
    const path = `${home}/control/servercert.pem`;
    const own = await createSelfSignedCertificate({ commonName: "mx.example.com" });
    const ca = await createCertificate({ commonName: "Example CA", usage: "ca" });
    const issued = await createCertificate({ commonName: "mail.example.com", issuer: ca });
    const reader = new TlsFilesReader(home);
    assertEquals(reader.refresh(), []);
    assertEquals(summarizeServerCertificate(reader.loaded.files), { kind: "none" });

    Deno.writeTextFileSync(path, own.keyPem + own.certPem);
    assertEquals(reader.refresh(), []);
    assertEquals(reader.generation, 1);
    assertEquals(summarizeServerCertificate(reader.loaded.files).kind, "self-signed");

    Deno.writeTextFileSync(`${path}.new`, issued.keyPem + issued.certPem);
    Deno.renameSync(`${path}.new`, path);
    assertEquals(reader.refresh(), []);
    const summary = summarizeServerCertificate(reader.loaded.files);
    assertEquals(summary.kind === "issued" && [summary.commonName, summary.issuer], [
      "mail.example.com",
      "Example CA",
    ]);

    Deno.writeTextFileSync(`${path}.new`, issued.certPem);
    Deno.renameSync(`${path}.new`, path);
    const [problem] = reader.refresh();
    assertMatch(problem, /servercert\.pem: no private key; still using the previous certificate$/);
    assertEquals(reader.refresh(), [], "a broken file is reported once per change");
    assertEquals(reader.refresh(true).length, 1, "and again when all files are re-read (SIGHUP)");
    assertEquals(reader.generation, 2);
    assertEquals(summarizeServerCertificate(reader.loaded.files).kind, "issued");
  } finally {
    Deno.removeSync(home, { recursive: true });
  }
});

Deno.test("tls files: reading them, a clientcrl.pem included, does not load the X.509 library", async () => {
  const home = await Deno.makeTempDir();
  try {
    await Deno.mkdir(`${home}/control`);
    const server = await createSelfSignedCertificate({ commonName: "mx.example.com" });
    const ca = await createCertificate({ commonName: "Client CA", usage: "ca" });
    const crl = await createRevocationList({ issuer: ca, serials: [], thisUpdate: new Date() });
    Deno.writeTextFileSync(`${home}/control/servercert.pem`, server.keyPem + server.certPem);
    Deno.writeTextFileSync(`${home}/control/clientca.pem`, ca.certPem);
    Deno.writeTextFileSync(`${home}/control/clientcrl.pem`, crl);
    Deno.writeTextFileSync(`${home}/control/tlsclients`, "alice@example.com\n");
    // A fresh isolate: this one has loaded the library to make the certificates.
    const worker = new Worker(new URL("../../tests/fixtures/tls/x509_probe.ts", import.meta.url), {
      type: "module",
    });
    try {
      const result = await new Promise((resolve, reject) => {
        worker.onmessage = (event) => resolve(event.data);
        worker.onerror = (event) => {
          event.preventDefault();
          reject(new Error(event.message));
        };
        worker.postMessage({ kind: "read-files", home });
      });
      assertEquals(result, {
        problems: [],
        requestClientCert: true,
        revocationLists: 1,
        x509Loaded: false,
      });
    } finally {
      worker.terminate();
    }
  } finally {
    await Deno.remove(home, { recursive: true });
  }
});
