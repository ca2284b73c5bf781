import { assert, assertEquals } from "../../tests/assert.ts";
import { DeliverableCache } from "./deliverable_cache.ts";

Deno.test("deliverable cache: a yes is believed for the TTL, then asked again", () => {
  let now = 1_000;
  const cache = new DeliverableCache({ now: () => now, ttlMs: 100 });
  assert(!cache.knows("joe@example.test"), "nothing before an answer");
  cache.remember("joe@example.test");
  assert(cache.knows("joe@example.test"));
  assert(!cache.knows("JOE@example.test"), "the address exactly as the lookup named it");
  now += 99;
  assert(cache.knows("joe@example.test"));
  now += 1;
  assert(!cache.knows("joe@example.test"), "expired");
  assertEquals(cache.size, 0, "an expired entry is dropped");
});

Deno.test("deliverable cache: bounded, the oldest dropped first; clear forgets all", () => {
  const cache = new DeliverableCache({ maxEntries: 4 });
  for (const name of ["a", "b", "c", "d"]) cache.remember(`${name}@x`);
  cache.remember("e@x");
  assert(cache.size <= 4);
  assert(!cache.knows("a@x") && !cache.knows("b@x"), "the oldest half went");
  assert(cache.knows("d@x") && cache.knows("e@x"));
  cache.clear();
  assert(!cache.knows("e@x"));
});
