import { assertEquals, assertStringIncludes } from "../../tests/assert.ts";
import { stringToBytes } from "../bytes.ts";
import { injectMessage } from "../queue/qmail_queue.ts";
import { makeTestQueue } from "../queue/test_queue.ts";

const SCRIPT = new URL("./qstat.ts", import.meta.url).pathname;

async function qstat(...args: string[]): Promise<Deno.CommandOutput> {
  return await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", SCRIPT, ...args],
    stdout: "piped",
    stderr: "piped",
  }).output();
}

Deno.test("qmd qstat prints qmail-qstat's two lines", async () => {
  const home = await Deno.makeTempDir({ prefix: "qmd-qstat-" });
  try {
    const layout = makeTestQueue(home);
    await injectMessage(layout, stringToBytes("x\n"), stringToBytes(""), [stringToBytes("r")], {
      who: "by uid 0",
    });
    const output = await qstat("--home", home);
    assertEquals(output.code, 0);
    assertEquals(
      new TextDecoder().decode(output.stdout),
      "messages in queue: 1\nmessages in queue but not yet preprocessed: 1\n",
    );
    const missing = await qstat("--home", `${home}/nowhere`);
    assertEquals(missing.code, 111);
    const help = await qstat("--help");
    assertEquals(help.code, 0);
    assertStringIncludes(new TextDecoder().decode(help.stdout), "Usage: qmd qstat");
    assertEquals((await qstat("--bogus")).code, 64);
  } finally {
    await Deno.remove(home, { recursive: true });
  }
});
