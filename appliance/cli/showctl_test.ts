import { assert, assertEquals, assertStringIncludes } from "../../tests/assert.ts";
import { initHome } from "../home/init_home.ts";
import { captureConsole } from "../inject/test_io.ts";
import { CONTROLS } from "../../config/controls.ts";
import { main } from "./showctl.ts";

Deno.test("qmd showctl: values, defaults with me resolved, unknown files, JSON", async () => {
  const home = await Deno.makeTempDir();
  try {
    await initHome(home, { me: "mail.example.com" });
    Deno.writeTextFileSync(`${home}/control/databytes`, "10x\n");
    Deno.writeTextFileSync(`${home}/control/mystery`, "1\n");
    const text = await captureConsole(() => main(["--home", home]));
    assertEquals(text.result, 0);
    const out = text.out.join("\n");
    assertStringIncludes(out, "locals (list; send): ");
    assertStringIncludes(out, "\n  mail.example.com\n  localhost\n");
    assertStringIncludes(out, "bouncehost (line; send): ");
    assertStringIncludes(out, "(absent) default: me = mail.example.com");
    assertStringIncludes(out, "(absent) default: 10\n");
    assertStringIncludes(out, "(unusable) ");
    assertStringIncludes(out, "qmqpservers (list; nobody, not read yet)");
    assert(out.trimEnd().endsWith("  mystery"), out);

    const json = await captureConsole(() => main(["--home", home, "--json"]));
    const parsed = JSON.parse(json.out.join("\n"));
    assertEquals(parsed.controls.length, CONTROLS.length);
    assertEquals(parsed.unknown, ["mystery"]);
    const me = parsed.controls.find((c: { name: string }) => c.name === "me");
    assertEquals(me.value, "mail.example.com");

    const bad = await captureConsole(() => main(["--home", home, "--nope"]));
    assertEquals([bad.result, bad.err.length], [64, 1]);
  } finally {
    await Deno.remove(home, { recursive: true });
  }
});
