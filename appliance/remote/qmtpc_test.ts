/**
 * qmtpc (docs/patches.md seed 000's qmtpc patch; qmd's control/qmtpc, off by
 * default): mail sent by MX tries QMTP on each address first and falls back to
 * SMTP there when nothing answers on the QMTP port. The MX comes from a fake DNS
 * zone, QMTP from a tiny loopback server (tests/fakes/fake_qmtp.ts), SMTP from
 * nodemailer's smtp-server (tests/fakes/fake_mx.ts). The QMTP port is 209; the
 * tests set controls.qmtpcPort, which no control file sets.
 */
import { assertEquals } from "../../tests/assert.ts";
import { startQmtpServer } from "../../tests/fakes/fake_qmtp.ts";
import { freePort } from "../net/free_port.ts";
import { loadRemoteControls } from "../../config/remote.ts";
import { createCertificate } from "../tls/self_signed.ts";
import { qmtpFirstRoute } from "./qmtp_attempt.ts";
import { deliverRemote } from "./remote_delivery.ts";
import { makeTestRemote, withMx, ZONE } from "./test_remote.ts";

Deno.test("qmtpc: mail by MX goes over QMTP when the MX answers on the QMTP port", async () => {
  const qmtp = startQmtpServer("127.0.0.2", () => "Kok, queued by qmtp");
  try {
    await withMx([{ host: "127.0.0.2" }], async ([mx]) => {
      const s = await makeTestRemote(ZONE, mx.port, (home, controls) => {
        Deno.writeTextFileSync(`${home}/control/qmtpc`, "1\n");
        controls.qmtpc = true;
        controls.qmtpcPort = qmtp.port;
      });
      try {
        const report = await deliverRemote(await s.job("bob@example.test"), s.ctx);
        assertEquals(report.status, "K");
        assertEquals(
          report.text,
          "127.0.0.2 accepted message.\nRemote host said: ok, queued by qmtp\n",
        );
        assertEquals(qmtp.received.map((got) => got.recipients), [["bob@example.test"]]);
        assertEquals(qmtp.received[0].message, "\nSubject: hi\n\nhello\n.dot\n");
        assertEquals(mx.connections(), 0);
      } finally {
        await s.close();
      }
    });
  } finally {
    await qmtp.close();
  }
});

Deno.test("qmtpc: a refused QMTP port falls back to SMTP on the same address; tcpto hears only of SMTP", async () => {
  await withMx([{ host: "127.0.0.2" }], async ([mx]) => {
    const closed = await freePort("127.0.0.2");
    const s = await makeTestRemote(ZONE, mx.port, (_home, controls) => {
      controls.qmtpc = true;
      controls.qmtpcPort = closed;
    });
    // What the table is told: one connection outcome per address tried, SMTP's only (a
    // QMTP port that does not answer says nothing about the address's SMTP).
    const told: string[] = [];
    const { tcpto } = s.ctx;
    s.ctx.tcpto = {
      isDead: (ip) => tcpto.isDead(ip),
      record: (ip, timedOut) => {
        told.push(`${ip} ${timedOut}`);
        return tcpto.record(ip, timedOut);
      },
    };
    try {
      for (let round = 0; round < 2; round++) {
        const report = await deliverRemote(await s.job("bob@example.test"), s.ctx);
        assertEquals(report.status, "K", report.text);
      }
      assertEquals(mx.messages.length, 2);
      // The second message went over the pooled SMTP connection: no new connection to record.
      assertEquals(told, ["127.0.0.2 false"]);
    } finally {
      await s.close();
    }
  });
});

/** Any certificate will do as a pin: only the file's presence matters here. */
const CA_PEM = (await createCertificate({ commonName: "pin", usage: "ca" })).certPem;

Deno.test("qmtpc: QMTP has no TLS, so never with tlsremote nor for a host tlshosts/ pins", () => {
  const route = { kind: "smtp" as const, port: 25, source: "none" as const };
  const target = { ip: "127.0.0.2", host: "mx1.example.test", preference: 10 };
  const home = Deno.makeTempDirSync();
  try {
    Deno.mkdirSync(`${home}/control/tlshosts`, { recursive: true });
    const controls = { ...loadRemoteControls(home), qmtpc: true };
    assertEquals(qmtpFirstRoute(route, target, { home, controls }), {
      kind: "qmtp",
      port: 209,
      source: "none",
    });
    const tlsRemote = { ...controls, tlsRemote: true };
    assertEquals(qmtpFirstRoute(route, target, { home, controls: tlsRemote }), undefined);
    Deno.writeTextFileSync(`${home}/control/tlshosts/mx1.example.test.pem`, CA_PEM);
    assertEquals(qmtpFirstRoute(route, target, { home, controls }), undefined);
    const other = { ...target, host: "mx2.example.test" };
    assertEquals(qmtpFirstRoute(route, other, { home, controls })?.kind, "qmtp");
  } finally {
    Deno.removeSync(home, { recursive: true });
  }
});

Deno.test("qmtpc: off by default, and never for a route that names a relay", async () => {
  const qmtp = startQmtpServer("127.0.0.2", () => "Kqmtp");
  try {
    await withMx([{ host: "127.0.0.2" }], async ([mx]) => {
      const off = await makeTestRemote(ZONE, mx.port, (home, controls) => {
        assertEquals(controls.qmtpc, false);
        Deno.writeTextFileSync(`${home}/control/qmtpc`, "0\n");
        controls.qmtpcPort = qmtp.port;
      });
      const relayed = await makeTestRemote(ZONE, mx.port, (_home, controls) => {
        controls.qmtpc = true;
        controls.qmtpcPort = qmtp.port;
        controls.smtproutes.unshift({
          key: "example.test",
          relay: "[127.0.0.2]",
          port: mx.port,
          line: 1,
        });
      });
      try {
        assertEquals((await deliverRemote(await off.job("bob@example.test"), off.ctx)).status, "K");
        assertEquals(
          (await deliverRemote(await relayed.job("bob@example.test"), relayed.ctx)).status,
          "K",
        );
        assertEquals(mx.messages.length, 2);
        assertEquals(qmtp.received, []);
      } finally {
        await off.close();
        await relayed.close();
      }
    });
  } finally {
    await qmtp.close();
  }
});
