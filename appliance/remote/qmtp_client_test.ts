import { assert, assertEquals, assertMatch } from "../../tests/assert.ts";
import { loadRemoteControls } from "../../config/remote.ts";
import { Resolver } from "../dns/resolver.ts";
import { makeTestQueue } from "../queue/test_queue.ts";
import { checkBatvAddress } from "../send/batv.ts";
import { ConnectionPool } from "./connection_pool.ts";
import { buildIpMe } from "./ipme.ts";
import {
  deliverQmtp,
  formatNetstring,
  formatQmtpEnvelope,
  formatQmtpRecords,
  QmtpAnswerParser,
} from "./qmtp_client.ts";
import type { SmtpConnection } from "./pooled_connection.ts";
import type { RemoteContext } from "./remote_context.ts";
import { deliverRemote } from "./remote_delivery.ts";
import { startQmtpServer } from "../../tests/fakes/fake_qmtp.ts";

const bytes = (s: string) => new TextEncoder().encode(s);

Deno.test("netstrings: envelope after the message", () => {
  assertEquals(formatNetstring(""), "0:,");
  assertEquals(formatNetstring("a@b"), "3:a@b,");
  assertEquals(formatQmtpEnvelope("s@x", ["r@y", "q@z"]), ",3:s@x,12:3:r@y,3:q@z,,");
});

Deno.test("QmtpAnswerParser: answers across chunks; malformed input", () => {
  const parser = new QmtpAnswerParser();
  for (const piece of ["1", "1:Kok thanks", "x,5:Dno", "pe,"]) parser.push(bytes(piece));
  assertEquals(parser.answers, [{ status: "K", text: "ok thanksx" }, {
    status: "D",
    text: "nope",
  }]);
  assertEquals(parser.malformed, false);
  for (const bad of ["3:Xab,", "0:,", "x:", "3:Kab;", "9999999:"]) {
    const broken = new QmtpAnswerParser();
    broken.push(bytes(bad));
    assertEquals(broken.malformed, true, bad);
  }
});

Deno.test("formatQmtpRecords: K/Z/D as qmail-remote records", () => {
  assertEquals(formatQmtpRecords("1.2.3.4", [{ status: "K", text: "ok 42" }]), [
    { kind: "r", text: "" },
    { kind: "K", text: "1.2.3.4 accepted message.\nRemote host said: ok 42\n" },
  ]);
  assertEquals(formatQmtpRecords("1.2.3.4", [{ status: "Z", text: "full" }]), [
    { kind: "s", text: "1.2.3.4 does not like recipient.\nRemote host said: full\n" },
    { kind: "D", text: "Giving up on 1.2.3.4.\n" },
  ]);
  assertEquals(formatQmtpRecords("1.2.3.4", [{ status: "D", text: "no\nsuch user" }])[0], {
    kind: "h",
    text: "1.2.3.4 does not like recipient.\nRemote host said: no\nsuch user\n",
  });
});

async function withMessage(body: string, run: (file: Deno.FsFile) => Promise<void>) {
  const path = await Deno.makeTempFile({ prefix: "qmd-qmtp-" });
  try {
    await Deno.writeTextFile(path, body);
    using file = await Deno.open(path, { read: true });
    await run(file);
  } finally {
    await Deno.remove(path);
  }
}

Deno.test("deliverQmtp: the message, sender and recipients on the wire; K/D answers", async () => {
  const server = startQmtpServer(
    "127.0.0.5",
    (r) => r.startsWith("no") ? "Dsorry, no mailbox here" : "Kok 1234 qp 99",
  );
  try {
    const body = "Subject: q\n\n.dot stays\nno final LF";
    await withMessage(body, async (file) => {
      const options = {
        ip: "127.0.0.5",
        port: server.port,
        connectTimeoutMs: 5000,
        timeoutMs: 5000,
        file,
        size: body.length,
        sender: "a@qmd.test",
        recipients: ["bob@x.test", "nobody@x.test"],
      };
      const outcome = await deliverQmtp(options);
      assertEquals(outcome, {
        kind: "done",
        records: [
          { kind: "r", text: "" },
          {
            kind: "h",
            text: "127.0.0.5 does not like recipient.\nRemote host said: sorry, no mailbox here\n",
          },
          { kind: "K", text: "127.0.0.5 accepted message.\nRemote host said: ok 1234 qp 99\n" },
        ],
      });
      assertEquals(server.received[0], {
        message: `\n${body}`,
        sender: "a@qmd.test",
        recipients: ["bob@x.test", "nobody@x.test"],
      });
      // The file is read from its start again for a second attempt.
      const again = await deliverQmtp({ ...options, sender: "", recipients: ["nobody@x.test"] });
      assertEquals(again.kind === "done" && again.records.map((r) => r.kind), ["h", "D"]);
      assertEquals(server.received[1].message, `\n${body}`);
      assertEquals(server.received[1].sender, "");
    });
  } finally {
    await server.close();
  }
});

Deno.test("deliverQmtp: malformed answer, dropped connection, refused connection", async () => {
  await withMessage("x\n", async (file) => {
    const base = {
      ip: "127.0.0.5",
      connectTimeoutMs: 5000,
      timeoutMs: 5000,
      file,
      size: 2,
      sender: "a@qmd.test",
      recipients: ["b@x.test"],
    };
    const malformed = startQmtpServer("127.0.0.5", () => "", "5:Xnope,");
    try {
      assertEquals(await deliverQmtp({ ...base, port: malformed.port }), {
        kind: "done",
        records: [{
          kind: "Z",
          text: "Connected to 127.0.0.5 but the QMTP answer was malformed. (#4.3.0)\n",
        }],
      });
    } finally {
      await malformed.close();
    }
    const silent = startQmtpServer("127.0.0.5", () => "", "");
    try {
      assertEquals(await deliverQmtp({ ...base, port: silent.port }), {
        kind: "done",
        records: [{
          kind: "Z",
          text: "Connected to 127.0.0.5 but connection died. Possible duplicate! (#4.4.2)\n",
        }],
      });
    } finally {
      await silent.close();
    }
    const refused = await deliverQmtp({ ...base, port: silent.port });
    assertEquals(refused.kind === "unconnected" && refused.failure, "refused");
  });
});

Deno.test("remote: qmtproutes deliver over QMTP with a BATV-signed sender", async () => {
  const home = await Deno.makeTempDir({ prefix: "qmd-qmtp-" });
  const server = startQmtpServer("127.0.0.5", () => "Kthanks, queued");
  const pool = new ConnectionPool<SmtpConnection>({ idleMs: 2000 });
  try {
    const layout = makeTestQueue(home);
    Deno.mkdirSync(`${home}/control`, { recursive: true });
    Deno.writeTextFileSync(`${home}/control/me`, "qmd.test\n");
    Deno.writeTextFileSync(`${home}/control/qmtproutes`, `q.test:[127.0.0.5]:${server.port}\n`);
    Deno.writeTextFileSync(`${home}/control/signkey`, "batv-secret\n");
    const controls = loadRemoteControls(home);
    const ctx: RemoteContext = {
      home,
      layout,
      controls,
      // A relay given as an address literal needs no DNS.
      resolver: new Resolver({ nameServers: [{ ipAddr: "127.0.0.1", port: 9 }] }),
      tcpto: { isDead: () => Promise.resolve(false), record: () => Promise.resolve() },
      ipme: buildIpMe({ moreIpMe: [], notIpMe: [{ address: "127.0.0.0", prefixLength: 8 }] }, []),
      pool,
      now: () => Date.now(),
      random: Math.random,
    };
    const mess = layout.messName(4242);
    await Deno.writeTextFile(`${layout.root}/mess/${mess}`, "Subject: hi\n\nhello\n");
    const report = await deliverRemote(
      { delivery: 3, id: "4242", mess, sender: "a@qmd.test", recipient: "bob@q.test" },
      ctx,
    );
    assertEquals(report, {
      delivery: 3,
      status: "K",
      text: "127.0.0.5 accepted message.\nRemote host said: thanks, queued\n",
    });
    const got = server.received[0];
    assertEquals(got.message, "\nSubject: hi\n\nhello\n");
    assertEquals(got.recipients, ["bob@q.test"]);
    assertMatch(got.sender, /^prvs=0\d{3}[0-9a-f]{6}=a@qmd\.test$/);
    const today = Math.floor(Date.now() / 86_400_000);
    assert(checkBatvAddress(got.sender, "batv-secret", today, controls.signKeyStale).ok);
  } finally {
    pool.close();
    await server.close();
    await Deno.remove(home, { recursive: true });
  }
});
