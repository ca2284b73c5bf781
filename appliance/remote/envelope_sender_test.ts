import { assertEquals, assertMatch } from "../../tests/assert.ts";
import { loadRemoteControls } from "../../config/remote.ts";
import { batvDay, checkBatvAddress } from "../send/batv.ts";
import { envelopeSender } from "./envelope_sender.ts";
import { deliverRemote } from "./remote_delivery.ts";
import { makeTestRemote, withMx, ZONE } from "./test_remote.ts";

Deno.test("envelopeSender: signs only with a key, for the expiry day now + signkeystale", () => {
  const controls = loadRemoteControls("/nonexistent-qmd-home");
  assertEquals(envelopeSender("a@b.test", "c.test", controls, 0), "a@b.test");
  controls.signKey = "k";
  controls.signKeyStale = 7;
  const day = 20000;
  const signed = envelopeSender("a@b.test", "c.test", controls, day * 86_400_000);
  assertEquals(signed.slice(0, 9), `prvs=0${String((day + 7) % 1000).padStart(3, "0")}`);
  assertEquals(checkBatvAddress(signed, "k", day, 7).ok, true);
  assertEquals(checkBatvAddress(signed, "k", day + 8, 7).ok, false);
});

Deno.test("remote: BATV signs the sender when signkey is set, not for nosignhosts", async () => {
  await withMx([{ host: "127.0.0.2" }], async ([mx]) => {
    const s = await makeTestRemote(ZONE, mx.port, (_home, controls) => {
      controls.signKey = "batv-secret";
      controls.signKeyStale = 7;
    });
    try {
      const report = await deliverRemote(await s.job("bob@example.test"), s.ctx);
      assertEquals(report.status, "K");
      const sent = mx.messages[0].sender;
      assertMatch(sent, /^prvs=0\d{3}[0-9a-f]{6}=a@qmd\.test$/);
      const today = batvDay(Date.now());
      assertEquals(checkBatvAddress(sent, "batv-secret", today, 7), {
        signed: true,
        ok: true,
        original: "a@qmd.test",
      });
      // The null sender is never signed; nosignhosts leaves the recipient's domain alone.
      assertEquals(
        (await deliverRemote(await s.job("bob@example.test", undefined, ""), s.ctx))
          .status,
        "K",
      );
      assertEquals(mx.messages[1].sender, "");
      s.ctx.controls.noSignHosts = ["example.test"];
      assertEquals((await deliverRemote(await s.job("bob@example.test"), s.ctx)).status, "K");
      assertEquals(mx.messages[2].sender, "a@qmd.test");
    } finally {
      await s.close();
    }
  });
});
