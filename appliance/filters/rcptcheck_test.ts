import type { Lookup } from "./filter.ts";
import { assertEquals } from "../../tests/assert.ts";
import { CANNOT_RUN, rcptCheck, rcptCheckEnvironment, rcptCheckReply } from "./rcptcheck.ts";
import { rcptRequest } from "./test_request.ts";

/** The lookup the resumed check asked for (its resume() is told which). */
const LOOKUP: Lookup = { kind: "program", argv: ["rcptcheck"], env: {}, timeoutSeconds: 60 };

const settings = { program: "/usr/local/bin/check", source: "RCPTCHECK", timeoutSeconds: 9 };

/** Every code either seed names, with the reply it must give (111: seed 001's). */
const EXPECTED: [number, string | undefined, boolean][] = [
  [0, undefined, false],
  [1, "553 5.1.1 sorry, no mailbox here by that name.", false],
  [2, "421 4.3.0 unable to verify recipient/sender (misuse)", true],
  [3, "421 4.3.0 unable to verify recipient/sender (internal)", true],
  [11, "451 4.1.1 bad destination mailbox address", false],
  [12, "451 4.1.2 bad destination system address", false],
  [13, "451 4.1.3 bad destination mailbox address syntax", false],
  [14, "451 4.1.4 destination mailbox address ambiguous", false],
  [15, undefined, false],
  [16, "451 4.1.6 mailbox has moved", false],
  [17, "451 4.1.7 bad sender's mailbox address syntax", false],
  [18, "451 4.1.8 bad sender's system address", false],
  [21, "452 4.2.1 mailbox disabled, not accepting messages", false],
  [22, "452 4.2.2 mailbox full", false],
  [100, "553 sorry, no mailbox here by that name. (#5.1.1)", false],
  [111, "421 unable to verify recipient (#4.3.0)", true],
  [112, "421 4.3.0 unable to verify recipient/sender (greylisting)", true],
  [120, "421 unable to execute recipient check (#4.3.0)", true],
  [5, undefined, false],
  [255, undefined, false],
];

Deno.test("rcptcheck: every exit code of both seeds picks its reply, others accept", () => {
  for (const [code, text, close] of EXPECTED) {
    const verdict = rcptCheck.resume!(rcptRequest("a@b.test"), settings, {
      kind: "program",
      exitCode: code,
    }, LOOKUP);
    if (text === undefined) {
      assertEquals(verdict.kind, "pass", `exit ${code}`);
      assertEquals(rcptCheckReply(code), undefined);
      continue;
    }
    assertEquals(verdict.kind === "refuse" && verdict.reply, [text], `exit ${code}`);
    assertEquals(verdict.kind === "refuse" && (verdict.close ?? false), close, `exit ${code}`);
    assertEquals(verdict.kind === "refuse" && verdict.rule, {
      check: "rcptcheck",
      source: "RCPTCHECK",
      entry: `/usr/local/bin/check exit ${code}`,
    });
  }
});

Deno.test("rcptcheck: the program's first line of output is kept with its exit code", () => {
  const verdict = rcptCheck.resume!(rcptRequest("a@b.test"), settings, {
    kind: "program",
    exitCode: 1,
    output: "mysqlcheck: <> to <a@b.test> not okay (code:1)\nmore",
  }, LOOKUP);
  assertEquals(
    verdict.kind === "refuse" && verdict.rule.entry,
    "/usr/local/bin/check exit 1: mysqlcheck: <> to <a@b.test> not okay (code:1)",
  );
});

Deno.test("rcptcheck: a program that could not run is 120, never an accept", () => {
  const verdict = rcptCheck.resume!(rcptRequest("a@b.test"), settings, {
    kind: "temporary",
    reason: "timed out after 9 s",
  }, LOOKUP);
  assertEquals(verdict.kind === "refuse" && verdict.reply, [rcptCheckReply(CANNOT_RUN)!.reply]);
  assertEquals(verdict.kind === "refuse" && verdict.close, true);
  assertEquals(
    verdict.kind === "refuse" && verdict.rule.entry,
    "/usr/local/bin/check not run: timed out after 9 s",
  );
});

Deno.test("rcptcheck: the program gets SENDER, RECIPIENT and the client's variables", () => {
  const request = rcptRequest("Rcpt@b.test", {
    sender: "",
    env: { RELAYCLIENT: "", CUSTOM: "x" },
    remoteHost: "client.test",
    localIp: "127.0.0.1",
  });
  assertEquals(rcptCheck.check(request, settings), {
    kind: "lookup",
    lookup: {
      kind: "program",
      argv: ["/usr/local/bin/check"],
      env: rcptCheckEnvironment(request),
      timeoutSeconds: 9,
    },
  });
  assertEquals(rcptCheckEnvironment(request), {
    RELAYCLIENT: "",
    CUSTOM: "x",
    SENDER: "",
    RECIPIENT: "Rcpt@b.test",
    TCPREMOTEIP: "192.0.2.7",
    TCPREMOTEHOST: "client.test",
    TCPLOCALIP: "127.0.0.1",
  });
  // A UTF-8 address (a byte string in the session) is its text in the environment.
  const utf8 = rcptRequest(String.fromCharCode(...new TextEncoder().encode("用户@b.test")), {
    sender: String.fromCharCode(...new TextEncoder().encode("jörg@a.test")),
  });
  const env = rcptCheckEnvironment(utf8);
  assertEquals([env.SENDER, env.RECIPIENT], ["jörg@a.test", "用户@b.test"]);
});
