import { assert, assertEquals, assertStringIncludes } from "../../tests/assert.ts";
import { makeTestConsole, type TestConsole } from "./test_console.ts";

async function postJson(
  console: TestConsole,
  session: { cookie: string; csrf: string },
  path: string,
  body: unknown,
): Promise<Response> {
  return await console.request(path, {
    method: "POST",
    cookie: session.cookie,
    headers: { "content-type": "application/json", "x-csrf-token": session.csrf },
    body: JSON.stringify(body),
  });
}

Deno.test("controls: every file of the controls table is listed with its meaning and default", async () => {
  const console = await makeTestConsole();
  try {
    const session = await console.login();
    const table = await (await console.request("/api/controls", { cookie: session.cookie })).json();
    const databytes = table.find((entry: { name: string }) => entry.name === "databytes");
    assertEquals(databytes.default, "0");
    assertEquals(databytes.present, false);
    assertEquals(table.find((entry: { name: string }) => entry.name === "me").present, true);
    const page = await (await console.request("/controls", { cookie: session.cookie })).text();
    assertStringIncludes(page, "/controls/file?name=databytes");
    assertStringIncludes(page, "/controls/file?name=auth%2Fsmtp");
  } finally {
    await console.close();
  }
});

Deno.test("controls: a broken file is refused naming its line, and the file on disk stays as it was", async () => {
  const console = await makeTestConsole();
  try {
    const session = await console.login();
    const path = `${console.home}/control/databytes`;
    Deno.writeTextFileSync(path, "1000\n");
    const refused = await postJson(console, session, "/api/controls/file", {
      name: "databytes",
      text: "ten megabytes\n",
    });
    assertEquals(refused.status, 422);
    const { errors } = await refused.json();
    assertEquals(errors, [`${path} line 1: expected a whole number, found "ten megabytes"`]);
    assertEquals(Deno.readTextFileSync(path), "1000\n");
    assertEquals(console.reloads(), 0);
    // The form says the same on the editor page, with the text kept for fixing.
    const form = await console.request("/controls/file", {
      method: "POST",
      cookie: session.cookie,
      body: new URLSearchParams({ _csrf: session.csrf, name: "databytes", text: "a lot\r\n" }),
    });
    assertEquals(form.status, 422);
    const page = await form.text();
    assertStringIncludes(page, `${path} line 1: expected a whole number, found &quot;a lot&quot;`);
    assertStringIncludes(page, ">\na lot\n</textarea>");
    // A file qmd does not read is not written.
    const unknown = await postJson(console, session, "/api/controls/file", {
      name: "../users/assign",
      text: "x",
    });
    assertEquals(unknown.status, 400);
  } finally {
    await console.close();
  }
});

Deno.test("controls: a good file is saved, reloaded, and its history shows the diff", async () => {
  const console = await makeTestConsole();
  try {
    const session = await console.login();
    const saved = await postJson(console, session, "/api/controls/file", {
      name: "badmailfrom",
      text: "@spam.example\n",
    });
    assertEquals(saved.status, 200);
    assertEquals(console.reloads(), 1);
    assertEquals(Deno.readTextFileSync(`${console.home}/control/badmailfrom`), "@spam.example\n");
    // The form: CRLF from the browser's textarea becomes LF.
    const form = await console.request("/controls/file", {
      method: "POST",
      cookie: session.cookie,
      body: new URLSearchParams({
        _csrf: session.csrf,
        name: "badmailfrom",
        text: "@spam.example\r\n@junk.example\r\n",
      }),
    });
    assertEquals(form.status, 303);
    assertEquals(
      Deno.readTextFileSync(`${console.home}/control/badmailfrom`),
      "@spam.example\n@junk.example\n",
    );
    const file = await (await console.request("/api/controls/file?name=badmailfrom", {
      cookie: session.cookie,
    })).json();
    assertEquals(file.history.length, 2);
    assertEquals(file.history[1].diff, [
      { kind: " ", text: "@spam.example" },
      { kind: "+", text: "@junk.example" },
    ]);
    const page = await (await console.request("/controls/file?name=badmailfrom", {
      cookie: session.cookie,
    })).text();
    assertStringIncludes(page, `<span class="added">+ @junk.example</span>`);
  } finally {
    await console.close();
  }
});

Deno.test("controls: rollback restores the file's bytes exactly, and removes a file the change created", async () => {
  const console = await makeTestConsole();
  try {
    const session = await console.login();
    const path = `${console.home}/control/smtpgreeting`;
    // Bytes an editor would not keep: no final newline, a tab, trailing space, UTF-8.
    const original = new TextEncoder().encode("mx.example.test\tESMTP  \nwillkommen – grüß");
    Deno.writeFileSync(path, original);
    await postJson(console, session, "/api/controls/file", {
      name: "smtpgreeting",
      text: "changed\n",
    });
    assertEquals(Deno.readTextFileSync(path), "changed\n");
    const history = await (await console.request("/api/controls/history", {
      cookie: session.cookie,
    })).json();
    const number = history.at(-1).number;
    // Through the page's one-click form.
    const rolled = await console.request("/controls/rollback", {
      method: "POST",
      cookie: session.cookie,
      body: new URLSearchParams({ _csrf: session.csrf, number: String(number) }),
    });
    assertEquals(rolled.status, 303);
    assertEquals(Deno.readFileSync(path), original);
    // A change that created a file: its rollback removes it.
    const created = await (await postJson(console, session, "/api/controls/file", {
      name: "databytes",
      text: "5000000\n",
    })).json();
    const undone = await postJson(console, session, "/api/controls/rollback", {
      number: created.change.number,
    });
    assertEquals(undone.status, 200);
    assertEquals((await undone.json()).change.rollbackOf, created.change.number);
    let exists = true;
    try {
      Deno.statSync(`${console.home}/control/databytes`);
    } catch {
      exists = false;
    }
    assert(!exists);
    assertEquals(
      (await postJson(console, session, "/api/controls/rollback", { number: 999 })).status,
      404,
    );
  } finally {
    await console.close();
  }
});

Deno.test("controls: a file holding a key is neither shown nor written; a cdb is shown, not edited", async () => {
  const console = await makeTestConsole();
  try {
    const session = await console.login();
    Deno.writeTextFileSync(
      `${console.home}/control/servercert.pem`,
      "-----BEGIN PRIVATE KEY-----\n",
    );
    const page = await (await console.request("/controls/file?name=servercert.pem", {
      cookie: session.cookie,
    })).text();
    assert(!page.includes("PRIVATE KEY"));
    assert(!page.includes("<textarea"));
    const api = await (await console.request("/api/controls/file?name=servercert.pem", {
      cookie: session.cookie,
    })).json();
    assertEquals([api.text, api.editable], [null, false]);
    for (const name of ["servercert.pem", "signkey", "morercpthosts.cdb", "tlshosts/<FQDN>.pem"]) {
      const refused = await postJson(console, session, "/api/controls/file", { name, text: "x\n" });
      assertEquals(refused.status, 400, name);
      await refused.body?.cancel();
    }
    assertEquals(
      Deno.readTextFileSync(`${console.home}/control/servercert.pem`),
      "-----BEGIN PRIVATE KEY-----\n",
    );
  } finally {
    await console.close();
  }
});
