import { assert, assertEquals } from "../../tests/assert.ts";
import { applyAdminWrite } from "./admin_writes.ts";
import { AccountStore } from "../accounts/store.ts";
import { provisionMailbox } from "../accounts/provision.ts";

Deno.test("admin writes: a control file written exactly and removed; only files qmd reads", async () => {
  const home = await Deno.makeTempDir();
  try {
    Deno.mkdirSync(`${home}/control`);
    const bytes = new TextEncoder().encode("a\r\nb");
    assertEquals(applyAdminWrite(home, { kind: "control", name: "badhelo", bytes }), { ok: true });
    assertEquals(Deno.readFileSync(`${home}/control/badhelo`), bytes);
    assertEquals(applyAdminWrite(home, { kind: "control", name: "badhelo", bytes: null }), {
      ok: true,
    });
    let exists = true;
    try {
      Deno.statSync(`${home}/control/badhelo`);
    } catch {
      exists = false;
    }
    assert(!exists);
    for (const name of ["../users/assign", "servercert.pem", "not-a-control"]) {
      const result = applyAdminWrite(home, { kind: "control", name, bytes });
      assertEquals(result.ok, false, name);
    }
  } finally {
    await Deno.remove(home, { recursive: true });
  }
});

Deno.test("admin writes: password and quota through AccountStore; its errors come back as results", async () => {
  const home = await Deno.makeTempDir();
  try {
    Deno.mkdirSync(`${home}/control`);
    const store = AccountStore.open(home);
    provisionMailbox(store, "joe@example.test", "old-password");
    store.close();
    const write = { kind: "quota", address: "joe@example.test", quotaMessages: 10 } as const;
    assertEquals(applyAdminWrite(home, write), { ok: true });
    assertEquals(
      applyAdminWrite(home, {
        kind: "password",
        address: "nobody@example.test",
        password: "x-password",
        challengeAuth: false,
      }),
      { ok: false, error: "No such mailbox nobody@example.test", status: 404 },
    );
    const empty = applyAdminWrite(home, {
      kind: "password",
      address: "joe@example.test",
      password: "",
      challengeAuth: false,
    });
    assertEquals(empty, { ok: false, error: "Empty password", status: 400 });
    const after = AccountStore.open(home, { readonly: true });
    assertEquals(after.findMailbox("example.test", "joe")?.quotaMessages, 10);
    after.close();
  } finally {
    await Deno.remove(home, { recursive: true });
  }
});
