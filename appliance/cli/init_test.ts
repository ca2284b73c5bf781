import { assert, assertEquals, assertStringIncludes } from "../../tests/assert.ts";
import { captureConsole } from "../inject/test_io.ts";
import { main } from "./init.ts";

Deno.test("qmd init: creates a home, then reports nothing to do; bad flags give 64", async () => {
  const parent = await Deno.makeTempDir();
  const home = `${parent}/home`;
  try {
    const first = await captureConsole(() => main(["--home", home, "--me", "Mx.Example.com"]));
    assertEquals(first.result, 0);
    assertEquals(Deno.readTextFileSync(`${home}/control/me`), "mx.example.com\n");
    assert(Deno.statSync(`${home}/queue/lock/trigger`).isFifo);
    assert(first.out.some((line) => line.endsWith("/control/rcpthosts")));
    const again = await captureConsole(() => main(["--home", home]));
    assertEquals(again.result, 0);
    assertStringIncludes(again.out.join("\n"), "nothing to create");

    for (const args of [["--bogus"], ["--me", "not a host"], ["extra"]]) {
      const bad = await captureConsole(() => main(["--home", home, ...args]));
      assertEquals(bad.result, 64, args.join(" "));
      assertEquals(bad.err.length, 1);
    }
  } finally {
    await Deno.remove(parent, { recursive: true });
  }
});
