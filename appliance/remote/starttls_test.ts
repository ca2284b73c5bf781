import { assertEquals, assertMatch } from "../../tests/assert.ts";
import { createSelfSignedCertificate } from "../tls/self_signed.ts";
import { deliverRemote } from "./remote_delivery.ts";
import { makeTestRemote, withMx } from "./test_remote.ts";

Deno.test("remote: tlshosts pin with a wrong certificate defers, never plain", async () => {
  const served = await createSelfSignedCertificate({
    commonName: "mx1.example.test",
    altNames: ["mx1.example.test"],
  });
  const other = await createSelfSignedCertificate({
    commonName: "mx1.example.test",
    altNames: ["mx1.example.test"],
  });
  await withMx(
    [{ host: "127.0.0.2", tls: { key: served.keyPem, cert: served.certPem } }],
    async ([mx]) => {
      const s = await makeTestRemote({
        "example.test": { mx: [{ preference: 10, exchange: "mx1.example.test" }] },
        "mx1.example.test": { a: ["127.0.0.2"] },
      }, mx.port);
      try {
        Deno.writeTextFileSync(`${s.home}/control/tlshosts/mx1.example.test.pem`, other.certPem);
        const report = await deliverRemote(await s.job("bob@example.test"), s.ctx);
        assertEquals(report.status, "Z");
        assertMatch(
          report.text,
          /^TLS unable to verify server with control\/tlshosts\/mx1\.example\.test\.pem: .+; connected to 127\.0\.0\.2\.\n$/,
        );
        assertEquals(mx.messages.length, 0);
        Deno.writeTextFileSync(`${s.home}/control/tlshosts/mx1.example.test.pem`, served.certPem);
        const good = await deliverRemote(await s.job("bob@example.test"), s.ctx);
        assertEquals(good.status, "K");
        assertEquals(mx.messages[0].tls, true);
      } finally {
        await s.close();
      }
    },
  );
});
