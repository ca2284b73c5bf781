/**
 * The decision trace end to end:
 *  - the appliance: sessions through `qmd start` leave their trace in
 *    HOME/log/trace (the smtpd role's onTrace), and `qmd explain` finds a
 *    session by its session id, its queue id and its Message-ID;
 *  - a refusing check: a session over a loopback socket through the real
 *    connection driver with a fake check (tests/filter_fakes.ts), its trace
 *    written by traceWriter, then `qmd explain` prints the refusal with its
 *    control file and line.
 */
import { assert, assertEquals, assertStringIncludes } from "./assert.ts";
import { addUser, makeInitedHome, runQmd, sendMessage, startQmd, waitFor } from "./harness.ts";
import { parseTranscript } from "./transcript.ts";
import { runTranscriptLive } from "./transcript_run.ts";
import { PASS, refuse } from "../appliance/filters/filter.ts";
import { traceWriter } from "../appliance/trace/store.ts";
import { fakeCheck, HELLO } from "./filter_fakes.ts";

/** `qmd explain ID` once its trace is written (traces are written after the session). */
async function explainWhenWritten(home: string, id: string) {
  return await waitFor(
    async () => {
      const run = await runQmd(["explain", id, "--home", home]);
      return run.code === 0 ? run : undefined;
    },
    15_000,
    () => `the trace of ${id} in ${home}/log/trace`,
  );
}

Deno.test("e2e: a session through the appliance is in the trace; qmd explain finds it three ways", async () => {
  const home = await makeInitedHome();
  await addUser(home, "joe@example.test", "pw 13");
  const qmd = await startQmd(home, { workers: 1 });
  try {
    const reply = await sendMessage(
      qmd.port,
      "ann@sender.example",
      ["joe@example.test"],
      "Message-ID: <trace-e2e-1@sender.example>\nSubject: hi\n\nhello\n",
    );
    assert(reply.startsWith("250"), reply);
    const queueId = await waitFor(
      () => /smtpd \S+: queued msg (\d+)/.exec(qmd.output())?.[1],
      10_000,
      () => `a queued message in\n${qmd.output()}`,
    );
    const sessionId = /smtpd (\S+): connect 127\.0\.0\.1/.exec(qmd.output())![1];
    const explained = await explainWhenWritten(home, sessionId);
    assertStringIncludes(explained.stdout, `session ${sessionId} at `);
    assertStringIncludes(explained.stdout, "client 127.0.0.1");
    assertStringIncludes(explained.stdout, "helo   test.example");
    assertStringIncludes(
      explained.stdout,
      `queued msg ${queueId} (Message-ID <trace-e2e-1@sender.example>) from <ann@sender.example> ` +
        "to <joe@example.test>",
    );
    for (const id of [queueId, "trace-e2e-1@sender.example"]) {
      const byId = await runQmd(["explain", id, "--home", home]);
      assertEquals(byId.code, 0, byId.stderr);
      assertStringIncludes(byId.stdout, `session ${sessionId} at `);
    }
    const none = await runQmd(["explain", "99.99", "--home", home]);
    assertEquals(none.code, 1);
  } finally {
    await qmd.stop();
  }
});

Deno.test("e2e: control/tracedays 0 records no session; back to 14 on SIGHUP, the next one is there", async () => {
  const home = await makeInitedHome({ tracedays: "0" });
  await addUser(home, "joe@example.test", "pw 13");
  const qmd = await startQmd(home, { workers: 1 });
  try {
    const send = () =>
      sendMessage(qmd.port, "ann@sender.example", ["joe@example.test"], "Subject: t\n\nx\n");
    assert((await send()).startsWith("250"));
    const first = /smtpd (\S+): connect 127\.0\.0\.1/.exec(qmd.output())![1];
    await waitFor(() => qmd.output().includes(`smtpd ${first}: close`) || undefined, 10_000);
    assertEquals((await runQmd(["explain", first, "--home", home])).code, 1, "not recorded");
    Deno.writeTextFileSync(`${home}/control/tracedays`, "14\n");
    const reloads = qmd.output().split("reloaded control files").length;
    qmd.process.kill("SIGHUP");
    await waitFor(
      () => qmd.output().split("reloaded control files").length > reloads || undefined,
      10_000,
    );
    assert((await send()).startsWith("250"));
    const ids = [...qmd.output().matchAll(/smtpd (\S+): connect 127\.0\.0\.1/g)].map((m) => m[1]);
    const explained = await explainWhenWritten(home, ids[ids.length - 1]);
    assertStringIncludes(explained.stdout, "client 127.0.0.1");
  } finally {
    await qmd.stop();
  }
});

Deno.test("e2e: a refusing check's decision goes to the trace file and qmd explain prints it", async () => {
  const home = await makeInitedHome();
  const writeTrace = traceWriter(home);
  await runTranscriptLive(
    parseTranscript(
      HELLO + `C: MAIL FROM:<x@junk.example>
S: 553 sorry, your envelope sender is in my badmailfrom list (#5.7.1)
C: MAIL FROM:<a@example.org>
S: 250 2.1.0 ok
C: QUIT
S~ ^221
`,
    ),
    "e2e-refusal",
    {
      filterModules: [
        fakeCheck(
          "listcheck",
          ["mail"],
          (request) =>
            request.sender === "x@junk.example"
              ? refuse("553 sorry, your envelope sender is in my badmailfrom list (#5.7.1)", {
                check: "listcheck",
                source: "control/badmailfrom",
                line: 2,
                entry: "@junk.example",
              })
              : PASS,
        ),
      ],
      onTrace: writeTrace,
    },
  );
  const explained = await explainWhenWritten(home, "e2e-refusal");
  const lines = explained.stdout.split("\n");
  assertEquals(lines[0].replace(/ at .*/, ""), "session e2e-refusal");
  assert(
    lines.some((line) =>
      /^ +\d\d:\d\d:\d\d\.\d{3} mail +listcheck +refuse +x@junk\.example +rule control\/badmailfrom:2 "@junk\.example" +reply "553 sorry, your envelope sender is in my badmailfrom list \(#5\.7\.1\)"$/
        .test(line)
    ),
    explained.stdout,
  );
  assert(
    lines.some((line) => /mail +listcheck +pass +a@example\.org$/.test(line)),
    explained.stdout,
  );
  assertStringIncludes(explained.stdout, "messages: none queued");
});

Deno.test("e2e: qmd smtpd under tcpserver writes its session's trace before it exits", async () => {
  const home = await makeInitedHome();
  const run = await runQmd(["smtpd", "--home", home], {
    stdin: "HELO client.example\r\nQUIT\r\n",
    env: { TCPREMOTEIP: "192.0.2.9", TCPLOCALIP: "127.0.0.1" },
  });
  assertEquals(run.code, 0, run.stderr);
  const files = [...Deno.readDirSync(`${home}/log/trace`)].map((entry) => entry.name);
  assertEquals(files.length, 1);
  const traces = Deno.readTextFileSync(`${home}/log/trace/${files[0]}`).trim().split("\n")
    .map((line) => JSON.parse(line));
  assertEquals(traces.map((trace) => [trace.remoteIp, trace.helo]), [[
    "192.0.2.9",
    "client.example",
  ]]);
  const explained = await runQmd(["explain", traces[0].sessionId, "--home", home]);
  assertEquals(explained.code, 0, explained.stderr);
  assertStringIncludes(explained.stdout, "client 192.0.2.9");
});
