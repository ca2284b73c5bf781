import type { Lookup } from "./filter.ts";
import { assertEquals } from "../../tests/assert.ts";
import {
  greylistCheck,
  greylistNetwork,
  greylistStep,
  REPLY_GREYLIST_UNAVAILABLE,
  REPLY_GREYLISTED,
} from "./greylist.ts";
import { rcptRequest } from "./test_request.ts";

/** The lookup the resumed check asked for (its resume() is told which). */
const LOOKUP: Lookup = {
  kind: "greylist",
  ip: "192.0.2.1",
  sender: "a@b.test",
  recipient: "c@d.test",
};

const settings = { delaySeconds: 300, lifetimeSeconds: 86_400 };

Deno.test("greylist: the network of a triplet is the /24 or the /64", () => {
  assertEquals(greylistNetwork("192.0.2.77"), "192.0.2.0/24");
  assertEquals(greylistNetwork("2001:DB8:0:12::5"), "2001:db8:0:12::/64");
  assertEquals(greylistNetwork("::1"), "0:0:0:0::/64");
  assertEquals(greylistNetwork("unknown"), "unknown");
});

Deno.test("greylist: a new triplet waits the delay, then passes and stays passed", () => {
  const first = greylistStep(undefined, 1000, 300, 86_400);
  assertEquals(first, { firstSeen: 1000, lastSeen: 1000, passed: false });
  const early = greylistStep(first, 1299, 300, 86_400);
  assertEquals(early, { firstSeen: 1000, lastSeen: 1299, passed: false });
  const retry = greylistStep(early, 1300, 300, 86_400);
  assertEquals(retry.passed, true);
  assertEquals(greylistStep(retry, 50_000, 300, 86_400).passed, true);
  // Not seen for longer than the lifetime: it starts over.
  const stale = greylistStep(retry, 1300 + 86_401, 300, 86_400);
  assertEquals(stale, { firstSeen: 87_701, lastSeen: 87_701, passed: false });
});

Deno.test("greylist: the check asks the store and refuses until it says passed", () => {
  const request = rcptRequest("Joe@Example.test", { remoteIp: "198.51.100.9", sender: "A@B.test" });
  assertEquals(greylistCheck.check(request, settings), {
    kind: "lookup",
    lookup: {
      kind: "greylist",
      ip: "198.51.100.0/24",
      sender: "a@b.test",
      recipient: "joe@example.test",
      delaySeconds: 300,
      lifetimeSeconds: 86_400,
      now: 1_000_000_000,
    },
  });
  const now = request.now / 1000;
  const refused = greylistCheck.resume!(request, settings, {
    kind: "greylist",
    firstSeen: now - 100,
    passed: false,
  }, LOOKUP);
  assertEquals(refused.kind === "refuse" && refused.reply, [REPLY_GREYLISTED]);
  assertEquals(
    refused.kind === "refuse" && refused.rule.entry,
    "198.51.100.0/24 a@b.test joe@example.test (retry in 200 s)",
  );
  const passed = greylistCheck.resume!(request, settings, {
    kind: "greylist",
    firstSeen: now - 400,
    passed: true,
  }, LOOKUP);
  assertEquals(passed.kind, "pass");
  const down = greylistCheck.resume!(
    request,
    settings,
    { kind: "temporary", reason: "no auth" },
    LOOKUP,
  );
  assertEquals(down.kind === "refuse" && down.reply, [REPLY_GREYLIST_UNAVAILABLE]);
});

Deno.test("greylist: clients that relay (RELAYCLIENT, AUTH) pass unasked", () => {
  const request = rcptRequest("joe@example.test", { relaying: true, authUser: "joe" });
  assertEquals(greylistCheck.check(request, settings).kind, "pass");
});
