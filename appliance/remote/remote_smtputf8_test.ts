import { assertEquals, assertStringIncludes } from "../../tests/assert.ts";
import { utf8ByteString } from "../bytes.ts";
import { deliverRemote } from "./remote_delivery.ts";
import { makeTestRemote, withMx, ZONE } from "./test_remote.ts";

/** ZONE plus 例子.测试 (by its A-labels) with mx1.example.test as its MX. */
const UTF8_ZONE = {
  ...ZONE,
  "xn--fsqu00a.xn--0zwm56d": { mx: [{ preference: 10, exchange: "mx1.example.test" }] },
};
const RECIPIENT = utf8ByteString("用户@例子.测试");

Deno.test("remote: a UTF-8 recipient goes to its domain's MX with SMTPUTF8 (RFC 6531)", async () => {
  await withMx([{ host: "127.0.0.2" }], async ([mx]) => {
    const s = await makeTestRemote(UTF8_ZONE, mx.port);
    try {
      const report = await deliverRemote(await s.job(RECIPIENT), s.ctx);
      assertEquals(report.status, "K", report.text);
      assertEquals(mx.messages.map((m) => [m.recipients, m.smtpUtf8]), [[
        ["用户@例子.测试"],
        true,
      ]]);
    } finally {
      await s.close();
    }
  });
});

Deno.test("remote: a UTF-8 sender alone needs SMTPUTF8 too; without it the MX gets no MAIL (5.6.7)", async () => {
  await withMx([{ host: "127.0.0.2", smtpUtf8: false }], async ([mx]) => {
    const s = await makeTestRemote(UTF8_ZONE, mx.port);
    try {
      const sender = utf8ByteString("jörg@qmd.test");
      const report = await deliverRemote(await s.job("bob@example.test", undefined, sender), s.ctx);
      assertEquals(report.status, "D");
      assertStringIncludes(report.text, "does not offer SMTPUTF8");
      assertStringIncludes(report.text, "553 5.6.7 ");
      assertEquals(mx.mailFrom, []);
      // An ASCII envelope on the same MX goes out as before.
      const plain = await deliverRemote(await s.job("bob@example.test"), s.ctx);
      assertEquals(plain.status, "K", plain.text);
    } finally {
      await s.close();
    }
  });
});
