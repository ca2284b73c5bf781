import { assertEquals } from "../tests/assert.ts";
import { exitCodeFor, failureLetter, MailError, parseStatusText } from "./mail_error.ts";

Deno.test("parseStatusText: D is permanent, every other letter temporary", () => {
  assertEquals(parseStatusText("Dqq permanent problem (#5.3.0)"), {
    temporary: false,
    text: "qq permanent problem (#5.3.0)",
  });
  assertEquals(parseStatusText("Zqq read error (#4.3.0)"), {
    temporary: true,
    text: "qq read error (#4.3.0)",
  });
  assertEquals(parseStatusText("Xodd"), { temporary: true, text: "odd" });
  assertEquals(parseStatusText("dlower case"), { temporary: true, text: "lower case" });
  assertEquals(parseStatusText(""), { temporary: true, text: "" });
});

Deno.test("failureLetter writes what parseStatusText reads", () => {
  assertEquals(failureLetter(false), "D");
  assertEquals(failureLetter(true), "Z");
  for (const temporary of [true, false]) {
    assertEquals(parseStatusText(`${failureLetter(temporary)}text`).temporary, temporary);
  }
});

Deno.test("exitCodeFor: 100 only for a known permanent failure, else 111", () => {
  assertEquals(exitCodeFor(new MailError("x", { temporary: false })), 100);
  assertEquals(exitCodeFor(new MailError("x", { temporary: true })), 111);
  assertEquals(exitCodeFor(new TypeError("a bug")), 111);
  assertEquals(exitCodeFor(undefined), 111);
});
