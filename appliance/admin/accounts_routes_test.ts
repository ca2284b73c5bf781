import { assert, assertEquals, assertStringIncludes } from "../../tests/assert.ts";
import { makeTestConsole } from "./test_console.ts";
import { AccountStore } from "../accounts/store.ts";
import { provisionMailbox } from "../accounts/provision.ts";
import { verifyPasswordHash } from "../accounts/password_hash.ts";

Deno.test("accounts: domains and mailboxes listed; password and quota changed as qmd user does, then a reload", async () => {
  const console = await makeTestConsole();
  try {
    const store = AccountStore.open(console.home);
    try {
      provisionMailbox(store, "joe@example.test", "old-password");
    } finally {
      store.close();
    }
    const session = await console.login();
    const listed = await (await console.request("/api/accounts", { cookie: session.cookie }))
      .json();
    assertEquals(listed.domains, ["example.test"]);
    assertEquals(listed.mailboxes.map((m: { address: string }) => m.address), [
      "joe@example.test",
    ]);
    const page = await (await console.request("/accounts", { cookie: session.cookie })).text();
    assertStringIncludes(page, "joe@example.test");

    // The form, as a browser posts it.
    const form = await console.request("/accounts/password", {
      method: "POST",
      cookie: session.cookie,
      body: new URLSearchParams({
        _csrf: session.csrf,
        address: "joe@example.test",
        password: "new-password",
      }),
    });
    assertEquals(form.status, 303);
    assertStringIncludes(form.headers.get("location") ?? "", "ok=changed%20the%20password");
    // The JSON API, for the quota.
    const quota = await console.request("/api/accounts/quota", {
      method: "POST",
      cookie: session.cookie,
      headers: { "content-type": "application/json", "x-csrf-token": session.csrf },
      body: JSON.stringify({ address: "joe@example.test", quotaBytes: "1000000" }),
    });
    assertEquals(quota.status, 200);
    assertEquals(console.reloads(), 2);

    const after = AccountStore.open(console.home, { readonly: true });
    try {
      const secrets = after.findSecrets("joe@example.test");
      assert(await verifyPasswordHash(secrets?.scryptHash, "new-password"));
      assert(!(await verifyPasswordHash(secrets?.scryptHash, "old-password")));
      assertEquals(after.findMailbox("example.test", "joe")?.quotaBytes, 1000000);
    } finally {
      after.close();
    }

    // Errors come back as the store words them.
    const missing = await console.request("/api/accounts/password", {
      method: "POST",
      cookie: session.cookie,
      headers: { "content-type": "application/json", "x-csrf-token": session.csrf },
      body: JSON.stringify({ address: "nobody@example.test", password: "x-password" }),
    });
    assertEquals(missing.status, 404);
    assertEquals((await missing.json()).error, "No such mailbox nobody@example.test");
    const badQuota = await console.request("/accounts/quota", {
      method: "POST",
      cookie: session.cookie,
      body: new URLSearchParams({
        _csrf: session.csrf,
        address: "joe@example.test",
        quotaBytes: "lots",
      }),
    });
    assertEquals(badQuota.status, 303);
    assertStringIncludes(badQuota.headers.get("location") ?? "", "error=Invalid%20quota%20bytes");
    assertEquals(console.reloads(), 2);
  } finally {
    await console.close();
  }
});

Deno.test("accounts: aliases listed, added and deleted as qmd alias does it, CSRF enforced", async () => {
  const console = await makeTestConsole();
  try {
    const store = AccountStore.open(console.home);
    try {
      provisionMailbox(store, "joe@example.test", "password");
    } finally {
      store.close();
    }
    const session = await console.login();
    const file = `${console.home}/mail/example.test/.qmail-sales`;
    const post = (path: string, body: unknown, csrf = session.csrf) =>
      console.request(path, {
        method: "POST",
        cookie: session.cookie,
        headers: { "content-type": "application/json", "x-csrf-token": csrf },
        body: JSON.stringify(body),
      });
    assertEquals((await console.request("/api/accounts/aliases")).status, 401);
    const forged = await post("/api/accounts/alias", {
      address: "sales@example.test",
      targets: "joe@example.test",
    }, "wrong");
    assertEquals(forged.status, 403);

    const added = await post("/api/accounts/alias", {
      address: "Sales@example.test",
      targets: ["joe@example.test", "bob@other.org"],
    });
    assertEquals(added.status, 200);
    assertEquals(
      (await added.json()).message,
      `sales@example.test now forwards to joe@example.test, bob@other.org (${file})`,
    );
    assertEquals(Deno.readTextFileSync(file), "&joe@example.test\n&bob@other.org\n");
    const listed = await (await console.request("/api/accounts/aliases", {
      cookie: session.cookie,
    })).json();
    assertEquals(listed, [{
      address: "sales@example.test",
      path: file,
      forwards: ["joe@example.test", "bob@other.org"],
      other: [],
    }]);
    const page = await (await console.request("/accounts", { cookie: session.cookie })).text();
    assertStringIncludes(page, "sales@example.test");
    assertStringIncludes(page, "joe@example.test, bob@other.org");

    // A mailbox's address is not an alias; the refusal says why.
    const refused = await post("/api/accounts/alias", {
      address: "joe@example.test",
      targets: "bob@other.org",
    });
    assertEquals(refused.status, 400);
    assertEquals(
      (await post("/api/accounts/alias", { address: "x@example.test", targets: "" })).status,
      400,
    );

    // One target removed over the API, then the rest by the page's form.
    const one = await post("/api/accounts/alias/delete", {
      address: "sales@example.test",
      targets: "bob@other.org",
    });
    assertEquals(one.status, 200);
    assertEquals(Deno.readTextFileSync(file), "&joe@example.test\n");
    const form = await console.request("/accounts/alias/delete", {
      method: "POST",
      cookie: session.cookie,
      body: new URLSearchParams({ _csrf: session.csrf, address: "sales@example.test" }),
    });
    assertEquals(form.status, 303);
    assertStringIncludes(form.headers.get("location") ?? "", "ok=removed%20sales%40example.test");
    assert(!(await exists(file)));
    const missing = await post("/api/accounts/alias/delete", { address: "sales@example.test" });
    assertEquals(missing.status, 404);
    // Aliases need no reload: local delivery reads .qmail files per message.
    assertEquals(console.reloads(), 0);
  } finally {
    await console.close();
  }
});

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch {
    return false;
  }
}
