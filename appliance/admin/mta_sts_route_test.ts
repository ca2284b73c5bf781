import { assertEquals } from "../../tests/assert.ts";
import { parseStsPolicy } from "../mta_sts/policy_text.ts";
import { makeTestConsole } from "./test_console.ts";
import { checkControlText } from "./control_check.ts";

Deno.test("admin: control/mtasts is served to anyone at mta-sts.DOMAIN/.well-known/mta-sts.txt", async () => {
  const console = await makeTestConsole();
  try {
    const ask = (host: string) =>
      console.request("/.well-known/mta-sts.txt", { headers: { host } });
    // No policy configured: the console's gate, as for any other path.
    assertEquals((await ask("mta-sts.example.test")).status, 303);
    Deno.writeTextFileSync(
      `${console.home}/control/mtasts`,
      "# ours\nmode: enforce\nmax_age: 86400\nmx: mx.example.test\nmx: *.backup.example.test\n",
    );
    const served = await ask("mta-sts.example.test:443");
    assertEquals(served.status, 200);
    assertEquals(served.headers.get("content-type"), "text/plain; charset=utf-8");
    const text = await served.text();
    assertEquals(parseStsPolicy(text), {
      ok: true,
      policy: { mode: "enforce", maxAge: 86400, mx: ["mx.example.test", "*.backup.example.test"] },
    });
    // Another host name is the console as before.
    assertEquals((await ask("admin.example.test")).status, 303);
    // Defaults: testing, a week, control/me.
    Deno.writeTextFileSync(`${console.home}/control/mtasts`, "");
    assertEquals(
      await (await ask("mta-sts.example.test")).text(),
      "version: STSv1\r\nmode: testing\r\nmx: mx.example.test\r\nmax_age: 604800\r\n",
    );
    // A broken file serves nothing.
    Deno.writeTextFileSync(`${console.home}/control/mtasts`, "mode: strict\n");
    assertEquals((await ask("mta-sts.example.test")).status, 503);
  } finally {
    await console.close();
  }
});

Deno.test("admin: a broken control/mtasts is refused before it is saved", async () => {
  const console = await makeTestConsole();
  try {
    assertEquals(
      checkControlText(console.home, "mtasts", "mode: enforce\nmx: mx.example.test\n"),
      [],
    );
    const problems = checkControlText(console.home, "mtasts", "mode: strict\n");
    assertEquals(problems, [
      `${console.home}/control/mtasts line 1: mode must be enforce, testing or none`,
    ]);
  } finally {
    await console.close();
  }
});
