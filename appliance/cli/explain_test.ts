import { assertEquals, assertStringIncludes } from "../../tests/assert.ts";
import { makeInitedHome, runQmd } from "../../tests/harness.ts";
import type { SessionTrace } from "../filters/filter.ts";
import { formatTraceLine } from "../trace/trace_format.ts";
import { captureConsole } from "./test_io.ts";
import { main } from "./explain.ts";

function trace(sessionId: string, start: number, queueId?: string): SessionTrace {
  return {
    sessionId,
    start,
    remoteIp: "192.0.2.7",
    helo: "client.example",
    decisions: [{
      time: start + 1,
      phase: "mail",
      check: "badmailfrom",
      input: "x@junk.example",
      verdict: "refuse",
      rule: {
        check: "badmailfrom",
        source: "control/badmailfrom",
        line: 2,
        entry: "@junk.example",
      },
      reply: "553 sorry, your envelope sender is in my badmailfrom list (#5.7.1)",
    }],
    messages: queueId === undefined
      ? []
      : [{ queueId, messageId: "<m1@client.example>", sender: "a@b", recipients: ["c@d"] }],
  };
}

async function explain(args: string[]) {
  const { result, out, err } = await captureConsole(() => main(args));
  return { code: result, out, err };
}

Deno.test("qmd explain: by session id, queue id and Message-ID; not found is exit 1 with one line", async () => {
  const home = await makeInitedHome();
  const first = Date.parse("2026-12-01T10:00:00Z");
  const second = Date.parse("2026-12-02T10:00:00Z");
  Deno.writeTextFileSync(
    `${home}/log/trace/2026-12-01.jsonl`,
    formatTraceLine(trace("1.1", first)) + "\n",
  );
  Deno.writeTextFileSync(
    `${home}/log/trace/2026-12-02.jsonl`,
    formatTraceLine(trace("1.1", second, "98765")) + "\n",
  );
  const bySession = await explain(["1.1", "--home", home]);
  assertEquals(bySession.code, 0);
  assertEquals(bySession.out[0], '2 sessions match "1.1":');
  // Newest first.
  assertEquals(bySession.out[1], "session 1.1 at 2026-12-02 10:00:00.000 UTC");
  assertStringIncludes(
    bySession.out.join("\n"),
    'mail    badmailfrom  refuse    x@junk.example  rule control/badmailfrom:2 "@junk.example"',
  );
  for (const id of ["98765", "<m1@client.example>", "m1@client.example"]) {
    const one = await explain([id, "--home", home]);
    assertEquals(one.code, 0, id);
    assertEquals(one.out[0], "session 1.1 at 2026-12-02 10:00:00.000 UTC", id);
    assertStringIncludes(one.out.join("\n"), "queued msg 98765 (Message-ID <m1@client.example>)");
  }
  const json = await explain(["98765", "--home", home, "--json"]);
  assertEquals(JSON.parse(json.out[0]).sessionId, "1.1");
  const limited = await explain(["1.1", "--home", home, "--limit", "1"]);
  assertEquals(limited.out[0], "session 1.1 at 2026-12-02 10:00:00.000 UTC");

  const missing = await explain(["4.4", "--home", home]);
  assertEquals(missing.code, 1);
  assertEquals(missing.out, []);
  assertEquals(missing.err.length, 1);
  assertStringIncludes(missing.err[0], '"4.4"');
  assertStringIncludes(missing.err[0], `${home}/log/trace`);
});

Deno.test("qmd explain: usage and home errors", async () => {
  const home = await makeInitedHome();
  assertEquals((await explain(["--home", home])).code, 64);
  assertEquals((await explain(["a", "b", "--home", home])).code, 64);
  assertEquals((await explain(["a", "--limit", "0", "--home", home])).code, 64);
  const noHome = await explain(["1.1", "--home", `${home}/nowhere`]);
  assertEquals(noHome.code, 100);
  assertStringIncludes(noHome.err[0], `${home}/nowhere`);
  // A home made before the trace existed: nothing found, not an error.
  Deno.removeSync(`${home}/log`, { recursive: true });
  assertEquals((await explain(["1.1", "--home", home])).code, 1);
});

Deno.test("qmd explain (process): dispatched by main.ts, listed in qmd --help", async () => {
  const help = await runQmd(["--help"]);
  assertStringIncludes(help.stdout, "explain");
  assertStringIncludes(help.stdout, "rules");
  const usage = await runQmd(["explain", "--help"]);
  assertEquals(usage.code, 0);
  assertStringIncludes(usage.stdout, "usage: qmd explain SESSION-ID|MESSAGE-ID");
  const rules = await runQmd(["rules", "--help"]);
  assertEquals(rules.code, 0);
  assertStringIncludes(rules.stdout, "usage: qmd rules test --ip A");
});
