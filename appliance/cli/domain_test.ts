import { assert, assertEquals, assertStringIncludes } from "../../tests/assert.ts";
import { initHome } from "../home/init_home.ts";
import { captureConsole, streamOf } from "./test_io.ts";
import { main } from "./domain.ts";
import { main as userMain } from "./user.ts";

Deno.test("qmd domain add/list/del updates rcpthosts and virtualdomains once", async () => {
  const home = await Deno.makeTempDir();
  try {
    await initHome(home, { me: "mail.example.com" });
    Deno.writeTextFileSync(`${home}/control/virtualdomains`, "# mine\nold.example:alias-old\n");
    const add = await captureConsole(() => main(["add", "Example.ORG", "--home", home]));
    assertEquals(add.result, 0);
    assertStringIncludes(add.out[0], "added example.org");
    const again = await captureConsole(() => main(["add", "example.org", "--home", home]));
    assertEquals(again.result, 0);
    assertStringIncludes(again.out[0], "already set up");
    assertEquals(
      Deno.readTextFileSync(`${home}/control/rcpthosts`),
      "mail.example.com\nlocalhost\nexample.org\n",
    );
    assertEquals(
      Deno.readTextFileSync(`${home}/control/virtualdomains`),
      "# mine\nold.example:alias-old\nexample.org:example.org\n",
    );
    const list = await captureConsole(() => main(["list", "--json", "--home", home]));
    assertEquals(JSON.parse(list.out.join("")), [{ domain: "example.org", mailboxes: 0 }]);

    await captureConsole(() =>
      userMain(["add", "joe@example.org", "--password-stdin", "--home", home], streamOf("pw\n"))
    );
    const refused = await captureConsole(() => main(["del", "example.org", "--home", home]));
    assertEquals([refused.result, refused.err.length], [100, 1]);
    const forced = await captureConsole(() =>
      main(["del", "example.org", "--force", "--home", home])
    );
    assertEquals(forced.result, 0);
    assertStringIncludes(forced.out.join("\n"), "their mail stays on disk");
    assert(Deno.statSync(`${home}/mail/example.org/joe/Maildir`).isDirectory);
    assertEquals(
      Deno.readTextFileSync(`${home}/control/virtualdomains`),
      "# mine\nold.example:alias-old\n",
    );

    for (const args of [["add"], ["add", "bad_name"], ["del", "x.example", "--bogus"], ["x"]]) {
      const bad = await captureConsole(() => main([...args, "--home", home]));
      assertEquals([bad.result, bad.err.length], [64, 1], args.join(" "));
    }
  } finally {
    await Deno.remove(home, { recursive: true });
  }
});
