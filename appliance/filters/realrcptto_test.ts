import type { Lookup } from "./filter.ts";
import { assertEquals } from "../../tests/assert.ts";
import { buildRoutingTable } from "../send/routing.ts";
import { realRcptToCheck, REPLY_CANNOT_VERIFY, REPLY_NO_MAILBOX } from "./realrcptto.ts";
import { rcptRequest } from "./test_request.ts";

/** The lookup the resumed check asked for (its resume() is told which). */
const LOOKUP: Lookup = { kind: "recipient", address: "nobody@virtual.test" };

const settings = {
  routing: buildRoutingTable({
    envnoathost: "mx.example.test",
    locals: ["mx.example.test", "localhost"],
    percenthack: [],
    virtualdomains: ["virtual.test:virtual.test", "backup.test:"],
  }),
};

Deno.test("realrcptto: a local recipient is looked up as the local channel records it", () => {
  assertEquals(realRcptToCheck.check(rcptRequest("Joe@mx.example.test"), settings), {
    kind: "lookup",
    lookup: { kind: "recipient", address: "Joe@mx.example.test" },
  });
  assertEquals(realRcptToCheck.check(rcptRequest("bob@Virtual.test"), settings), {
    kind: "lookup",
    lookup: { kind: "recipient", address: "virtual.test-bob@Virtual.test" },
  });
  // No @: envnoathost, as qmail-send appends it.
  assertEquals(realRcptToCheck.check(rcptRequest("joe"), settings), {
    kind: "lookup",
    lookup: { kind: "recipient", address: "joe@mx.example.test" },
  });
});

Deno.test("realrcptto: remote recipients and the explicit not-virtual entry pass unasked", () => {
  for (const address of ["a@elsewhere.test", "a@backup.test", ""]) {
    assertEquals(realRcptToCheck.check(rcptRequest(address), settings).kind, "pass", address);
  }
});

Deno.test("realrcptto: the answer decides; no answer is a temporary refusal", () => {
  const request = rcptRequest("nobody@virtual.test");
  assertEquals(
    realRcptToCheck.resume!(request, settings, { kind: "recipient", deliverable: true }, LOOKUP)
      .kind,
    "pass",
  );
  const refused = realRcptToCheck.resume!(request, settings, {
    kind: "recipient",
    deliverable: false,
  }, LOOKUP);
  assertEquals(refused, {
    kind: "refuse",
    reply: [REPLY_NO_MAILBOX],
    rule: { check: "realrcptto", entry: "nobody@virtual.test" },
  });
  assertEquals(REPLY_NO_MAILBOX, "550 sorry, no mailbox here by that name. (#5.1.1)");
  const unknown = realRcptToCheck.resume!(request, settings, {
    kind: "temporary",
    reason: "no answer from local",
  }, LOOKUP);
  assertEquals(unknown.kind === "refuse" && unknown.reply, [REPLY_CANNOT_VERIFY]);
});

Deno.test("recipient checks: a BLACKLISTED client feeds the spam catcher unless it authenticated", async () => {
  const { recipientsCheck } = await import("./recipients.ts");
  const { rcptCheck } = await import("./rcptcheck.ts");
  const { greylistCheck } = await import("./greylist.ts");
  const spammer = rcptRequest("nobody@virtual.test", {
    env: { BLACKLISTED: "spam@mx.example.test" },
  });
  assertEquals(realRcptToCheck.check(spammer, settings).kind, "pass");
  const recipients = {
    mode: 2 as const,
    tables: [],
    routing: settings.routing,
    delaySeconds: 0,
    source: "x",
  };
  assertEquals(recipientsCheck.check(spammer, recipients).kind, "pass");
  assertEquals(
    rcptCheck.check(spammer, { program: "/x", source: "x", timeoutSeconds: 1 }).kind,
    "pass",
  );
  assertEquals(greylistCheck.check(spammer, { delaySeconds: 1, lifetimeSeconds: 1 }).kind, "pass");
  const authed = { ...spammer, authUser: "joe" };
  assertEquals(realRcptToCheck.check(authed, settings).kind, "lookup");
});
