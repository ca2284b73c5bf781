import { assert, assertEquals } from "../../tests/assert.ts";
import { loadRemoteControls } from "../../config/remote.ts";
import { type LogRecord, setLogSink } from "../log.ts";
import { deliverRemote } from "./remote_delivery.ts";
import { makeTestRemote, withMx, ZONE } from "./test_remote.ts";

Deno.test("remote: session log shows the dialogue, never AUTH data or DATA", async () => {
  await withMx(
    [{ host: "127.0.0.4", auth: { user: "relayuser", password: "s3cret" } }],
    async ([mx]) => {
      const s = await makeTestRemote(ZONE, mx.port, (home) => {
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
