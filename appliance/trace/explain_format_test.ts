import { assertEquals } from "../../tests/assert.ts";
import type { SessionTrace } from "../filters/filter.ts";
import { formatDecision, formatRuleRef, formatTrace } from "./explain_format.ts";
import { formatTraceLine, parseTraceLine, traceFileName, traceMatches } from "./trace_format.ts";

const START = Date.parse("2026-12-02T13:45:01.123Z");

const TRACE: SessionTrace = {
  sessionId: "2.17",
  start: START,
  remoteIp: "192.0.2.7",
  remoteHost: "client.example.net",
  helo: "evil\x1b[2Jhelo",
  decisions: [
    {
      time: START + 10,
      phase: "connect",
      check: "rbl",
      input: "192.0.2.7 (A 7.2.0.192.zen.example)",
      verdict: "lookup",
    },
    { time: START + 42, phase: "connect", check: "rbl", input: "192.0.2.7", verdict: "pass" },
    {
      time: START + 1500,
      phase: "rcpt",
      check: "badrcptto",
      input: "nobody@mx.example.test",
      verdict: "refuse",
      rule: { check: "badrcptto", source: "control/badrcptto", line: 4, entry: "nobody@" },
      reply: "553 sorry, your envelope recipient is in my badrcptto list (#5.7.1)",
    },
  ],
  messages: [{
    queueId: "1234567",
    messageId: "<abc@client.example.net>",
    sender: "a@client.example.net",
    recipients: ["joe@mx.example.test", "ann@mx.example.test"],
  }],
};

Deno.test("formatTrace: the session, its client, each decision with rule and reply, the messages", () => {
  assertEquals(formatTrace(TRACE), [
    "session 2.17 at 2026-12-02 13:45:01.123 UTC",
    "  client 192.0.2.7 (client.example.net)",
    "  helo   evil\\x1b[2Jhelo",
    "  decisions (3):",
    "    13:45:01.133 connect rbl          lookup    192.0.2.7 (A 7.2.0.192.zen.example)",
    "    13:45:01.165 connect rbl          pass      192.0.2.7",
    "    13:45:02.623 rcpt    badrcptto    refuse    nobody@mx.example.test  rule " +
    'control/badrcptto:4 "nobody@"  reply ' +
    '"553 sorry, your envelope recipient is in my badrcptto list (#5.7.1)"',
    "  messages (1):",
    "    queued msg 1234567 (Message-ID <abc@client.example.net>) from <a@client.example.net> " +
    "to <joe@mx.example.test>, <ann@mx.example.test>",
  ]);
});

Deno.test("formatTrace: a session without checks or messages says so", () => {
  const lines = formatTrace({ ...TRACE, helo: undefined, decisions: [], messages: [] });
  assertEquals(lines.slice(2), [
    "  helo   (none)",
    "  decisions: none (no check was on for this session)",
    "  messages: none queued",
  ]);
});

Deno.test("formatRuleRef and formatDecision: a rule without a file is its check; control characters are escaped", () => {
  assertEquals(formatRuleRef({ check: "rbl", entry: "zen.example" }), 'rbl "zen.example"');
  assertEquals(formatRuleRef({ check: "spf", source: "SPFBEHAVIOR" }), "SPFBEHAVIOR");
  assertEquals(
    formatDecision({
      time: 0,
      phase: "mail",
      check: "badmailfrom",
      input: "a\r\nb",
      verdict: "pass",
    }),
    "mail    badmailfrom  pass      a\\r\\nb",
  );
  assertEquals(
    formatDecision({
      time: 0,
      phase: "end",
      check: "clamd",
      input: "message (10 bytes)",
      verdict: "refuse",
      reply: "554 5.7.7 no",
      log: "CLAMD: virus found",
    }),
    'end     clamd        refuse    message (10 bytes)  reply "554 5.7.7 no"  log "CLAMD: virus found"',
  );
});

Deno.test("trace lines: round trip, day file names, and matching by session, queue id or Message-ID", () => {
  const line = formatTraceLine(TRACE);
  assertEquals(parseTraceLine(line), TRACE);
  assertEquals(parseTraceLine('{"v":2,"sessionId":"x"}'), undefined);
  assertEquals(parseTraceLine(line.slice(0, 40)), undefined);
  assertEquals(traceFileName(START), "2026-12-02.jsonl");
  for (const id of ["2.17", "1234567", "<abc@client.example.net>", "abc@client.example.net"]) {
    assertEquals(traceMatches(TRACE, id), true, id);
  }
  for (const id of ["2.1", "123456", "abc@client.example", "192.0.2.7"]) {
    assertEquals(traceMatches(TRACE, id), false, id);
  }
});
