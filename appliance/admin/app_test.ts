import { assert, assertEquals, assertMatch, assertStringIncludes } from "../../tests/assert.ts";
import { cookiesOf, csrfIn, makeTestConsole, TEST_PASSWORD } from "./test_console.ts";
import { addAdminToken } from "./admin_state.ts";

/** Every page: GET, answered with HTML once logged in. */
const PAGES = [
  "/",
  "/queue",
  "/accounts",
  "/controls",
  "/controls/file?name=databytes",
  "/log",
  "/trace",
  "/trace?id=1.1",
];

/** Every API GET, answered with JSON once logged in. */
const API_READS = [
  "/api/dashboard",
  "/api/queue",
  "/api/accounts",
  "/api/accounts/aliases",
  "/api/controls",
  "/api/controls/file?name=databytes",
  "/api/controls/history",
  "/api/log",
  "/api/trace?id=1.1",
];

/** Every state-changing route. */
const POSTS = [
  "/logout",
  "/accounts/password",
  "/accounts/quota",
  "/controls/file",
  "/controls/rollback",
  "/api/accounts/password",
  "/api/accounts/quota",
  "/api/controls/file",
  "/api/controls/rollback",
  "/api/reload",
  "/queue/action",
  "/queue/bulk",
  "/accounts/alias",
  "/accounts/alias/delete",
  "/api/queue/hold",
  "/api/queue/release",
  "/api/queue/retry",
  "/api/queue/bounce",
  "/api/queue/remove",
  "/api/queue/jobs",
  "/api/accounts/alias",
  "/api/accounts/alias/delete",
];

Deno.test("admin app: without a session or token, pages go to the login page and the API answers 401", async () => {
  const console = await makeTestConsole();
  try {
    for (const path of PAGES) {
      const response = await console.request(path);
      assertEquals(response.status, 303, path);
      assertEquals(response.headers.get("location"), "/login", path);
      await response.body?.cancel();
    }
    for (const path of [...API_READS, "/api/log/stream", "/metrics", "/assets/live_log.js"]) {
      const response = await console.request(path);
      assert([303, 401].includes(response.status), `${path}: ${response.status}`);
      await response.body?.cancel();
    }
    for (const path of POSTS) {
      const response = await console.request(path, {
        method: "POST",
        body: new URLSearchParams({ name: "databytes", text: "1\n", number: "1" }),
      });
      assert([303, 401].includes(response.status), `${path}: ${response.status}`);
      await response.body?.cancel();
    }
    // Nothing was written.
    assertEquals(console.reloads(), 0);
    let exists = true;
    try {
      Deno.statSync(`${console.home}/control/databytes`);
    } catch {
      exists = false;
    }
    assertEquals(exists, false);
    // The login page and the stylesheet are open.
    assertEquals((await console.request("/login")).status, 200);
    assertEquals((await console.request("/assets/style.css")).status, 200);
  } finally {
    await console.close();
  }
});

Deno.test("admin app: every answer carries the security headers", async () => {
  const console = await makeTestConsole();
  try {
    const { cookie } = await console.login();
    for (const path of ["/login", "/", "/api/queue", "/nowhere"]) {
      const response = await console.request(path, { cookie });
      await response.body?.cancel();
      const csp = response.headers.get("content-security-policy") ?? "";
      assertStringIncludes(csp, "default-src 'self'", path);
      assertStringIncludes(csp, "frame-ancestors 'none'", path);
      assert(!csp.includes("unsafe-inline"), path);
      assertEquals(response.headers.get("x-content-type-options"), "nosniff", path);
      assertEquals(response.headers.get("referrer-policy"), "no-referrer", path);
    }
  } finally {
    await console.close();
  }
});

Deno.test("admin app: login sets an HttpOnly SameSite=Strict cookie; pages and API reads answer", async () => {
  const console = await makeTestConsole();
  try {
    const form = await console.request("/login");
    const token = csrfIn(await form.text());
    const posted = await console.request("/login", {
      method: "POST",
      cookie: cookiesOf(form),
      body: new URLSearchParams({ _csrf: token, password: TEST_PASSWORD }),
    });
    assertEquals(posted.status, 303);
    const session = posted.headers.getSetCookie().find((line) => line.startsWith("qmd_admin="));
    assert(session !== undefined);
    assertStringIncludes(session, "HttpOnly");
    assertStringIncludes(session, "SameSite=Strict");
    const { cookie } = await console.login();
    for (const path of PAGES) {
      const response = await console.request(path, { cookie });
      assertEquals(response.status, 200, path);
      const html = await response.text();
      assertStringIncludes(html, "<h1>", path);
      // Every form on the page carries the CSRF token; no inline script.
      const forms = html.match(/<form method="post"/g)?.length ?? 0;
      const tokens = html.match(/name="_csrf"/g)?.length ?? 0;
      assertEquals(tokens, forms, path);
      assert(!/<script>|<script(?![^>]*src=)/.test(html), path);
      assert(!/ style="/.test(html), path);
    }
    for (const path of API_READS) {
      const response = await console.request(path, { cookie });
      assertEquals(response.status, 200, path);
      assertStringIncludes(response.headers.get("content-type") ?? "", "application/json", path);
      await response.json();
    }
    const logout = await console.request("/logout", {
      method: "POST",
      cookie,
      body: new URLSearchParams({
        _csrf: csrfIn(await (await console.request("/", { cookie })).text()),
      }),
    });
    assertEquals(logout.status, 303);
    assertEquals((await console.request("/api/queue", { cookie })).status, 401);
  } finally {
    await console.close();
  }
});

Deno.test("admin app: a wrong password is refused, and five in a row lock the IP out even for the right one", async () => {
  const console = await makeTestConsole();
  try {
    const attempt = async (password: string, withToken = true) => {
      const form = await console.request("/login");
      const token = csrfIn(await form.text());
      const response = await console.request("/login", {
        method: "POST",
        cookie: cookiesOf(form),
        body: new URLSearchParams({ _csrf: withToken ? token : "forged", password }),
      });
      await response.body?.cancel();
      return response.status;
    };
    assertEquals(await attempt(TEST_PASSWORD, false), 403);
    for (let i = 0; i < 4; i++) assertEquals(await attempt("guess"), 401);
    assertEquals(await attempt("guess"), 429);
    assertEquals(await attempt(TEST_PASSWORD), 429);
    const events = console.records.map((record) => record.event);
    assertEquals(events.filter((event) => event === "admin_login_failed").length, 5);
    assertEquals(events.filter((event) => event === "admin_login_locked").length, 1);
    assert(!console.records.some((record) => JSON.stringify(record).includes("guess")));
  } finally {
    await console.close();
  }
});

Deno.test("admin app: a state-changing request with the cookie but without the CSRF token is refused", async () => {
  const console = await makeTestConsole();
  try {
    const { cookie } = await console.login();
    for (const path of POSTS) {
      for (const token of [undefined, "wrong"]) {
        const body = new URLSearchParams({
          name: "databytes",
          text: "1\n",
          number: "1",
          ...(token === undefined ? {} : { _csrf: token }),
        });
        const response = await console.request(path, { method: "POST", cookie, body });
        assertEquals(response.status, 403, `${path} with ${token}`);
        await response.body?.cancel();
        const json = await console.request(path, {
          method: "POST",
          cookie,
          headers: {
            "content-type": "application/json",
            ...(token ? { "x-csrf-token": token } : {}),
          },
          body: JSON.stringify({ name: "databytes", text: "1\n" }),
        });
        assertEquals(json.status, 403, `${path} (JSON) with ${token}`);
        await json.body?.cancel();
      }
    }
    assertEquals(console.reloads(), 0);
    // The session survived: the logout above was refused too.
    assertEquals((await console.request("/api/queue", { cookie })).status, 200);
  } finally {
    await console.close();
  }
});

Deno.test("admin app: a bearer token opens the API without CSRF; an unknown one is refused", async () => {
  const console = await makeTestConsole();
  try {
    const token = addAdminToken(console.home, "ci");
    const authorization = { authorization: `Bearer ${token}` };
    assertEquals((await console.request("/api/queue", { headers: authorization })).status, 200);
    const saved = await console.request("/api/controls/file", {
      method: "POST",
      headers: { ...authorization, "content-type": "application/json" },
      body: JSON.stringify({ name: "databytes", text: "2000000\n" }),
    });
    assertEquals(saved.status, 200);
    assertEquals((await saved.json()).change.by, "token ci");
    assertEquals(Deno.readTextFileSync(`${console.home}/control/databytes`), "2000000\n");
    const wrong = await console.request("/api/queue", {
      headers: { authorization: `Bearer ${token}x` },
    });
    assertEquals(wrong.status, 401);
  } finally {
    await console.close();
  }
});

Deno.test("admin app: the page's CSS and script come from /assets, and the live log page loads its script", async () => {
  const console = await makeTestConsole();
  try {
    const { cookie } = await console.login();
    const page = await (await console.request("/log", { cookie })).text();
    assertMatch(page, /<script src="\/assets\/live_log\.js" defer><\/script>/);
    const script = await console.request("/assets/live_log.js", { cookie });
    assertStringIncludes(script.headers.get("content-type") ?? "", "javascript");
    assertStringIncludes(await script.text(), "EventSource");
  } finally {
    await console.close();
  }
});

Deno.test("admin app: a second GET of the login page keeps the token the first form carries", async () => {
  const console = await makeTestConsole();
  try {
    // A browser fetches /favicon.ico after the login page; it is sent to /login too.
    const first = await console.request("/login");
    const cookie = cookiesOf(first);
    const token = csrfIn(await first.text());
    const favicon = await console.request("/favicon.ico", { cookie });
    assertEquals(favicon.headers.get("location"), "/login");
    const second = await console.request("/login", { cookie });
    assertEquals(csrfIn(await second.text()), token);
    const posted = await console.request("/login", {
      method: "POST",
      cookie: cookiesOf(second) || cookie,
      body: new URLSearchParams({ _csrf: token, password: TEST_PASSWORD }),
    });
    assertEquals(posted.status, 303);
    // Without the cookie a new token is made.
    assert(csrfIn(await (await console.request("/login")).text()) !== token);
  } finally {
    await console.close();
  }
});
