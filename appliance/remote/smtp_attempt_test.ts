import { assertEquals, assertMatch, assertStringIncludes } from "../../tests/assert.ts";
import { loadRemoteControls } from "../../config/remote.ts";
import { deliverRemote } from "./remote_delivery.ts";
import { makeTestRemote, withMx, ZONE } from "./test_remote.ts";

const text = (bytes: Uint8Array) => new TextDecoder().decode(bytes);

Deno.test("remote: success, body dot-stuffed and CRLF, report with the remote's words", async () => {
  await withMx([{ host: "127.0.0.2" }], async ([mx]) => {
    const s = await makeTestRemote(ZONE, mx.port);
    try {
      const report = await deliverRemote(await s.job("bob@example.test"), s.ctx);
      assertEquals(report.status, "K");
      assertMatch(report.text, /^127\.0\.0\.2 accepted message\.\nRemote host said: 250 /);
      assertEquals(mx.messages.length, 1);
      assertEquals(text(mx.messages[0].body), "Subject: hi\r\n\r\nhello\r\n.dot\r\n");
      assertEquals(mx.messages[0].sender, "a@qmd.test");
      assertEquals(mx.messages[0].recipients, ["bob@example.test"]);
    } finally {
      await s.close();
    }
  });
});

Deno.test("remote: 4xx after DATA defers, the next attempt succeeds", async () => {
  await withMx(
    [{ host: "127.0.0.2", data: [{ code: 451, text: "try later" }, { code: 250 }] }],
    async ([mx]) => {
      const s = await makeTestRemote(ZONE, mx.port);
      try {
        const first = await deliverRemote(await s.job("bob@example.test"), s.ctx);
        assertEquals(first.status, "Z");
        assertStringIncludes(first.text, "127.0.0.2 failed after I sent the message.\n");
        assertStringIncludes(first.text, "try later");
        const second = await deliverRemote(await s.job("bob@example.test"), s.ctx);
        assertEquals(second.status, "K");
      } finally {
        await s.close();
      }
    },
  );
});

Deno.test("remote: 5xx to RCPT gives D with the remote's words", async () => {
  await withMx(
    [{ host: "127.0.0.2", rcpt: { code: 550, text: "no such user here" } }],
    async ([mx]) => {
      const s = await makeTestRemote(ZONE, mx.port);
      try {
        const report = await deliverRemote(await s.job("nobody@example.test"), s.ctx);
        assertEquals(report.status, "D");
        assertMatch(
          report.text,
          /^127\.0\.0\.2 does not like recipient\.\nRemote host said: 550 .*no such user here\n127\.0\.0\.2|Giving up/,
        );
        assertStringIncludes(report.text, "no such user here");
      } finally {
        await s.close();
      }
    },
  );
});

Deno.test("remote: smarthost via smtproutes with AUTH", async () => {
  await withMx(
    [{ host: "127.0.0.4", auth: { user: "relayuser", password: "s3cret" } }],
    async ([mx]) => {
      const s = await makeTestRemote(ZONE, mx.port, (home) => {
        Deno.writeTextFileSync(
          `${home}/control/smtproutes`,
          `:[127.0.0.4]:${mx.port} relayuser s3cret\n`,
        );
      });
      try {
        s.ctx.controls = loadRemoteControls(s.home);
        const report = await deliverRemote(await s.job("bob@elsewhere.test"), s.ctx);
        assertEquals(report.status, "K");
        assertEquals(mx.messages[0].user, "relayuser");
      } finally {
        await s.close();
      }
    },
  );
});

Deno.test("remote: two messages share one connection (RSET between)", async () => {
  await withMx([{ host: "127.0.0.2" }], async ([mx]) => {
    const s = await makeTestRemote(ZONE, mx.port);
    try {
      assertEquals((await deliverRemote(await s.job("a@example.test"), s.ctx)).status, "K");
      assertEquals((await deliverRemote(await s.job("b@example.test"), s.ctx)).status, "K");
      assertEquals(mx.connections(), 1);
      assertEquals(mx.messages.map((m) => m.connection), [1, 1]);
    } finally {
      await s.close();
    }
  });
});

/**
 * A scripted SMTP server (loopback) for what smtp-server cannot do: it
 * accepts everything and closes the connection when it reads RSET.
 */
function startRsetDropper(host: string): {
  port: number;
  connections: () => number;
  delivered: () => number;
  close(): Promise<void>;
} {
  const listener = Deno.listen({ hostname: host, port: 0 });
  let connections = 0;
  let delivered = 0;
  const open = new Set<Deno.Conn>();
  const serve = async (conn: Deno.Conn) => {
    open.add(conn);
    const encoder = new TextEncoder();
    const say = (line: string) => conn.write(encoder.encode(`${line}\r\n`));
    let pending = "";
    let inData = false;
    try {
      await say("220 dropper ESMTP");
      const buffer = new Uint8Array(65536);
      for (let reads = 0; reads < 10000; reads++) {
        const n = await conn.read(buffer);
        if (n === null) break;
        pending += new TextDecoder().decode(buffer.subarray(0, n));
        let lf: number;
        while ((lf = pending.indexOf("\n")) >= 0) {
          const line = pending.slice(0, lf).replace(/\r$/, "");
          pending = pending.slice(lf + 1);
          if (inData) {
            if (line === ".") {
              inData = false;
              delivered++;
              await say("250 queued");
            }
            continue;
          }
          const verb = line.slice(0, 4).toUpperCase();
          if (verb === "RSET" || verb === "QUIT") {
            conn.close();
            return;
          }
          if (verb === "EHLO") await say("250-dropper\r\n250 PIPELINING");
          else if (verb === "DATA") {
            inData = true;
            await say("354 go");
          } else await say("250 ok");
        }
      }
    } catch {
      // The client went away.
    } finally {
      open.delete(conn);
      try {
        conn.close();
      } catch {
        // Already closed.
      }
    }
  };
  const accepting = (async () => {
    for await (const conn of listener) {
      connections++;
      serve(conn);
    }
  })();
  const port = (listener.addr as Deno.NetAddr).port;
  return {
    port,
    connections: () => connections,
    delivered: () => delivered,
    async close() {
      listener.close();
      for (const conn of open) {
        try {
          conn.close();
        } catch {
          // Already closed.
        }
      }
      await accepting.catch(() => {});
    },
  };
}

Deno.test("remote: a reused connection that dies at RSET is retried on a fresh one", async () => {
  const server = startRsetDropper("127.0.0.2");
  const s = await makeTestRemote(ZONE, server.port);
  try {
    assertEquals((await deliverRemote(await s.job("a@example.test"), s.ctx)).status, "K");
    assertEquals(s.ctx.pool.idleCount(), 1);
    const second = await deliverRemote(await s.job("b@example.test"), s.ctx);
    assertEquals(second.status, "K");
    assertMatch(second.text, /^127\.0\.0\.2 accepted message\.\nRemote host said: 250 queued\n$/);
    assertEquals(server.connections(), 2);
    assertEquals(server.delivered(), 2);
  } finally {
    await s.close();
    await server.close();
  }
});
