import { assertEquals, assertMatch } from "../../tests/assert.ts";
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
