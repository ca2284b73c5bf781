import { createHmac } from "node:crypto";
import { assert, assertEquals } from "../../tests/assert.ts";
import { batvDay, checkBatvAddress, shouldSign, signSender } from "./batv.ts";

const KEY = "s3cret";

Deno.test("signSender: prvs=KDDDSSSSSS=address (draft-levine-smtp-batv-01 §4.1)", () => {
  const today = batvDay(Date.UTC(2024, 0, 10));
  assertEquals(today, 19732);
  const signed = signSender("joe@me.example", KEY, today + 7);
  const hash = createHmac("sha1", KEY).update("0739joe@me.example").digest("hex").slice(0, 6);
  assertEquals(signed, `prvs=0739${hash}=joe@me.example`);
  assertEquals(signSender("", KEY, today), "");
  assertEquals(signSender("noat", KEY, today), "noat");
  assertEquals(signSender("a@b", KEY, 1005).slice(0, 9), "prvs=0005");
});

Deno.test("checkBatvAddress: round trip, expiry, wrong key, unsigned", () => {
  const today = 19732;
  const signed = signSender("joe@me.example", KEY, today + 7);
  assertEquals(checkBatvAddress(signed, KEY, today, 7), {
    signed: true,
    ok: true,
    original: "joe@me.example",
  });
  assert(checkBatvAddress(signed.replace("prvs=", "PRVS="), KEY, today + 7, 7).ok);
  assertEquals(checkBatvAddress(signed, KEY, today + 8, 7).reason, "expired");
  assertEquals(checkBatvAddress(signed, "other", today, 7).reason, "bad-signature");
  assertEquals(checkBatvAddress("prvs=zz=joe@me.example", KEY, today, 7).reason, "malformed");
  assertEquals(checkBatvAddress("joe@me.example", KEY, today, 7), {
    signed: false,
    ok: false,
    original: "joe@me.example",
    reason: "unsigned",
  });
  // Across the mod-1000 wrap: signed on day 19998 for 19998+7 = 20005 → DDD 005.
  const wrapped = signSender("joe@me.example", KEY, 20005);
  assert(checkBatvAddress(wrapped, KEY, 20001, 7).ok);
  assert(!checkBatvAddress(wrapped, KEY, 20006, 7).ok);
});

Deno.test("shouldSign: signkey, nosignhosts, nosignmydoms, bounces (seed 001)", () => {
  const controls = {
    signKey: KEY,
    noSignHosts: ["lists.example"],
    noSignMyDoms: ["quiet.example"],
  };
  assert(shouldSign("joe@me.example", "there.example", controls));
  assert(!shouldSign("joe@me.example", "Lists.Example", controls));
  assert(!shouldSign("joe@Quiet.example", "there.example", controls));
  assert(!shouldSign("", "there.example", controls));
  assert(!shouldSign("#@[]", "there.example", controls));
  assert(!shouldSign("prvs=0739abcdef=joe@me.example", "there.example", controls));
  assert(!shouldSign("joe@me.example", "there.example", { ...controls, signKey: null }));
});
