/**
 * qmail-remote's envelope details against nodemailer's smtp-server (an
 * independent implementation, tests/fakes/fake_mx.ts) recording MAIL FROM's
 * parameters: SIZE= is the size as sent, with CR LF line ends (RFC 1870);
 * BODY=8BITMIME goes with a message that has 8-bit bytes (RFC 6152); several
 * recipients (`qmd remote HOST SENDER R1 R2 ...`) share one envelope and get
 * a report each, in order.
 */
import { assertEquals } from "../../tests/assert.ts";
import { deliverRecords, deliverRemote } from "./remote_delivery.ts";
import { makeTestRemote, withMx, ZONE } from "./test_remote.ts";

Deno.test("remote: SIZE= counts CR LF line ends, as the body is sent; a 7-bit body has no BODY=", async () => {
  await withMx([{ host: "127.0.0.2", size: 100_000 }], async ([mx]) => {
    const s = await makeTestRemote(ZONE, mx.port);
    try {
      // 24 bytes on disk, 4 LFs: 28 bytes as sent (the stuffed dot is not counted).
      const report = await deliverRemote(await s.job("bob@example.test"), s.ctx);
      assertEquals(report.status, "K");
      assertEquals(mx.mailParams, [{ SIZE: "28" }]);
      assertEquals(mx.messages[0].size, 28);
    } finally {
      await s.close();
    }
  });
});

Deno.test("remote: a body with 8-bit bytes goes with BODY=8BITMIME when the peer offers 8BITMIME", async () => {
  await withMx([{ host: "127.0.0.2", size: 100_000 }], async ([mx]) => {
    const s = await makeTestRemote(ZONE, mx.port);
    try {
      const body = Uint8Array.from(
        "Subject: caf\xe9\r\n\r\ncr lf already\r\n",
        (c) => c.charCodeAt(0),
      );
      const report = await deliverRemote(await s.job("bob@example.test", body), s.ctx);
      assertEquals(report.status, "K");
      assertEquals(mx.mailParams, [{ SIZE: String(body.length), BODY: "8BITMIME" }]);
      assertEquals(mx.messages[0].body, body);
    } finally {
      await s.close();
    }
  });
});

Deno.test("remote: several recipients share one envelope; r/h/s each, in order, then K", async () => {
  await withMx(
    [{
      host: "127.0.0.2",
      rcpt: (address) =>
        address.startsWith("gone@")
          ? { code: 550, text: "no such user" }
          : address.startsWith("full@")
          ? { code: 452, text: "mailbox full" }
          : undefined,
    }],
    async ([mx]) => {
      const s = await makeTestRemote(ZONE, mx.port);
      try {
        const job = await s.job("a@example.test");
        const recipients = [
          "a@example.test",
          "gone@example.test",
          "full@example.test",
          "b@Example.Test",
        ];
        const records = await deliverRecords(job, s.ctx, undefined, {
          host: "example.test",
          recipients,
        });
        assertEquals(records.map((record) => record.kind), ["r", "h", "s", "r", "K"]);
        assertEquals(records[1].text.split("\n")[0], "127.0.0.2 does not like recipient.");
        assertEquals(mx.connections(), 1);
        assertEquals(mx.messages.map((message) => message.recipients), [[
          "a@example.test",
          "b@Example.Test",
        ]]);
      } finally {
        await s.close();
      }
    },
  );
});
