import { assertEquals } from "../../tests/assert.ts";
import { type FilterRequest, PASS, type RefusedRecipient } from "./filter.ts";
import {
  REPLY_BAD_RCPT_HOST_SEEN,
  REPLY_BAD_RCPT_TO_SEEN,
  REPLY_NO_MAILBOX_DENY_ALL,
  wholeMessageCheck,
} from "./whole_message.ts";

function data(refusedRecipients: RefusedRecipient[]): FilterRequest {
  return {
    phase: "data",
    remoteIp: "192.0.2.1",
    env: {},
    relaying: false,
    tls: false,
    sender: "a@example.org",
    recipients: ["ok@example.net"],
    refusedRecipients,
    now: 0,
  };
}

const ON = { spamSeen: true, relaySeen: true, denyAll: false };

Deno.test("whole message: a badrcptto recipient refuses the message at DATA (seed 003)", () => {
  const verdict = wholeMessageCheck.check(
    data([{ recipient: "sales@example.net", check: "badrcptto" }]),
    ON,
  );
  assertEquals(verdict, {
    kind: "refuse",
    reply: [REPLY_BAD_RCPT_TO_SEEN],
    rule: { check: "wholemessage", entry: "badrcptto: sales@example.net" },
    scope: "transaction",
  });
  assertEquals(
    REPLY_BAD_RCPT_TO_SEEN,
    "553 sorry, badrcptto seen, so you MUST be spamming. (#5.1.1)",
  );
});

Deno.test("whole message: a recipient refused by rcpthosts refuses it too; badrcptto first", () => {
  const foreign = { recipient: "x@elsewhere.example", check: "rcpthosts" };
  const bad = { recipient: "sales@example.net", check: "badrcptto" };
  const verdict = wholeMessageCheck.check(data([foreign]), ON);
  assertEquals(verdict.kind === "refuse" && verdict.reply, [REPLY_BAD_RCPT_HOST_SEEN]);
  const both = wholeMessageCheck.check(data([foreign, bad]), ON);
  assertEquals(both.kind === "refuse" && both.reply, [REPLY_BAD_RCPT_TO_SEEN]);
});

Deno.test("whole message: an rcpthosts refusal counts only when asked for (BADRCPTHOSTSEEN)", () => {
  const foreign = { recipient: "x@elsewhere.example", check: "rcpthosts" };
  assertEquals(wholeMessageCheck.check(data([foreign]), { ...ON, relaySeen: false }), PASS);
});

Deno.test("whole message: other refusals, none, or NOBADRCPTSEEN pass", () => {
  assertEquals(wholeMessageCheck.check(data([]), ON), PASS);
  assertEquals(
    wholeMessageCheck.check(data([{ recipient: "a%b@x", check: "badmailto" }]), ON),
    PASS,
  );
  assertEquals(
    wholeMessageCheck.check(data([{ recipient: "s@example.net", check: "badrcptto" }]), {
      spamSeen: false,
      relaySeen: true,
      denyAll: false,
    }),
    PASS,
  );
});

Deno.test("whole message: QMAILRRTDENYALL refuses for an unknown recipient, before the rest", () => {
  const unknown = { recipient: "nobody@example.net", check: "realrcptto" };
  const verdict = wholeMessageCheck.check(
    data([{ recipient: "s@example.net", check: "badrcptto" }, unknown]),
    { spamSeen: true, relaySeen: false, denyAll: true },
  );
  assertEquals(verdict, {
    kind: "refuse",
    reply: [REPLY_NO_MAILBOX_DENY_ALL],
    rule: {
      check: "wholemessage",
      source: "QMAILRRTDENYALL",
      entry: "realrcptto: nobody@example.net",
    },
    scope: "transaction",
  });
  // Without QMAILRRTDENYALL an unknown recipient was refused at RCPT: nothing more at DATA.
  assertEquals(wholeMessageCheck.check(data([unknown]), ON), PASS);
});
