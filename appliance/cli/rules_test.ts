import { assert, assertEquals, assertStringIncludes } from "../../tests/assert.ts";
import { makeInitedHome } from "../../tests/harness.ts";
import { startFakeDns } from "../../tests/fakes/fake_dns.ts";
import { FAKE_MODULES } from "../../tests/fakes/fake_checks.ts";
import { captureConsole } from "./test_io.ts";
import { main } from "./rules.ts";
import type { SessionTrace } from "../filters/filter.ts";
import { formatTraceLine } from "../trace/trace_format.ts";

async function rules(args: string[]) {
  const { result, out, err } = await captureConsole(() => main(args, FAKE_MODULES));
  return { code: result, out, err };
}

Deno.test("rules test: every check's decision, past a refusal, and the session's verdict", async () => {
  const home = await makeInitedHome({ fakelist: "# spammers\n@spam.example\n@junk.example" });
  const message = `${home}/message.eml`;
  Deno.writeTextFileSync(message, "Subject: hi\n\nthis is EVIL\n");
  const run = await rules([
    "test",
    "--home",
    home,
    "--ip",
    "192.0.2.7",
    "--helo",
    "client.example",
    "--from",
    "x@junk.example",
    "--to",
    "postmaster@mx.example.test",
    "--to",
    "joe@mx.example.test",
    "--message",
    message,
  ]);
  assertEquals(run.err, []);
  assertEquals(run.code, 1, run.out.join("\n"));
  const text = run.out.join("\n");
  assertStringIncludes(text, "every check is asked, even after one refused");
  // MAIL refused by control/fakelist line 3, and still the RCPTs and the content are asked.
  assert(
    run.out.some((line) =>
      /^mail +fakelist +refuse +x@junk\.example +rule control\/fakelist:3 "@junk\.example" +reply "553 sorry, your envelope sender is fake \(#5\.7\.1\)"$/
        .test(line)
    ),
    text,
  );
  assert(
    run.out.some((line) => /^rcpt +fakewhite +accept +postmaster@mx\.example\.test/.test(line)),
    text,
  );
  assert(run.out.some((line) => /^rcpt +fakewhite +pass +joe@mx\.example\.test/.test(line)), text);
  assert(run.out.some((line) => /^end +fakesig +refuse +message \(26 bytes\)/.test(line)), text);
  assertEquals(
    run.out.at(-1),
    'verdict: refused at mail by fakelist (control/fakelist:3 "@junk.example"): ' +
      "553 sorry, your envelope sender is fake (#5.7.1)",
  );
});

Deno.test("rules test: a clean session is accepted; --env turns a check off; tcp.smtp's variables count", async () => {
  const home = await makeInitedHome({ fakelist: "@junk.example" });
  const clean = await rules([
    "test",
    "--home",
    home,
    "--ip",
    "192.0.2.7",
    "--from",
    "a@good.example",
    "--to",
    "joe@mx.example.test",
  ]);
  assertEquals(clean.code, 0, clean.out.join("\n"));
  assertEquals(clean.out.at(-1), "verdict: accepted for <joe@mx.example.test>");
  const off = await rules([
    "test",
    "--home",
    home,
    "--ip",
    "192.0.2.7",
    "--from",
    "x@junk.example",
    "--env",
    "NOFAKELIST=1",
  ]);
  assertEquals(off.code, 0, off.out.join("\n"));
  assert(!off.out.some((line) => line.includes("fakelist")), off.out.join("\n"));
  // The same switch from tcp.smtp for this client's IP.
  Deno.writeTextFileSync(`${home}/tcp.smtp`, '192.0.2.:allow,NOFAKELIST=""\n');
  const fromRules = await rules([
    "test",
    "--home",
    home,
    "--ip",
    "192.0.2.9",
    "--from",
    "x@junk.example",
  ]);
  assertEquals(fromRules.code, 0, fromRules.out.join("\n"));
  assertEquals(fromRules.out.at(-1), "verdict: nothing refused");
});

Deno.test("rules test: DNS answers come from --dns; a listed client is refused at connect", async () => {
  const dns = await startFakeDns({ "7.2.0.192.bl.example": { a: ["127.0.0.2"] } });
  try {
    const home = await makeInitedHome({ fakebl: "bl.example" });
    const args = ["test", "--home", home, "--dns", `127.0.0.1:${dns.port}`, "--ip"];
    const listed = await rules([...args, "192.0.2.7"]);
    assertEquals(listed.code, 1, listed.out.join("\n"));
    assert(
      listed.out.some((line) =>
        /^connect +fakebl +lookup +192\.0\.2\.7 \(A 7\.2\.0\.192\.bl\.example\)$/.test(line)
      ),
      listed.out.join("\n"),
    );
    assertStringIncludes(listed.out.at(-1)!, "verdict: refused at connect by fakebl");
    assertStringIncludes(listed.out.at(-1)!, "553 listed in bl.example");
    const clean = await rules([...args, "192.0.2.8"]);
    assertEquals(clean.code, 0, clean.out.join("\n"));
    assert(
      clean.out.some((line) => /^connect +fakebl +pass +192\.0\.2\.8$/.test(line)),
      clean.out.join("\n"),
    );
    assertEquals(dns.queries.map((query) => query.name), [
      "7.2.0.192.bl.example",
      "8.2.0.192.bl.example",
    ]);
  } finally {
    await dns.close();
  }
});

Deno.test("rules test: usage errors, a broken control file and a missing home", async () => {
  const home = await makeInitedHome({ fakelist: "@ok.example\nbad entry" });
  const broken = await rules(["test", "--home", home, "--ip", "192.0.2.7"]);
  assertEquals(broken.code, 100);
  assertEquals(broken.err.length, 1);
  assertStringIncludes(broken.err[0], "control/fakelist");
  assertStringIncludes(broken.err[0], "2");
  for (
    const [args, text] of [
      [["test", "--home", home], "--ip needs an address"],
      [["test", "--home", home, "--ip", "1.2.3.4", "--dns", "nowhere"], "--dns"],
      [["test", "--home", home, "--ip", "1.2.3.4", "--env", "X"], '--env "X" is not K=V'],
      [["test", "--home", home, "--ip", "1.2.3.4", "--to", "a@b"], "--to needs --from"],
      [["frob"], 'unknown subcommand "frob"'],
      [[], "expected test or replay"],
      [["replay", "--home", home], "expected a LOGFILE"],
    ] as [string[], string][]
  ) {
    const run = await rules(args);
    assertEquals(run.code, 64, args.join(" "));
    assertStringIncludes(run.err.join("\n"), text);
  }
  const missing = await rules(["test", "--home", `${home}/nowhere`, "--ip", "1.2.3.4"]);
  assertEquals(missing.code, 100);
  assertStringIncludes(missing.err[0], `${home}/nowhere`);
});

function trace(sessionId: string, ip: string, sender: string, recipients: string[]): SessionTrace {
  return {
    sessionId,
    start: Date.parse("2026-12-02T12:00:00Z"),
    remoteIp: ip,
    helo: "client.example",
    decisions: [],
    messages: [{ queueId: "1", sender, recipients }],
  };
}

Deno.test("rules replay: trace files and both log formats, hit counts per rule against the current files", async () => {
  const home = await makeInitedHome({ fakelist: "@junk.example\n@spam.example" });
  const traces = `${home}/log/trace/2026-12-02.jsonl`;
  Deno.writeTextFileSync(
    traces,
    [
      trace("1.1", "192.0.2.1", "a@good.example", ["joe@mx.example.test"]),
      trace("1.2", "192.0.2.2", "b@junk.example", ["joe@mx.example.test"]),
      trace("1.3", "192.0.2.3", "c@spam.example", ["joe@mx.example.test"]),
    ].map(formatTraceLine).join("\n") + "\nnot json\n",
  );
  const textLog = `${home}/qmd.log`;
  Deno.writeTextFileSync(
    textLog,
    [
      "1764676800.000000 smtpd 2.1: connect 192.0.2.4 smtp",
      "1764676800.100000 smtpd 2.1: reject: RCPT from 192.0.2.4 helo=<h.example>: 553 sorry, " +
      "that domain isn't in my list of allowed rcpthosts; from=<d@junk.example> to=<x@victim.example>",
      "1764676800.200000 smtpd 2.1: reject: RCPT from 192.0.2.4 helo=<h.example>: 553 sorry; " +
      "from=<d@junk.example> to=<y@victim.example>",
      "1764676800.300000 smtpd 2.1: close",
      // The same session id after a restart is another session.
      "1764676900.000000 smtpd 2.1: connect 192.0.2.5 smtp",
      "1764676900.100000 smtpd 2.1: reject: MAIL from 192.0.2.5 helo=<>: 553 no; from=<e@spam.example>",
      "1764676900.200000 delivery 1: success: did_0+0+1/",
    ].join("\n") + "\n",
  );
  const jsonLog = `${home}/qmd.json`;
  Deno.writeTextFileSync(
    jsonLog,
    JSON.stringify({
      time: "2026-12-02T12:00:00.000Z",
      role: "smtpd",
      event: "smtp_reject",
      session: "3.1",
      command: "RCPT",
      remote: "192.0.2.6",
      helo: "h.example",
      sender: "f@good.example",
      recipient: "z@victim.example",
      reply: "553 sorry",
      text: "smtpd 3.1: reject: ...",
    }) + "\n",
  );
  const run = await rules(["replay", "--home", home, traces, textLog, jsonLog]);
  assertEquals(run.err, []);
  assertEquals(run.code, 0);
  assertEquals(run.out, [
    "6 sessions replayed against the current control files; 4 would be refused",
    "sessions  verdict    check         rule",
    '       2  refuse     fakelist      control/fakelist:1 "@junk.example"',
    '       2  refuse     fakelist      control/fakelist:2 "@spam.example"',
  ]);
  const json = await rules(["replay", "--home", home, "--json", traces]);
  const report = JSON.parse(json.out[0]);
  assertEquals(report.sessions, 3);
  assertEquals(report.refused, 2);
  assertEquals(report.skippedLines, 1);
  assertEquals(report.hits.length, 2);
});

Deno.test("rules replay: without --dns, DNS checks are counted as needing DNS; with it, decided", async () => {
  const dns = await startFakeDns({ "1.2.0.192.bl.example": { a: ["127.0.0.2"] } });
  try {
    const home = await makeInitedHome({ fakebl: "bl.example" });
    const traces = `${home}/log/trace/2026-12-02.jsonl`;
    Deno.writeTextFileSync(
      traces,
      [
        trace("1.1", "192.0.2.1", "a@good.example", ["joe@mx.example.test"]),
        trace("1.2", "192.0.2.2", "b@good.example", ["joe@mx.example.test"]),
      ].map(formatTraceLine).join("\n") + "\n",
    );
    const offline = await rules(["replay", "--home", home, traces]);
    assertEquals(offline.out, [
      "2 sessions replayed against the current control files; 0 would be refused",
      "no rule matched",
      "2 sessions need DNS (replay with --dns IP:PORT to decide them):",
      "       2  fakebl",
    ]);
    assertEquals(dns.queries, []);
    const online = await rules([
      "replay",
      "--home",
      home,
      "--dns",
      `127.0.0.1:${dns.port}`,
      traces,
    ]);
    assertEquals(online.out, [
      "2 sessions replayed against the current control files; 1 would be refused",
      "sessions  verdict    check         rule",
      '       1  refuse     fakebl        control/fakebl:1 "bl.example"',
    ]);
  } finally {
    await dns.close();
  }
});

Deno.test("rules replay: an unreadable LOGFILE is named", async () => {
  const home = await makeInitedHome();
  const run = await rules(["replay", "--home", home, `${home}/nope.log`]);
  assertEquals(run.code, 111);
  assertStringIncludes(run.err[0], `${home}/nope.log`);
});
