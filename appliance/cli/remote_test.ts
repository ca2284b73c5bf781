/**
 * `qmd remote HOST SENDER RECIP [RECIP ...]` as qmail-rspawn or an extraremote
 * wrapper runs it: the message on stdin, qmail-remote's NUL-terminated reports
 * on stdout (one r/h/s per recipient in the arguments' order, then K/Z/D),
 * exit 0. The peer is nodemailer's smtp-server on loopback (tests/fakes/fake_mx.ts).
 */
import { assertEquals, assertMatch } from "../../tests/assert.ts";
import { makeInitedHome, runQmd } from "../../tests/harness.ts";
import { startFakeMx } from "../../tests/fakes/fake_mx.ts";

Deno.test("qmd remote: several recipients in one call, a report each in order, then the message's", async () => {
  const mx = await startFakeMx({
    host: "127.0.0.2",
    size: 100_000,
    rcpt: (address) =>
      address.startsWith("gone@") ? { code: 550, text: "no such user" } : undefined,
  });
  try {
    const home = await makeInitedHome({ smtproutes: `remote.example:[127.0.0.2]:${mx.port}` });
    const run = await runQmd(
      [
        "remote",
        "--home",
        home,
        "remote.example",
        "joe@example.test",
        "a@remote.example",
        "gone@remote.example",
        "b@remote.example",
      ],
      { stdin: "Subject: three\n\nhello\n" },
    );
    assertEquals(run.code, 0, run.stderr);
    const reports = run.stdout.split("\0");
    assertEquals(reports.pop(), "");
    assertEquals(reports.map((report) => report[0]), ["r", "h", "r", "K"]);
    assertMatch(
      reports[1],
      /^h127\.0\.0\.2 does not like recipient\.\nRemote host said: 550.*no such user/,
    );
    assertMatch(reports[3], /^K127\.0\.0\.2 accepted message\.\nRemote host said: 250 /);
    assertEquals(mx.messages[0].recipients, ["a@remote.example", "b@remote.example"]);
    // SIZE= as sent: "Subject: three\r\n\r\nhello\r\n".
    assertEquals(mx.mailParams, [{ SIZE: "25" }]);
  } finally {
    await mx.close();
  }
});

Deno.test("qmd remote: without a recipient it is qmail-remote's improper invocation", async () => {
  const run = await runQmd(["remote", "remote.example", "joe@example.test"], { stdin: "" });
  assertEquals(run.code, 0);
  assertEquals(run.stdout, "DI (qmail-remote) was invoked improperly. (#5.3.5)\n\0");
});
