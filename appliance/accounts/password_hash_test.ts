import { assert, assertMatch } from "../../tests/assert.ts";
import { hashPassword, verifyPasswordHash } from "./password_hash.ts";

Deno.test("accounts: password hashes are self-describing scrypt strings", async () => {
  const hash = hashPassword("pässword");
  assertMatch(hash, /^scrypt\$16384\$8\$1\$[A-Za-z0-9+/=]+\$[A-Za-z0-9+/=]+$/);
  assert(hash !== hashPassword("pässword"), "salted");
  assert(await verifyPasswordHash(hash, "pässword"));
  assert(!await verifyPasswordHash(hash, "password"));
  assert(!await verifyPasswordHash(undefined, "pässword"));
  assert(!await verifyPasswordHash("scrypt$99999999$8$1$AAAA$AAAA", "x"));
  assert(!await verifyPasswordHash("plain", "plain"));
});
