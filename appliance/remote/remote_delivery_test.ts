import { assertEquals, assertMatch, assertStringIncludes } from "../../tests/assert.ts";
import { loadRemoteControls } from "../../config/remote.ts";
import { deliverRemote } from "./remote_delivery.ts";
import { readTcpto } from "./tcpto.ts";
import { makeTestRemote, withMx, ZONE } from "./test_remote.ts";

Deno.test("remote: greeting 4xx → next MX (seed 002)", async () => {
  await withMx([
    { host: "127.0.0.2", greeting: { code: 421, text: "busy" } },
    { host: "127.0.0.3" },
  ], async ([first, second]) => {
    const s = await makeTestRemote(ZONE, first.port);
    try {
      const report = await deliverRemote(await s.job("bob@example.test"), s.ctx);
      assertEquals(report.status, "K");
      assertMatch(report.text, /^127\.0\.0\.3 accepted/);
      assertEquals(first.messages.length, 0);
      assertEquals(second.messages.length, 1);
    } finally {
      await s.close();
    }
  });
});

Deno.test("remote: greeting 4xx/5xx on every MX is seed 002's no-connection deferral, with the last greeting", async () => {
  await withMx([
    { host: "127.0.0.2", greeting: { code: 421, text: "busy one" } },
    { host: "127.0.0.3", greeting: { code: 554, text: "go away" } },
  ], async ([first]) => {
    const s = await makeTestRemote(ZONE, first.port);
    try {
      const report = await deliverRemote(await s.job("bob@example.test"), s.ctx);
      assertEquals(report.status, "Z");
      assertMatch(
        report.text,
        /^Sorry, I wasn't able to establish an SMTP connection\. \(#4\.4\.1\)\nConnected to 127\.0\.0\.3 but greeting failed\.\nRemote host said: 554 /,
      );
    } finally {
      await s.close();
    }
  });
});

Deno.test("remote: connection refused → next address; tcpto written", async () => {
  await withMx([{ host: "127.0.0.3" }], async ([mx]) => {
    const s = await makeTestRemote(ZONE, mx.port);
    try {
      const report = await deliverRemote(await s.job("bob@example.test"), s.ctx);
      assertEquals(report.status, "K");
      assertMatch(report.text, /^127\.0\.0\.3 accepted/);
      // A refusal is not a timeout: the table has no record with a count.
      const records = await readTcpto(`${s.ctx.layout.root}/lock/tcpto`);
      assertEquals(records.filter((r) => r.count > 0).length, 0);
      // A dead address is skipped: mark 127.0.0.3 dead and nothing is tried.
      const path = `${s.ctx.layout.root}/lock/tcpto`;
      const table = await Deno.readFile(path);
      table.set([127, 0, 0, 3, 2, 0, 0, 0], 0);
      new DataView(table.buffer).setUint32(8, Math.floor(Date.now() / 1000), true);
      await Deno.writeFile(path, table);
      const skipped = await deliverRemote(await s.job("bob@example.test"), s.ctx);
      assertEquals(skipped.status, "Z");
      assertStringIncludes(skipped.text, "(#4.4.1)");
      assertEquals(mx.messages.length, 1);
    } finally {
      await s.close();
    }
  });
});

Deno.test("remote: the default smtproutes relay is the fallback; straightfallback after a 4xx too", async () => {
  await withMx(
    [{ host: "127.0.0.2", rcpt: { code: 451, text: "try later" } }, { host: "127.0.0.4" }],
    async ([busy, fallback]) => {
      const s = await makeTestRemote(ZONE, busy.port, (home) => {
        Deno.writeTextFileSync(
          `${home}/control/smtproutes`,
          [
            // A specific route to a host nobody listens on, one to the busy host.
            `down.test:[127.0.0.5]:${busy.port}`,
            `busy.test:[127.0.0.2]:${busy.port}`,
            `:[127.0.0.4]:${fallback.port}`,
          ].join("\n") + "\n",
        );
      });
      try {
        s.ctx.controls = loadRemoteControls(s.home);
        // Unreachable specific route: the default relay takes it.
        const viaFallback = await deliverRemote(await s.job("x@down.test"), s.ctx);
        assertEquals(viaFallback.status, "K", viaFallback.text);
        assertEquals(fallback.messages.length, 1);
        // A 4xx from the specific route: deferred, unless straightfallback.
        assertEquals((await deliverRemote(await s.job("x@busy.test"), s.ctx)).status, "Z");
        s.ctx.controls = { ...s.ctx.controls, straightFallback: true };
        assertEquals((await deliverRemote(await s.job("x@busy.test"), s.ctx)).status, "K");
        assertEquals(fallback.messages.length, 2);
      } finally {
        await s.close();
      }
    },
  );
});
