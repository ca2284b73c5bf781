/**
 * The admin console end to end: `qmd start` with the console on a free
 * loopback port, `qmd admin passwd` and `qmd admin token` on its home, a
 * login over HTTP as a browser does it (login form, cookie, CSRF token),
 * the counters moving with a real delivery, /metrics from loopback, a
 * control file refused and then saved (the appliance reloads), an alias
 * added (the supervisor writes its .qmail file), and the
 * live log over server-sent events.
 */
import { assert, assertEquals, assertMatch, assertStringIncludes } from "./assert.ts";
import { addUser, makeInitedHome, runQmd, sendMessage, startQmd, waitFor } from "./harness.ts";
import { cookiesOf, csrfIn } from "./admin_client.ts";

const ADMIN_PASSWORD = "a long admin password";

Deno.test("admin e2e: log in over HTTP, watch a delivery in the counters, edit a control file, read the live log", async () => {
  const home = await makeInitedHome();
  await addUser(home, "joe@example.test", "joe-password");
  const passwd = await runQmd(["admin", "passwd", "--password-stdin", "--home", home], {
    stdin: `${ADMIN_PASSWORD}\n`,
  });
  assertEquals(passwd.code, 0, passwd.stderr);
  const tokenRun = await runQmd(["admin", "token", "--name", "e2e", "--home", home]);
  assertEquals(tokenRun.code, 0, tokenRun.stderr);
  const token = tokenRun.stdout.trim();
  assertMatch(token, /^qmd_[A-Za-z0-9_-]{43}$/);

  const qmd = await startQmd(home, { workers: 1 });
  try {
    assert(qmd.adminPort > 0, qmd.output());
    const base = `http://127.0.0.1:${qmd.adminPort}`;
    const get = (path: string, cookie = "") =>
      fetch(`${base}${path}`, { headers: { cookie }, redirect: "manual" });

    // Not logged in: the login page.
    const anonymous = await get("/");
    assertEquals(anonymous.status, 303);
    assertEquals(anonymous.headers.get("location"), "/login");
    await anonymous.body?.cancel();

    // Log in as a browser does.
    const form = await get("/login");
    const formToken = csrfIn(await form.text());
    const login = await fetch(`${base}/login`, {
      method: "POST",
      headers: { cookie: cookiesOf(form) },
      body: new URLSearchParams({ _csrf: formToken, password: ADMIN_PASSWORD }),
      redirect: "manual",
    });
    assertEquals(login.status, 303);
    await login.body?.cancel();
    const cookie = cookiesOf(login);
    const dashboard = await get("/", cookie);
    assertEquals(dashboard.status, 200);
    const csrf = csrfIn(await dashboard.text());
    assert(csrf !== "");

    // A delivery shows in the counters the supervisor feeds the console.
    const reply = await sendMessage(
      qmd.port,
      "a@example.test",
      ["joe@example.test"],
      "Subject: x\n\nhi\n",
    );
    assertMatch(reply, /^250 /);
    const deliveries = await waitFor(
      async () => {
        const data = await (await get("/api/dashboard", cookie)).json();
        return data.counters.deliveries.local >= 1 ? data.counters : undefined;
      },
      30_000,
      () => qmd.output(),
    );
    assertEquals(deliveries.sessions.smtp, 1);

    // /metrics from loopback needs no token; a token opens the API.
    const metrics = await (await get("/metrics")).text();
    assertStringIncludes(metrics, `qmd_deliveries_total{channel="local"} 1`);
    const queue = await fetch(`${base}/api/queue`, {
      headers: { authorization: `Bearer ${token}` },
    });
    assertEquals(queue.status, 200);
    await queue.body?.cancel();

    // Accounts: read by the console, changed by the supervisor at its request.
    const accounts = await (await get("/api/accounts", cookie)).json();
    assertEquals(accounts.mailboxes.map((m: { address: string }) => m.address), [
      "joe@example.test",
    ]);
    const quota = await fetch(`${base}/api/accounts/quota`, {
      method: "POST",
      headers: { cookie, "content-type": "application/json", "x-csrf-token": csrf },
      body: JSON.stringify({ address: "joe@example.test", quotaBytes: 5000000 }),
    });
    assertEquals(quota.status, 200, await quota.clone().text());
    await quota.body?.cancel();
    const listed = await runQmd(["user", "list", "--json", "--home", home]);
    assertEquals(JSON.parse(listed.stdout)[0].quotaBytes, 5000000);
    // An alias: the supervisor writes the .qmail file the console may not write.
    const alias = await fetch(`${base}/api/accounts/alias`, {
      method: "POST",
      headers: { cookie, "content-type": "application/json", "x-csrf-token": csrf },
      body: JSON.stringify({ address: "sales@example.test", targets: ["joe@example.test"] }),
    });
    assertEquals(alias.status, 200, await alias.clone().text());
    await alias.body?.cancel();
    const aliases = await runQmd(["alias", "list", "--json", "--home", home]);
    const sales = JSON.parse(aliases.stdout).find((entry: { address: string }) =>
      entry.address === "sales@example.test"
    );
    assertEquals(sales?.forwards, ["joe@example.test"]);

    // A broken control file is refused; a good one is saved and the appliance reloads.
    const save = (text: string) =>
      fetch(`${base}/api/controls/file`, {
        method: "POST",
        headers: { cookie, "content-type": "application/json", "x-csrf-token": csrf },
        body: JSON.stringify({ name: "databytes", text }),
      });
    const refused = await save("ten megabytes\n");
    assertEquals(refused.status, 422);
    assertStringIncludes((await refused.json()).errors[0], "control/databytes line 1");
    const saved = await save("10000000\n");
    assertEquals(saved.status, 200);
    await saved.body?.cancel();
    assertEquals(Deno.readTextFileSync(`${home}/control/databytes`), "10000000\n");
    await waitFor(
      () => qmd.output().includes("status: reloaded control files") ? true : undefined,
      30_000,
      () => qmd.output(),
    );

    // The live log: the reload's lines arrive as server-sent events.
    const stream = await get("/api/log/stream?check=reload", cookie);
    assertStringIncludes(stream.headers.get("content-type") ?? "", "text/event-stream");
    const reader = stream.body!.getReader();
    let text = "";
    for (let reads = 0; reads < 50 && !text.includes("reloaded control files"); reads++) {
      const { value, done } = await reader.read();
      if (done) break;
      text += new TextDecoder().decode(value);
    }
    await reader.cancel();
    assertStringIncludes(text, "data: ");
    assertStringIncludes(text, "reloaded control files");
  } finally {
    assertEquals(await qmd.stop(), 0);
  }
  // The admin password never reached the log.
  assert(!qmd.output().includes(ADMIN_PASSWORD));
});

Deno.test("admin e2e: qmd init prints the admin password once; --admin off starts no console", async () => {
  const home = await makeInitedHome();
  // makeInitedHome ran qmd init: the password exists; a second init makes none.
  const again = await runQmd(["init", "--home", home]);
  assertEquals(again.code, 0);
  assert(!again.stdout.includes("admin password"), again.stdout);
  const fresh = `${home}-fresh`;
  const init = await runQmd(["init", "--home", fresh, "--me", "mx.example.test"]);
  assertMatch(
    init.stdout,
    /^admin password: \S{20} +\(shown once; change it with qmd admin passwd\)$/m,
  );
  Deno.removeSync(fresh, { recursive: true });
  const qmd = await startQmd(home, { workers: 1, extraArgs: ["--admin", "off"] });
  try {
    assertStringIncludes(qmd.output(), "  admin:    off");
    assertEquals(qmd.adminPort, 0);
  } finally {
    assertEquals(await qmd.stop(), 0);
  }
});

Deno.test("admin e2e: --admin-tls serves the console over HTTPS with control/servercert.pem", async () => {
  const home = await makeInitedHome();
  const qmd = await startQmd(home, { workers: 1, extraArgs: ["--admin-tls"] });
  const pem = Deno.readTextFileSync(`${home}/control/servercert.pem`);
  const certificate = pem.slice(pem.indexOf("-----BEGIN CERTIFICATE-----"));
  const client = Deno.createHttpClient({ caCerts: [certificate] });
  try {
    const port = Number(/admin: +https:\/\/127\.0\.0\.1:(\d+)/.exec(qmd.output())?.[1] ?? 0);
    assert(port > 0, qmd.output());
    const login = await fetch(`https://127.0.0.1:${port}/login`, { client });
    assertEquals(login.status, 200);
    // Over HTTPS the cookies are Secure.
    const cookie = login.headers.getSetCookie().find((line) => line.startsWith("qmd_login="));
    assertStringIncludes(cookie ?? "", "Secure");
    await login.body?.cancel();
    // Plain HTTP on that port gets no console.
    const plain = await fetch(`http://127.0.0.1:${port}/login`).then(
      (response) => response.status,
      () => "refused",
    );
    assert(plain !== 200, `plain HTTP answered ${plain}`);
  } finally {
    client.close();
    assertEquals(await qmd.stop(), 0);
  }
});
