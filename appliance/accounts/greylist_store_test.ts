import { assertEquals } from "../../tests/assert.ts";
import { AccountStore } from "./store.ts";
import { GreylistStore } from "./greylist_store.ts";

const triplet = { ip: "192.0.2.0/24", sender: "a@b.test", recipient: "joe@example.test" };
const limits = { delaySeconds: 300, lifetimeSeconds: 3600 };

Deno.test("greylist store: a triplet is kept across handles and passes after the delay", async () => {
  const home = await Deno.makeTempDir();
  try {
    const store = GreylistStore.open(home);
    try {
      assertEquals(store.step({ ...triplet, ...limits, now: 1000 }), {
        firstSeen: 1000,
        lastSeen: 1000,
        passed: false,
      });
      assertEquals(store.step({ ...triplet, ...limits, now: 1100 }).passed, false);
    } finally {
      store.close();
    }
    // Another handle (a restarted auth role) sees the same triplet.
    const again = GreylistStore.open(home);
    try {
      assertEquals(again.step({ ...triplet, ...limits, now: 1300 }), {
        firstSeen: 1000,
        lastSeen: 1300,
        passed: true,
      });
      // Another recipient is another triplet.
      const other = { ...triplet, recipient: "jane@example.test", ...limits, now: 1300 };
      assertEquals(again.step(other).passed, false);
      assertEquals(again.count(), 2);
    } finally {
      again.close();
    }
    // The accounts themselves still open (one database, schema 3).
    AccountStore.open(home, { readonly: true }).close();
  } finally {
    await Deno.remove(home, { recursive: true });
  }
});
