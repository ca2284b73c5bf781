/**
 * mfcheck 2's callback against a fake MX (nodemailer's smtp-server) found
 * through the fake DNS server, both on loopback.
 */
import { assert, assertEquals, assertMatch } from "../../tests/assert.ts";
import { type FakeZone, startFakeDns } from "../../tests/fakes/fake_dns.ts";
import { type FakeAnswer, startFakeMx } from "../../tests/fakes/fake_mx.ts";
import { Resolver } from "../dns/resolver.ts";
import type { LookupAnswer } from "../filters/filter.ts";
import { runCallbackLookup } from "./callback_lookup.ts";

const ZONE: FakeZone = {
  "sender.example": { mx: [{ preference: 10, exchange: "mx.sender.example" }] },
  "mx.sender.example": { a: ["127.0.0.1"] },
  "implicit.example": { a: ["127.0.0.1"] },
  "twomx.example": {
    mx: [
      { preference: 5, exchange: "loop.twomx.example" },
      { preference: 10, exchange: "mx.sender.example" },
    ],
  },
  "loop.twomx.example": { a: ["127.0.0.2"] },
  "nullmx.example": { mx: [{ preference: 0, exchange: "." }] },
  "slow.example": { drop: true },
};

async function callback(
  sender: string,
  rcpt: FakeAnswer | undefined,
  extra: { mxBlacklist?: string[]; timeoutSeconds?: number } = {},
): Promise<{ answer: LookupAnswer; rcptTo: string[]; mailFrom: string[] }> {
  const dns = await startFakeDns(ZONE);
  const mx = await startFakeMx(rcpt === undefined ? {} : { rcpt });
  try {
    const resolver = new Resolver({
      nameServers: [{ ipAddr: "127.0.0.1", port: dns.port }],
      timeoutSeconds: 0.3,
      attempts: 1,
    });
    const answer = await runCallbackLookup(
      {
        kind: "callback",
        sender,
        timeoutSeconds: extra.timeoutSeconds ?? 10,
        mxBlacklist: extra.mxBlacklist ?? [],
      },
      { resolver, helo: "mx.qmd.test", port: mx.port },
    );
    return { answer, rcptTo: [...mx.rcptTo], mailFrom: [...mx.mailFrom] };
  } finally {
    await mx.close();
    await dns.close();
  }
}

Deno.test("callback: MAIL FROM:<> and RCPT TO:<sender> at the sender's MX; 250 is accepted", async () => {
  const { answer, rcptTo, mailFrom } = await callback("joe@sender.example", undefined);
  assertEquals(answer.kind === "callback" && answer.accepted, true);
  assertEquals(rcptTo, ["joe@sender.example"]);
  assertEquals(mailFrom, [""]);
});

Deno.test("callback: a 5xx to the RCPT is not accepted, with the exchanger's reply", async () => {
  const { answer } = await callback("ghost@implicit.example", {
    code: 550,
    text: "This account doesn't exist",
  });
  assert(answer.kind === "callback");
  assertEquals(answer.accepted, false);
  assertMatch(answer.reply ?? "", /^550 This account doesn't exist/);
});

Deno.test("callback: a 4xx (greylisting) is temporary, not a refusal", async () => {
  const { answer } = await callback("joe@sender.example", { code: 451, text: "greylisted" });
  assertEquals(answer.kind, "temporary");
});

Deno.test("callback: mxblacklist addresses are skipped; only blacklisted ones left says so", async () => {
  const only = await callback("joe@sender.example", undefined, { mxBlacklist: ["127.0.0.1"] });
  assertEquals(only.answer, {
    kind: "callback",
    accepted: false,
    blacklisted: true,
    reply: "MX of sender.example at 127.0.0.1",
  });
  assertEquals(only.rcptTo, []);
  // The preferred exchanger (127.0.0.2) is blacklisted, the next one is asked.
  const next = await callback("joe@twomx.example", undefined, { mxBlacklist: ["127.0.0.2"] });
  assertEquals(next.answer.kind === "callback" && next.answer.accepted, true);
});

Deno.test("callback: a null MX is not accepted; no DNS answer or no exchanger is temporary", async () => {
  const nullMx = await callback("joe@nullmx.example", undefined);
  assertEquals(nullMx.answer.kind === "callback" && nullMx.answer.accepted, false);
  const slow = await callback("joe@slow.example", undefined);
  assertEquals(slow.answer.kind, "temporary");
  // With 127.0.0.1 blacklisted only 127.0.0.2 is left, where nothing listens: temporary.
  const none = await callback("joe@twomx.example", undefined, {
    mxBlacklist: ["127.0.0.1"],
  });
  assertEquals(none.answer.kind, "temporary");
});
