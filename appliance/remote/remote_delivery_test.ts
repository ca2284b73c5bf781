import { assert, assertEquals, assertMatch, assertStringIncludes } from "../../tests/assert.ts";
import { type FakeZone, startFakeDns } from "../../tests/fakes/fake_dns.ts";
import { type FakeMx, type FakeMxOptions, startFakeMx } from "../../tests/fakes/fake_mx.ts";
import { startLenientMx } from "../../tests/fakes/lenient_mx.ts";
import { loadRemoteControls, type RemoteControls } from "../../config/remote.ts";
import { Resolver } from "../dns/resolver.ts";
import type { DeliveryJob } from "../ipc.ts";
import { makeTestQueue } from "../queue/test_queue.ts";
import { readTcpto } from "./tcpto.ts";
import { type LogRecord, setLogSink } from "../log.ts";
import { batvDay, checkBatvAddress } from "../send/batv.ts";
import { createSelfSignedCertificate } from "../tls/self_signed.ts";
import { ConnectionPool } from "./connection_pool.ts";
import { buildIpMe } from "./ipme.ts";
import {
  DataEncoder,
  deliverRemote,
  envelopeSender,
  orderMxHosts,
  type RemoteContext,
  type SmtpConnection,
  tcptoFile,
} from "./remote_delivery.ts";

const text = (bytes: Uint8Array) => new TextDecoder().decode(bytes);
const bytes = (s: string) => new TextEncoder().encode(s);

Deno.test("DataEncoder: CRLF, dot-stuffing across chunks, partial final line", () => {
  const encoder = new DataEncoder();
  const out = [bytes(".a\nb"), bytes("\n"), bytes(".c\n..d\n")].map((c) => text(encoder.push(c)));
  assertEquals(out.join(""), "..a\r\nb\r\n..c\r\n...d\r\n");
  assertEquals(encoder.partialFinalLine, false);
  const partial = new DataEncoder();
  partial.push(bytes("x\ny"));
  assertEquals(partial.partialFinalLine, true);
  assertEquals(new DataEncoder().partialFinalLine, false);
});

/** The encoder's output for BODY, fed in one chunk and split at every possible point. */
function encodeEverySplit(body: string): string {
  const whole = new DataEncoder();
  const expected = text(whole.push(bytes(body)));
  for (let cut = 1; cut < body.length; cut++) {
    const split = new DataEncoder();
    const out = text(split.push(bytes(body.slice(0, cut)))) +
      text(split.push(bytes(body.slice(cut))));
    assertEquals(out, expected, `split at ${cut}`);
    assertEquals(split.partialFinalLine, whole.partialFinalLine, `split at ${cut}`);
  }
  return expected;
}

Deno.test("DataEncoder: a lone CR goes out as CRLF and a dot after it is doubled (RFC 5321 §2.3.8)", () => {
  // A receiver that ends lines at a bare CR would have read "\r.\r" as the end of the data.
  assertEquals(encodeEverySplit("a\r.\rb\n"), "a\r\n..\r\nb\r\n");
  assertEquals(encodeEverySplit("x\n\r.\r\n"), "x\r\n\r\n..\r\n");
  assertEquals(encodeEverySplit(".\r"), "..\r\n");
  assertEquals(encodeEverySplit("\r\r.\n"), "\r\n\r\n..\r\n");
  // CR LF in the queued message is one line end, as notqmail's qmail-remote sends it (not CR CR LF).
  assertEquals(
    encodeEverySplit("Subject: s\r\n\r\nbody\r\n.\r\n"),
    "Subject: s\r\n\r\nbody\r\n..\r\n",
  );
  // A message that ends in a lone CR ends with a line end, not with a partial line.
  const encoder = new DataEncoder();
  assertEquals(text(encoder.push(bytes("last\r"))), "last\r\n");
  assertEquals(encoder.partialFinalLine, false);
});

Deno.test("DataEncoder: a message without CR is encoded exactly as before", () => {
  assertEquals(
    encodeEverySplit("Subject: hi\n\n.hello\n..\n.\nend\n"),
    "Subject: hi\r\n\r\n..hello\r\n...\r\n..\r\nend\r\n",
  );
});

Deno.test("remote: a receiver that ends lines at a bare CR or LF reads the whole body", async () => {
  const mx = await startLenientMx("127.0.0.2");
  const s = await setup(ZONE, mx.port);
  try {
    // As qmd smtpd and qmail-smtpd store them: lone CRs kept, CRLF already LF.
    const body = "Subject: cr\n\na\r.\rb\n\r.\r\nc\n.\rd\n..\r.\nend\n";
    const report = await deliverRemote(await s.job("bob@example.test", body), s.ctx);
    assertEquals(report.status, "K", report.text);
    assertEquals(mx.stray, []);
    assertEquals(mx.messages, [
      ["Subject: cr", "", "a", ".", "b", "", ".", "c", ".", "d", "..", ".", "end"],
    ]);
  } finally {
    await s.close();
    await mx.close();
  }
});

Deno.test("orderMxHosts: ascending preference, equal preferences shuffled", () => {
  const hosts = [
    { preference: 20, exchange: "c" },
    { preference: 10, exchange: "a" },
    { preference: 10, exchange: "b" },
  ];
  assertEquals(orderMxHosts(hosts, () => 0.5).map((h) => h.exchange), ["a", "b", "c"]);
  let n = 0;
  const descending = () => 1 - (n++) / 10;
  assertEquals(orderMxHosts(hosts, descending).map((h) => h.exchange), ["b", "a", "c"]);
});

interface Setup {
  home: string;
  ctx: RemoteContext;
  job(recipient: string, body?: string | Uint8Array, sender?: string): Promise<DeliveryJob>;
  close(): Promise<void>;
}

let nextId = 1000;

async function setup(
  zone: FakeZone,
  port: number,
  configure: (home: string, controls: RemoteControls) => void = () => {},
): Promise<Setup> {
  const home = await Deno.makeTempDir({ prefix: "qmd-remote-" });
  const layout = makeTestQueue(home);
  Deno.mkdirSync(`${home}/control/tlshosts`, { recursive: true });
  Deno.writeTextFileSync(`${home}/control/me`, "qmd.test\n");
  const dns = await startFakeDns(zone);
  const controls = loadRemoteControls(home);
  // Every MX listens on the fake's port: an empty-key route with no relay.
  controls.smtproutes.push({ key: "", relay: "", port, line: 99 });
  configure(home, controls);
  const pool = new ConnectionPool<SmtpConnection>({ idleMs: 2000 });
  const ctx: RemoteContext = {
    home,
    layout,
    controls,
    resolver: new Resolver({ nameServers: [{ ipAddr: "127.0.0.1", port: dns.port }] }),
    tcpto: tcptoFile(`${layout.root}/lock/tcpto`, () => Math.floor(Date.now() / 1000), 7),
    ipme: buildIpMe({ moreIpMe: [], notIpMe: [{ address: "127.0.0.0", prefixLength: 8 }] }, []),
    pool,
    now: () => Date.now(),
    random: Math.random,
  };
  return {
    home,
    ctx,
    async job(recipient, body = "Subject: hi\n\nhello\n.dot\n", sender = "a@qmd.test") {
      const id = nextId++;
      const mess = layout.messName(id);
      await Deno.writeFile(
        `${layout.root}/mess/${mess}`,
        typeof body === "string" ? bytes(body) : body,
      );
      return { delivery: id % 100, id: String(id), mess, sender, recipient };
    },
    async close() {
      pool.close();
      await dns.close();
      await Deno.remove(home, { recursive: true });
    },
  };
}

async function withMx(
  options: FakeMxOptions[],
  run: (mxs: FakeMx[]) => Promise<void>,
): Promise<void> {
  const mxs: FakeMx[] = [];
  try {
    for (const option of options) {
      mxs.push(await startFakeMx({ ...option, port: option.port ?? mxs[0]?.port ?? 0 }));
    }
    await run(mxs);
  } finally {
    for (const mx of mxs) await mx.close();
  }
}

const ZONE: FakeZone = {
  "example.test": {
    mx: [{ preference: 10, exchange: "mx1.example.test" }, {
      preference: 20,
      exchange: "mx2.example.test",
    }],
  },
  "mx1.example.test": { a: ["127.0.0.2"] },
  "mx2.example.test": { a: ["127.0.0.3"] },
  "amx.test": { a: ["127.0.0.2"] },
  "nomx.test": { nxdomain: true },
  "nullmx.test": { mx: [{ preference: 0, exchange: "." }] },
  "servfail.test": { servfail: true },
  "refused.test": { refused: true },
  "badmx.test": { mx: [{ preference: 10, exchange: "servfail.test" }] },
};

Deno.test("remote: success, body dot-stuffed and CRLF, report with the remote's words", async () => {
  await withMx([{ host: "127.0.0.2" }], async ([mx]) => {
    const s = await setup(ZONE, mx.port);
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
      const s = await setup(ZONE, mx.port);
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
      const s = await setup(ZONE, mx.port);
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

Deno.test("remote: greeting 4xx → next MX (seed 002)", async () => {
  await withMx([
    { host: "127.0.0.2", greeting: { code: 421, text: "busy" } },
    { host: "127.0.0.3" },
  ], async ([first, second]) => {
    const s = await setup(ZONE, first.port);
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

Deno.test("remote: no MX → A; NXDOMAIN → D; null MX → D; ourselves → #5.4.6", async () => {
  await withMx([{ host: "127.0.0.2" }], async ([mx]) => {
    const s = await setup(ZONE, mx.port);
    try {
      assertEquals((await deliverRemote(await s.job("x@amx.test"), s.ctx)).status, "K");
      const missing = await deliverRemote(await s.job("x@nomx.test"), s.ctx);
      assertEquals(missing, { ...missing, status: "D" });
      assertStringIncludes(missing.text, "couldn't find any host named nomx.test");
      const nullMx = await deliverRemote(await s.job("x@nullmx.test"), s.ctx);
      assertEquals(nullMx.status, "D");
      s.ctx.ipme = buildIpMe({ moreIpMe: [], notIpMe: [] }, []);
      const self = await deliverRemote(await s.job("x@amx.test"), s.ctx);
      assertEquals(self.status, "D");
      assertStringIncludes(self.text, "(#5.4.6)");
    } finally {
      await s.close();
    }
  });
});

Deno.test("remote: DNS SERVFAIL or REFUSED defers (Z), NXDOMAIN bounces (D), as qmail's dns.c", async () => {
  await withMx([{ host: "127.0.0.2" }], async ([mx]) => {
    const s = await setup(ZONE, mx.port);
    try {
      // The domain's own lookups fail: qmail 1.03's CNAME step reports it first.
      for (const domain of ["servfail.test", "refused.test"]) {
        const report = await deliverRemote(await s.job(`x@${domain}`), s.ctx);
        assertEquals(report.status, "Z", `${domain}: ${report.text}`);
        assertStringIncludes(report.text, "CNAME lookup failed temporarily. (#4.4.3)");
      }
      // The MX is there but its exchange's address lookup fails.
      const exchange = await deliverRemote(await s.job("x@badmx.test"), s.ctx);
      assertEquals(exchange.status, "Z", exchange.text);
      assertStringIncludes(exchange.text, "Sorry, I couldn't find any host by that name. (#4.1.2)");
      const missing = await deliverRemote(await s.job("x@nomx.test"), s.ctx);
      assertEquals(missing.status, "D", missing.text);
      assertStringIncludes(
        missing.text,
        "Sorry, I couldn't find any host named nomx.test. (#5.1.2)",
      );
      assertEquals(mx.messages.length, 0);
    } finally {
      await s.close();
    }
  });
});

Deno.test("remote: connection refused → next address; tcpto written", async () => {
  await withMx([{ host: "127.0.0.3" }], async ([mx]) => {
    const s = await setup(ZONE, mx.port);
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

Deno.test("remote: smarthost via smtproutes with AUTH", async () => {
  await withMx(
    [{ host: "127.0.0.4", auth: { user: "relayuser", password: "s3cret" } }],
    async ([mx]) => {
      const s = await setup(ZONE, mx.port, (home) => {
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

Deno.test("remote: tlshosts pin with a wrong certificate defers, never plain", async () => {
  const served = createSelfSignedCertificate({
    commonName: "mx1.example.test",
    altNames: ["mx1.example.test"],
  });
  const other = createSelfSignedCertificate({
    commonName: "mx1.example.test",
    altNames: ["mx1.example.test"],
  });
  await withMx(
    [{ host: "127.0.0.2", tls: { key: served.keyPem, cert: served.certPem } }],
    async ([mx]) => {
      const s = await setup({
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

Deno.test("remote: two messages share one connection (RSET between)", async () => {
  await withMx([{ host: "127.0.0.2" }], async ([mx]) => {
    const s = await setup(ZONE, mx.port);
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

Deno.test("remote: a 50 MB message streams with bounded memory", async () => {
  await withMx([{ host: "127.0.0.2", keepBytes: 0 }], async ([mx]) => {
    const s = await setup(ZONE, mx.port);
    try {
      const line = ".".repeat(99) + "\n";
      const size = 50 * 1024 * 1024;
      const body = bytes(line.repeat(size / line.length));
      const job = await s.job("big@example.test", body);
      const before = Deno.memoryUsage().rss;
      const report = await deliverRemote(job, s.ctx);
      const after = Deno.memoryUsage().rss;
      assertEquals(report.status, "K");
      assert(mx.messages[0].size > 0);
      console.log(
        `50 MB message: ${mx.messages[0].size} bytes received, RSS growth ${
          ((after - before) / 1048576).toFixed(1)
        } MiB`,
      );
    } finally {
      await s.close();
    }
  });
});

Deno.test("remote: BATV signs the sender when signkey is set, not for nosignhosts", async () => {
  await withMx([{ host: "127.0.0.2" }], async ([mx]) => {
    const s = await setup(ZONE, mx.port, (_home, controls) => {
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

Deno.test("remote: session log shows the dialogue, never AUTH data or DATA", async () => {
  await withMx(
    [{ host: "127.0.0.4", auth: { user: "relayuser", password: "s3cret" } }],
    async ([mx]) => {
      const s = await setup(ZONE, mx.port, (home) => {
        Deno.writeTextFileSync(
          `${home}/control/smtprelays`,
          `:[127.0.0.4]:${mx.port}|relayuser|s3cret|plain\n`,
        );
      });
      const logs: string[] = [];
      setLogSink((record: LogRecord) => logs.push(record.text), "remote");
      try {
        s.ctx.controls = loadRemoteControls(s.home);
        s.ctx.logSession = true;
        const report = await deliverRemote(
          await s.job("bob@elsewhere.test", "Subject: secret body\n\nbody words\n"),
          s.ctx,
        );
        assertEquals(report.status, "K");
        assertEquals(mx.messages[0].user, "relayuser");
        const sent = logs.filter((line) => line.startsWith("127.0.0.4 > "))
          .map((line) => line.slice(12).split(" ")[0]);
        assertEquals(sent.slice(0, 5), ["EHLO", "AUTH", "MAIL", "RCPT", "DATA"]);
        assert(logs.includes("127.0.0.4 > AUTH PLAIN <hidden>"), logs.join("\n"));
        const all = logs.join("\n");
        const plain = btoa("\0relayuser\0s3cret");
        assert(!all.includes("s3cret") && !all.includes(plain), "no AUTH data in the log");
        assert(!all.includes("body words") && !all.includes("secret body"), "no DATA in the log");
      } finally {
        await s.close();
        setLogSink((record) => console.log(record.text), "main");
      }
    },
  );
});

Deno.test("remote: greeting 4xx on every MX reports the last greeting (seed 002)", async () => {
  await withMx([
    { host: "127.0.0.2", greeting: { code: 421, text: "busy one" } },
    { host: "127.0.0.3", greeting: { code: 554, text: "go away" } },
  ], async ([first]) => {
    const s = await setup(ZONE, first.port);
    try {
      const report = await deliverRemote(await s.job("bob@example.test"), s.ctx);
      assertEquals(report.status, "Z");
      assertMatch(
        report.text,
        /^Connected to 127\.0\.0\.3 but greeting failed\.\nRemote host said: 554 /,
      );
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
  const s = await setup(ZONE, server.port);
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

Deno.test("remote: the default smtproutes relay is the fallback; straightfallback after a 4xx too", async () => {
  await withMx(
    [{ host: "127.0.0.2", rcpt: { code: 451, text: "try later" } }, { host: "127.0.0.4" }],
    async ([busy, fallback]) => {
      const s = await setup(ZONE, busy.port, (home) => {
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
